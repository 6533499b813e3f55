/**
 * The managed-identity service: a grant of the acquisition engine (`engine.ts`: cache lookup,
 * aging and background refresh, single-flight, the store's lock, re-check), supplying the
 * cache query and the fetch (the source's request, retry policy and throttle) and store.
 *
 * @internal
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { decodeJwtPayload as decodeJwt } from "../jwt.js"
import type { AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { AcquireTokenRequest, Options, Service, SourceName } from "../../ManagedIdentity.js"
import type { MsalError } from "../../MsalError.js"
import { InvalidRequest, NetworkError } from "../../MsalError.js"
import { TokenCache } from "../../TokenCache.js"
import * as Cache from "../cacheKey.js"
import { resultOf } from "../protocol/entries.js"
import * as Engine from "../engine.js"
import * as Metrics from "../metrics.js"
import * as Throttle from "../throttle.js"
import { parseRetryAfter } from "../protocol/tokenResponse.js"
import * as Transport from "../transport.js"
import * as Arc from "./arc.js"
import * as Response from "./response.js"
import * as Retry from "./retry.js"
import type { Environment, Identity, RequestInput, Source, SourceRequest } from "./source.js"
import * as Sources from "./source.js"

const GRANT = "managed_identity"
const DEFAULT_ATTEMPT_TIMEOUT = Duration.seconds(10)
/** Managed-identity answers are small; anything past this is not read. */
const MAX_BODY_BYTES = 64 * 1024

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

const toHttp = (request: SourceRequest): HttpClientRequest.HttpClientRequest => {
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k, Redacted.isRedacted(v) ? Redacted.value(v) : v])
  )
  const base = request.method === "GET" ? HttpClientRequest.get(request.url) : HttpClientRequest.post(request.url)
  const withHeaders = HttpClientRequest.setHeaders(base, headers)
  return request.form === undefined ? withHeaders : HttpClientRequest.bodyUrlParams(withHeaders, request.form)
}

const readBody = (
  response: HttpClientResponse.HttpClientResponse,
  url: string
): Effect.Effect<string, NetworkError> => {
  const chunks: Array<Uint8Array> = []
  let size = 0
  return Stream.runForEach(response.stream, (chunk) => {
    size += chunk.length
    if (size > MAX_BODY_BYTES) {
      return Effect.fail(
        new NetworkError({
          reason: "InvalidResponse",
          url,
          status: response.status,
          description: `the answer is larger than ${MAX_BODY_BYTES} bytes`
        })
      )
    }
    chunks.push(chunk)
    return Effect.void
  }).pipe(
    Effect.catchTag("ResponseError", () =>
      Effect.fail(
        new NetworkError({
          reason: "Transport",
          url,
          status: response.status,
          description: "the connection failed while reading the answer"
        })
      )),
    Effect.map(() => Buffer.concat(chunks).toString("utf8"))
  )
}

/** @internal */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const cache = yield* TokenCache
    const scope = yield* Effect.scope
    const platform = yield* Arc.Platform
    const environment = yield* readEnvironment
    const identity = identityOf(options)
    const given: Options = Predicate.isRecord(options) ? options : {}
    const capabilities = Array.isArray(given.clientCapabilities)
      ? given.clientCapabilities.filter((c): c is string => typeof c === "string" && c.length > 0)
      : []
    const attemptTimeout = given.attemptTimeout === undefined
      ? DEFAULT_ATTEMPT_TIMEOUT
      : Duration.decode(given.attemptTimeout)
    const throttle = Throttle.make()

    /** The source and identity, decided once at the first request. */
    const setup = yield* Effect.cached(
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
    )

    /** One HTTP exchange: redirects not followed, secret headers redacted, bounded in time and size. */
    const exchange = (source: Source, request: SourceRequest) =>
      Effect.gen(function*() {
        const init = yield* Effect.serviceOption(FetchHttpClient.RequestInit)
        const response = yield* http.execute(toHttp(request)).pipe(
          Effect.provideService(FetchHttpClient.RequestInit, { ...Option.getOrUndefined(init), redirect: "manual" }),
          Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...Sources.SECRET_HEADERS]),
          Effect.mapError(Transport.transportError(source.endpoint, "the managed identity endpoint"))
        )
        const body = yield* readBody(response, source.endpoint)
        return { status: response.status, headers: response.headers, body } satisfies Response.RawResponse
      }).pipe(
        Effect.scoped,
        Effect.timeoutFail({
          duration: attemptTimeout,
          onTimeout: () =>
            new NetworkError({
              reason: "Timeout",
              url: source.endpoint,
              description: `no answer within ${Duration.format(attemptTimeout)}`
            })
        })
      )

    /** Sends a request, retried by the source's policy; the outcome of the last answer. */
    const sendWithRetries = (source: Source, input: RequestInput, arcChallengeAllowed: boolean) =>
      Effect.gen(function*() {
        const request = Sources.buildRequest(source, input)
        let first: number | undefined
        for (let retry = 0;; retry++) {
          const raw = yield* exchange(source, request)
          const now = yield* Clock.currentTimeMillis
          first ??= raw.status
          yield* Metrics.request(GRANT, raw.status)
          const outcome = Response.interpret(source.name, source.endpoint, raw, now, arcChallengeAllowed)
          if (Either.isRight(outcome)) return outcome.right
          const delay = Retry.delayMillis(
            source.name,
            raw.status,
            retry,
            first,
            parseRetryAfter(raw.headers["retry-after"], now)
          )
          if (delay === undefined) return yield* outcome.left
          yield* Effect.logDebug("effect-msal: managed identity request retried").pipe(
            Effect.annotateLogs({ "msal.status": raw.status, "msal.retry": retry + 1, "msal.delay_ms": delay })
          )
          yield* Effect.sleep(Duration.millis(delay))
        }
      })

    /** A token from the source: Azure Arc answers a challenge first, then the key is sent. */
    const obtain = (source: Source, input: RequestInput) =>
      Effect.gen(function*() {
        const outcome = yield* sendWithRetries(source, input, true)
        if (outcome._tag === "Token") return outcome
        const key = yield* Arc.readKey(platform, outcome.path, source.endpoint)
        const second = yield* sendWithRetries(source, { ...input, arcKey: key }, false)
        if (second._tag === "Token") return second
        return yield* new NetworkError({
          reason: "InvalidResponse",
          url: source.endpoint,
          status: 401,
          description: "Azure Arc challenged again after the key was sent"
        })
      })

    const fetch = (source: Source, id: Identity, resource: string, tokenSha256ToRefresh: string | undefined) =>
      Effect.gen(function*() {
        const clientId = Sources.cacheClientId(id)
        const keys: Throttle.Keys = {
          group: `${source.endpoint} ${clientId} ${resource}`,
          body: `${source.endpoint} ${clientId} ${resource} ${tokenSha256ToRefresh ?? ""}`
        }
        const blocked = throttle.check(keys, yield* Clock.currentTimeMillis)
        if (blocked !== undefined) return yield* Effect.fail(blocked)
        const correlationId = crypto.randomUUID()
        const requestedAt = yield* Clock.currentTimeMillis
        const token = yield* obtain(source, {
          resource,
          identity: id,
          tokenSha256ToRefresh,
          clientCapabilities: capabilities
        }).pipe(
          Effect.tapError((error) => Effect.map(Clock.currentTimeMillis, (now) => throttle.record(keys, error, now)))
        )
        const now = Math.floor(requestedAt / 1000)
        const entry: CacheEntry.AccessToken = {
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
        yield* cache.modify([{ _tag: "Put", section: "AccessToken", entry }])
        return resultFor(entry, "identity_provider", correlationId)
      }).pipe(
        Effect.withSpan("ManagedIdentity.tokenRequest", {
          attributes: { "msal.managed_identity.source": source.name }
        })
      )

    const results = new WeakMap<CacheEntry.AccessToken, AuthenticationResult>()
    const resultFor = (
      entry: CacheEntry.AccessToken,
      tokenSource: AuthenticationResult["tokenSource"],
      correlationId?: string
    ): AuthenticationResult => {
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

    const engine = Engine.make({
      cache,
      scope,
      locked: (key, effect) => (cache.withLock === undefined ? effect : cache.withLock(key, effect))
    })

    const acquire = (request: AcquireTokenRequest): Effect.Effect<AuthenticationResult, MsalError> =>
      Effect.gen(function*() {
        const valid = yield* validRequest(request)
        const { identity: id, source } = yield* setup
        yield* Effect.annotateCurrentSpan("msal.managed_identity.source", source.name)
        const resource = Sources.resourceOf(valid.resource.trim())
        const query: Cache.AccessTokenQuery = {
          homeAccountId: "",
          environment: Sources.CACHE_ENVIRONMENT,
          clientId: Sources.cacheClientId(id),
          realm: Sources.CACHE_REALM
        }
        const bypass = valid.claims !== undefined || valid.forceRefresh === true
        // the refused token is named by its hash where the source can revoke it
        // (msal-node ManagedIdentityApplication.ts: claims + a cached token + Service Fabric)
        let revoked: string | undefined
        if (valid.claims !== undefined && source.name === "ServiceFabric") {
          const cached = yield* cache.get("AccessToken", Cache.accessTokenKey(query, resource))
          if (Option.isSome(cached)) revoked = Sources.tokenSha256(Redacted.value(cached.value.secret))
        }
        return yield* engine.acquire({
          grant: GRANT,
          query,
          scopes: [resource],
          aging: "background",
          bypass: bypass ? `managed_identity\u0000${revoked ?? ""}` : undefined,
          serve: (entry) => Effect.succeed(resultFor(entry, "cache")),
          fetch: () => fetch(source, id, resource, revoked)
        })
      })

    const service: Service = {
      acquireToken: (request) =>
        Effect.withSpan(Effect.suspend(() => acquire(request)), "ManagedIdentity.acquireToken", {
          captureStackTrace: false,
          attributes: { "msal.grant": GRANT }
        }),
      source: Effect.map(setup, ({ source }): SourceName => source.name)
    }
    return service
  })
