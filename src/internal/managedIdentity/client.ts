/**
 * The managed-identity service: a grant of the acquisition engine (`engine.ts`: cache lookup,
 * aging and background refresh, single-flight, the store's lock, re-check), supplying the
 * cache query and the fetch (the source's request, retry policy and throttle) and store.
 * The HTTP exchange and its retries are in `exchange.ts`.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import { decodeJwtPayload as decodeJwt } from "../jwt.js"
import type { AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { AcquireTokenRequest, Options, Service, SourceName } from "../../ManagedIdentity.js"
import type { MsalError } from "../../MsalError.js"
import { InvalidRequest } from "../../MsalError.js"
import type { Service as TokenCacheService } from "../../TokenCache.js"
import { TokenCache } from "../../TokenCache.js"
import * as Cache from "../cacheKey.js"
import { resultOf } from "../protocol/entries.js"
import * as Engine from "../engine.js"
import * as Throttle from "../throttle.js"
import * as Arc from "./arc.js"
import * as Exchange from "./exchange.js"
import type * as Response from "./response.js"
import type { Environment, Identity, Source } from "./source.js"
import * as Sources from "./source.js"

const DEFAULT_ATTEMPT_TIMEOUT = Duration.seconds(10)

/** The identity the options name (msal-node `ManagedIdentityId.ts`: one id kind at most). @internal */
export const identityOf = (options: Options): Either.Either<Identity, InvalidRequest> => {
  if (!Predicate.isRecord(options)) {
    return Either.left(new InvalidRequest({ field: "managedIdentity", description: "the options must be an object" }))
  }
  const given = (["clientId", "objectId", "resourceId"] as const).filter((k) => options[k] !== undefined)
  if (given.length > 1) {
    return Either.left(
      new InvalidRequest({
        field: "managedIdentity",
        description: "give one of clientId, objectId and resourceId, not several"
      })
    )
  }
  const kind = given[0]
  if (kind === undefined) return Either.right({ _tag: "SystemAssigned" })
  const id = options[kind]
  if (typeof id !== "string" || id.trim().length === 0) {
    return Either.left(
      new InvalidRequest({ field: kind, description: "a user-assigned identity's id must be a non-empty string" })
    )
  }
  const tag = kind === "clientId" ? "ClientId" : kind === "objectId" ? "ObjectId" : "ResourceId"
  return Either.right({ _tag: tag, id })
}

/** The environment variables, read through the `ConfigProvider`. */
const readEnvironment: Effect.Effect<Environment> = Effect.map(
  Effect.all(
    Sources.ENVIRONMENT_VARIABLES.map((name) =>
      Effect.map(
        Effect.orElseSucceed(Config.option(Config.string(name)), () => Option.none<string>()),
        (v) => [name, Option.getOrUndefined(v)] as const
      )
    )
  ),
  (pairs) => Object.fromEntries(pairs) as Environment
)

const validRequest = (request: AcquireTokenRequest): Either.Either<AcquireTokenRequest, InvalidRequest> => {
  if (!Predicate.isRecord(request)) {
    return Either.left(new InvalidRequest({ description: "the request must be an object with a resource" }))
  }
  if (typeof request.resource !== "string" || request.resource.trim().length === 0) {
    return Either.left(
      new InvalidRequest({ field: "resource", description: "the resource must be a non-empty string" })
    )
  }
  if (request.claims !== undefined && typeof request.claims !== "string") {
    return Either.left(new InvalidRequest({ field: "claims", description: "claims must be a string" }))
  }
  if (request.forceRefresh !== undefined && typeof request.forceRefresh !== "boolean") {
    return Either.left(new InvalidRequest({ field: "forceRefresh", description: "forceRefresh must be a boolean" }))
  }
  return Either.right(request)
}

/** The token's tenant (`tid`) when it is a JWT that says so; the cache realm otherwise. */
const tenantOf = (token: string): string => {
  try {
    const tid = decodeJwt(token).tid
    return typeof tid === "string" && tid.length > 0 ? tid : Sources.CACHE_REALM
  } catch {
    return Sources.CACHE_REALM
  }
}

/** The client capabilities to announce: the non-empty strings of the option, if it is an array. */
const capabilitiesOf = (given: Options): ReadonlyArray<string> =>
  Array.isArray(given.clientCapabilities)
    ? given.clientCapabilities.filter((c): c is string => typeof c === "string" && c.length > 0)
    : []

/** The per-attempt timeout: the `attemptTimeout` option, else 10 seconds. */
const attemptTimeoutOf = (given: Options): Duration.Duration =>
  given.attemptTimeout === undefined ? DEFAULT_ATTEMPT_TIMEOUT : Duration.decode(given.attemptTimeout)

/** The source and identity a client uses. */
interface Setup {
  readonly source: Source
  readonly identity: Identity
}

/** The source (from the environment, and whether the Arc agent is installed) and the identity, checked together. */
const detectSource = (
  identity: Either.Either<Identity, InvalidRequest>,
  platform: Arc.ArcPlatform,
  environment: Environment
): Effect.Effect<Setup, InvalidRequest> =>
  Effect.gen(function*() {
    const id = yield* identity
    const installed = yield* Arc.agentInstalled(platform)
    const source = yield* Sources.detect(environment, installed)
    yield* Sources.checkSupported(source, id)
    yield* Effect.logDebug("effect-msal: managed identity source detected").pipe(
      Effect.annotateLogs({ "msal.managed_identity.source": source.name })
    )
    return { source, identity: id }
  })

/** The cache partition of an identity's tokens (app tokens: no home account, the managed-identity realm). */
const queryOf = (id: Identity): Cache.AccessTokenQuery => ({
  homeAccountId: "",
  environment: Sources.CACHE_ENVIRONMENT,
  clientId: Sources.cacheClientId(id),
  realm: Sources.CACHE_REALM
})

/**
 * The cache entry of a token from a source, its times counted from `requestedAt` (epoch
 * milliseconds); the extended expiry is the expiry (sources send no `ext_expires_in`).
 */
const entryOf = (
  token: Response.Token,
  clientId: string,
  resource: string,
  requestedAt: number
): CacheEntry.AccessToken => {
  const now = Math.floor(requestedAt / 1000)
  return {
    credential_type: "AccessToken",
    secret: token.accessToken,
    home_account_id: "",
    environment: Sources.CACHE_ENVIRONMENT,
    client_id: clientId,
    realm: Sources.CACHE_REALM,
    target: resource,
    token_type: token.tokenType,
    cached_at: now,
    expires_on: now + token.expiresIn,
    extended_expires_on: now + token.expiresIn,
    ...(token.refreshIn === undefined ? {} : { refresh_on: now + token.refreshIn })
  }
}

/** The throttle keys of a request: the source, identity and resource, and the revoked token's hash. */
const throttleKeysOf = (
  source: Source,
  clientId: string,
  resource: string,
  tokenSha256ToRefresh: string | undefined
): Throttle.Keys => ({
  group: `${source.endpoint} ${clientId} ${resource}`,
  body: `${source.endpoint} ${clientId} ${resource} ${tokenSha256ToRefresh ?? ""}`
})

/** A cache entry as a result; served entries' results are kept per entry, so a hit builds none. */
type ResultFor = (
  entry: CacheEntry.AccessToken,
  tokenSource: AuthenticationResult["tokenSource"],
  correlationId?: string
) => AuthenticationResult

/** The result builder of one client, with its memo of results for cached entries. */
const makeResultFor = (): ResultFor => {
  const results = new WeakMap<CacheEntry.AccessToken, AuthenticationResult>()
  return (entry, tokenSource, correlationId) => {
    if (tokenSource === "cache") {
      const known = results.get(entry)
      if (known !== undefined) return known
    }
    const result = {
      ...resultOf(entry, tokenSource, correlationId),
      tenantId: tenantOf(Redacted.value(entry.secret))
    }
    if (tokenSource === "cache") results.set(entry, result)
    return result
  }
}

/** What one managed-identity client is made of, resolved once in `make`. */
interface Client {
  readonly cache: TokenCacheService
  readonly channel: Exchange.Channel
  readonly throttle: Throttle.Throttle
  readonly capabilities: ReadonlyArray<string>
  readonly resultFor: ResultFor
  readonly engine: Engine.Engine
  /** The source and identity, decided once at the first request. */
  readonly setup: Effect.Effect<Setup, InvalidRequest>
}

/** Fetches a token (unless throttled) and stores it; the result says it came from the identity provider. */
const fetchToken = (
  client: Client,
  { identity: id, source }: Setup,
  resource: string,
  tokenSha256ToRefresh: string | undefined
): Effect.Effect<AuthenticationResult, MsalError> =>
  Effect.gen(function*() {
    const { throttle } = client
    const clientId = Sources.cacheClientId(id)
    const keys = throttleKeysOf(source, clientId, resource, tokenSha256ToRefresh)
    const blocked = throttle.check(keys, yield* Clock.currentTimeMillis)
    if (blocked !== undefined) return yield* Effect.fail(blocked)
    const correlationId = crypto.randomUUID()
    const requestedAt = yield* Clock.currentTimeMillis
    const token = yield* Exchange.obtain(client.channel, source, {
      resource,
      identity: id,
      tokenSha256ToRefresh,
      clientCapabilities: client.capabilities
    }).pipe(
      Effect.tapError((error) => Effect.map(Clock.currentTimeMillis, (now) => throttle.record(keys, error, now)))
    )
    const entry = entryOf(token, clientId, resource, requestedAt)
    yield* client.cache.modify([{ _tag: "Put", section: "AccessToken", entry }])
    return client.resultFor(entry, "identity_provider", correlationId)
  }).pipe(
    Effect.withSpan("ManagedIdentity.tokenRequest", {
      attributes: { "msal.managed_identity.source": source.name }
    })
  )

/**
 * The hash of the cached token that claims refuse, where the source can revoke it
 * (msal-node ManagedIdentityApplication.ts: claims + a cached token + Service Fabric).
 */
const revokedTokenOf = (
  client: Client,
  source: Source,
  request: AcquireTokenRequest,
  query: Cache.AccessTokenQuery,
  resource: string
): Effect.Effect<string | undefined, MsalError> =>
  request.claims === undefined || source.name !== "ServiceFabric"
    ? Effect.succeed(undefined)
    : Effect.map(
      client.cache.get("AccessToken", Cache.accessTokenKey(query, resource)),
      Option.match({
        onNone: () => undefined,
        onSome: (cached) => Sources.tokenSha256(Redacted.value(cached.secret))
      })
    )

/** One acquisition: the request checked, then the engine serves from the cache or fetches. */
const acquire = (client: Client, request: AcquireTokenRequest): Effect.Effect<AuthenticationResult, MsalError> =>
  Effect.gen(function*() {
    const valid = yield* validRequest(request)
    const setup = yield* client.setup
    yield* Effect.annotateCurrentSpan("msal.managed_identity.source", setup.source.name)
    const resource = Sources.resourceOf(valid.resource.trim())
    const query = queryOf(setup.identity)
    const bypass = valid.claims !== undefined || valid.forceRefresh === true
    const revoked = yield* revokedTokenOf(client, setup.source, valid, query, resource)
    return yield* client.engine.acquire({
      grant: Exchange.GRANT,
      query,
      scopes: [resource],
      aging: "background",
      bypass: bypass ? `managed_identity\u0000${revoked ?? ""}` : undefined,
      serve: (entry) => Effect.succeed(client.resultFor(entry, "cache")),
      fetch: () => fetchToken(client, setup, resource, revoked)
    })
  })

/** The managed-identity service for `options` (validated at the first request). @internal */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const cache = yield* TokenCache
    const scope = yield* Effect.scope
    const platform = yield* Arc.Platform
    const environment = yield* readEnvironment
    const given: Options = Predicate.isRecord(options) ? options : {}
    const client: Client = {
      cache,
      channel: { http, platform, attemptTimeout: attemptTimeoutOf(given) },
      throttle: Throttle.make(),
      capabilities: capabilitiesOf(given),
      resultFor: makeResultFor(),
      engine: Engine.make({
        cache,
        scope,
        locked: (key, effect) => (cache.withLock === undefined ? effect : cache.withLock(key, effect))
      }),
      setup: yield* Effect.cached(detectSource(identityOf(options), platform, environment))
    }
    const service: Service = {
      acquireToken: (request) =>
        Effect.withSpan(Effect.suspend(() => acquire(client, request)), "ManagedIdentity.acquireToken", {
          captureStackTrace: false,
          attributes: { "msal.grant": Exchange.GRANT }
        }),
      source: Effect.map(client.setup, ({ source }): SourceName => source.name)
    }
    return service
  })
