import { HttpClient } from "@effect/platform"
import type { HttpClientError } from "@effect/platform"
import type { Scope } from "effect"
import { Clock, Duration, Effect, Either, Option, Predicate } from "effect"
import type { AuthenticationResult } from "../AuthenticationResult.js"
import type * as CacheEntry from "../CacheEntry.js"
import type { ClientCredentialsRequest, Options, Service } from "../ConfidentialClient.js"
import { CredentialSigner } from "../CredentialSigner.js"
import type { MsalError } from "../MsalError.js"
import type { AuthorityError } from "../MsalError.js"
import { InvalidRequest, NetworkError } from "../MsalError.js"
import { TokenCache } from "../TokenCache.js"
import * as Authority from "./authority.js"
import * as Cache from "./cacheKey.js"
import * as Claims from "./claims.js"
import * as Scopes from "./scopes.js"
import * as SingleFlight from "./singleFlight.js"
import * as TokenRequest from "./tokenRequest.js"
import * as TokenResponse from "./tokenResponse.js"

/** Tokens with less than this left are not served from the cache (MSAL's 5-minute rule). */
const EXPIRY_BUFFER_SECONDS = 300
/** After a failed background refresh, wait this long before the next one for the same key. */
const BACKGROUND_RETRY_MILLIS = 30_000
const DEFAULT_TIMEOUT = Duration.seconds(30)

const fromEither = <A, E>(either: Either.Either<A, E>): Effect.Effect<A, E> =>
  Either.isRight(either) ? Effect.succeed(either.right) : Effect.fail(either.left)

/** The result for a cached or freshly stored access token. */
const resultOf = (
  entry: CacheEntry.AccessToken,
  tokenSource: AuthenticationResult["tokenSource"],
  correlationId?: string
): AuthenticationResult => ({
  accessToken: entry.secret,
  tokenType: entry.token_type ?? "Bearer",
  expiresOn: new Date(entry.expires_on * 1000),
  ...(entry.extended_expires_on === undefined ? {} : { extExpiresOn: new Date(entry.extended_expires_on * 1000) }),
  ...(entry.refresh_on === undefined ? {} : { refreshOn: new Date(entry.refresh_on * 1000) }),
  scopes: entry.target.split(" "),
  tokenSource,
  tenantId: entry.realm,
  ...(correlationId === undefined ? {} : { correlationId })
})

/** An app token entry for a token response, with times from the moment the request was sent. */
const appTokenEntry = (
  endpoints: Authority.Endpoints,
  clientId: string,
  scopes: ReadonlyArray<string>,
  token: TokenResponse.TokenResponse,
  requestedAtMillis: number
): CacheEntry.AccessToken => {
  const now = Math.floor(requestedAtMillis / 1000)
  const expiresIn = token.expires_in ?? (token.expires_on !== undefined ? token.expires_on - now : 600)
  const target = token.scope === undefined || token.scope.trim().length === 0
    ? scopes.join(" ")
    : Array.from(new Set(token.scope.trim().split(/\s+/))).sort().join(" ")
  return {
    credential_type: "AccessToken",
    secret: token.access_token,
    home_account_id: "",
    environment: endpoints.environment,
    client_id: clientId,
    realm: endpoints.realm,
    target,
    token_type: token.token_type ?? "Bearer",
    cached_at: now,
    expires_on: now + expiresIn,
    extended_expires_on: now + (token.ext_expires_in ?? expiresIn),
    ...(token.refresh_in === undefined ? {} : { refresh_on: now + token.refresh_in })
  }
}

const transportError = (url: string) => (error: HttpClientError.HttpClientError): NetworkError => {
  const cause = error.cause
  const detail = cause instanceof Error
    ? `: ${cause.message}${Predicate.hasProperty(cause.cause, "code") ? ` (${String(cause.cause.code)})` : ""}`
    : ""
  return new NetworkError({ reason: "Transport", url, description: `could not reach the authority${detail}` })
}

/** @internal */
export const make = (
  options: Options
): Effect.Effect<Service, AuthorityError | InvalidRequest, HttpClient.HttpClient | TokenCache | CredentialSigner | Scope.Scope> =>
  Effect.gen(function*() {
    if (typeof options.clientId !== "string" || options.clientId.trim().length === 0) {
      return yield* new InvalidRequest({ field: "clientId", description: "the client id must be a non-empty string" })
    }
    const clientId = options.clientId
    const authority = yield* fromEither(Authority.parse(options.authority ?? Authority.DEFAULT_AUTHORITY))
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const cache = yield* TokenCache
    const signer = yield* CredentialSigner
    const scope = yield* Effect.scope
    const flights = SingleFlight.make<AuthenticationResult, MsalError>(scope)
    const backgroundNotBefore = new Map<string, number>()
    const headers = TokenRequest.libraryHeaders(options)
    const timeout = options.timeout === undefined ? DEFAULT_TIMEOUT : Duration.decode(options.timeout)

    const endpointsFor = (tenant: string | undefined) =>
      Effect.flatMap(fromEither(Authority.withTenant(authority, tenant)), (a) => fromEither(Authority.wellKnownEndpoints(a)))

    /** Sends one token request and decodes the answer; every failure becomes an MsalError. */
    const send = (request: TokenRequest.TokenRequest, requestedAt: number) =>
      http.execute(TokenRequest.toHttp(request)).pipe(
        Effect.mapError(transportError(request.endpoint)),
        Effect.flatMap((response) => TokenResponse.process(response, request.endpoint, requestedAt)),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new NetworkError({
              reason: "Timeout",
              url: request.endpoint,
              description: `no answer within ${Duration.format(timeout)}`
            })
        }),
        Effect.tapErrorTag("ServerError", (e) =>
          e.error === "invalid_client" ? Effect.forkIn(Effect.ignore(signer.reload), scope) : Effect.void),
        Effect.withSpan("ConfidentialClient.tokenRequest", {
          attributes: { "msal.api_id": request.apiId, "msal.refresh_reason": request.reason }
        })
      )

    /** Finds a usable app token: by key, else a cached superset of the scopes in the same partition. */
    const lookup = (query: Cache.AccessTokenQuery, key: string, scopes: ReadonlyArray<string>, now: number) =>
      Effect.gen(function*() {
        const exact = yield* cache.get("AccessToken", key)
        if (Option.isSome(exact) && exact.value.expires_on - now >= EXPIRY_BUFFER_SECONDS) return exact
        const candidates = yield* cache.list("AccessToken", Cache.accessTokenPartition(query))
        let best: CacheEntry.AccessToken | undefined
        const expired: Array<string> = []
        for (const e of candidates) {
          if (e.expires_on < now) expired.push(Cache.keyOf("AccessToken", e))
          else if (
            e.expires_on - now >= EXPIRY_BUFFER_SECONDS && Scopes.isSubset(scopes, e.target) &&
            (best === undefined || e.expires_on > best.expires_on)
          ) best = e
        }
        if (expired.length > 0) {
          yield* cache.modify(expired.map((k) => ({ _tag: "Remove", section: "AccessToken", key: k })))
        }
        return Option.fromNullable(best)
      })

    const fetchAppToken = (
      endpoints: Authority.Endpoints,
      scopes: ReadonlyArray<string>,
      claims: string | undefined,
      reason: TokenRequest.RefreshReason
    ) =>
      Effect.gen(function*() {
        const auth = yield* signer.clientAuth({
          clientId,
          tokenEndpoint: endpoints.tokenEndpoint,
          authorityKind: endpoints.kind,
          clientClaims: options.clientClaims
        })
        const correlationId = crypto.randomUUID()
        const requestedAt = yield* Clock.currentTimeMillis
        const token = yield* send({
          endpoint: endpoints.tokenEndpoint,
          clientId,
          grant: { grant_type: "client_credentials", scope: scopes.join(" "), claims },
          auth,
          headers,
          correlationId,
          apiId: TokenRequest.ApiId.acquireTokenForClient,
          reason
        }, requestedAt)
        const entry = appTokenEntry(endpoints, clientId, scopes, token, requestedAt)
        yield* cache.modify([
          { _tag: "Put", section: "AccessToken", entry },
          { _tag: "Put", section: "AppMetadata", entry: { client_id: clientId, environment: endpoints.environment } }
        ])
        return resultOf(entry, "identity_provider", correlationId)
      })

    /** Refreshes an aging token off the request path; on failure the cached token stays. */
    const refreshInBackground = (
      flightKey: string,
      endpoints: Authority.Endpoints,
      entry: CacheEntry.AccessToken,
      now: number
    ) =>
      Effect.suspend(() => {
        if (flights.isRunning(flightKey) || (backgroundNotBefore.get(flightKey) ?? 0) > now * 1000) return Effect.void
        return flights.run(flightKey, fetchAppToken(endpoints, entry.target.split(" "), undefined, 4)).pipe(
          Effect.tap(() => Effect.sync(() => backgroundNotBefore.delete(flightKey))),
          Effect.tapError((error) =>
            Effect.flatMap(Clock.currentTimeMillis, (t) =>
              Effect.sync(() => backgroundNotBefore.set(flightKey, t + BACKGROUND_RETRY_MILLIS)).pipe(
                Effect.zipRight(Effect.logWarning("background token refresh failed; the cached token is still served", {
                  error: error._tag,
                  message: error.message
                })),
                Effect.zipRight(Effect.annotateCurrentSpan("msal.background_refresh_error", error._tag))
              ))
          ),
          Effect.ignore,
          Effect.withSpan("ConfidentialClient.backgroundRefresh"),
          Effect.forkIn(scope),
          Effect.asVoid
        )
      })

    const acquireTokenForClient = Effect.fn("ConfidentialClient.acquireTokenForClient")(
      function*(request: ClientCredentialsRequest) {
        if (!Predicate.isRecord(request)) {
          return yield* new InvalidRequest({ description: "the request must be an object with scopes" })
        }
        const scopes = yield* fromEither(Scopes.normalize(request.scopes))
        const claims = yield* fromEither(Claims.merge(options.clientCapabilities, request.claims))
        const endpoints = yield* endpointsFor(request.tenant)
        const query: Cache.AccessTokenQuery = {
          homeAccountId: null,
          environment: endpoints.environment,
          clientId,
          realm: endpoints.realm
        }
        const key = Cache.accessTokenKey(query, scopes.join(" "))
        yield* Effect.annotateCurrentSpan({ "msal.grant": "client_credentials", "msal.tenant": endpoints.realm })
        if (request.claims !== undefined) {
          yield* Effect.annotateCurrentSpan("msal.cache", "bypass")
          return yield* flights.run(`${key}\u0000${claims}`, fetchAppToken(endpoints, scopes, claims, 1))
        }
        const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const cached = yield* lookup(query, key, scopes, now)
        if (Option.isSome(cached)) {
          const entry = cached.value
          const aging = entry.refresh_on !== undefined && entry.refresh_on < now
          yield* Effect.annotateCurrentSpan("msal.cache", aging ? "aging" : "hit")
          if (aging) yield* refreshInBackground(Cache.keyOf("AccessToken", entry), endpoints, entry, now)
          return resultOf(entry, "cache")
        }
        yield* Effect.annotateCurrentSpan("msal.cache", "miss")
        const stale = yield* cache.get("AccessToken", key)
        const reason = Option.isSome(stale) ? 3 : 2
        return yield* flights.run(
          key,
          // a flight that finished between our lookup and now has already stored the token
          Effect.flatMap(
            lookup(query, key, scopes, now),
            Option.match({
              onSome: (entry) => Effect.succeed(resultOf(entry, "cache")),
              onNone: () => fetchAppToken(endpoints, scopes, undefined, reason)
            })
          )
        )
      }
    )

    const removeTokensForClient = Effect.fn("ConfidentialClient.removeTokensForClient")(function*() {
      const environments = new Set(Cache.aliasesOf(authority.host))
      const tokens = yield* cache.list("AccessToken")
      const mine = tokens.filter((t) =>
        t.client_id === clientId && (t.home_account_id ?? "") === "" && t.user_assertion_hash === undefined &&
        environments.has(t.environment.toLowerCase())
      )
      yield* cache.modify(mine.map((t) => ({ _tag: "Remove", section: "AccessToken", key: Cache.keyOf("AccessToken", t) })))
    })

    return { acquireTokenForClient, removeTokensForClient }
  })
