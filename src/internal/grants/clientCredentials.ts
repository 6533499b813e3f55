import { Clock, Effect, Either, Option, Predicate, Redacted } from "effect"
import type { AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { ClientCredentialsRequest, Service } from "../../ConfidentialClient.js"
import type { MsalError } from "../../MsalError.js"
import { InvalidRequest } from "../../MsalError.js"
import type * as Authority from "../authority.js"
import * as Cache from "../cacheKey.js"
import * as Claims from "../claims.js"
import type { ClientContext } from "../context.js"
import { resultOf } from "../context.js"
import * as Metrics from "../metrics.js"
import * as Scopes from "../scopes.js"
import * as TokenRequest from "../tokenRequest.js"
import type * as TokenResponse from "../tokenResponse.js"

/** Tokens with less than this left are not served from the cache (MSAL's 5-minute rule). @internal */
export const EXPIRY_BUFFER_SECONDS = 300
/** After a failed background refresh, wait this long before the next one for the same key. @internal */
export const BACKGROUND_RETRY_MILLIS = 30_000

const GRANT = "client_credentials"

/** An app token entry for a token response, with times from the moment the request was sent. @internal */
export const appTokenEntry = (
  endpoints: Authority.Endpoints,
  clientId: string,
  scopes: ReadonlyArray<string>,
  token: TokenResponse.TokenResponse,
  requestedAtMillis: number,
  refreshLifetimeFraction?: number
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
    ...(token.refresh_in !== undefined
      ? { refresh_on: now + token.refresh_in }
      : refreshLifetimeFraction !== undefined && refreshLifetimeFraction > 0 && refreshLifetimeFraction < 1
      ? { refresh_on: now + Math.floor(expiresIn * refreshLifetimeFraction) }
      : {})
  }
}

/** `acquireTokenForClient` and `removeTokensForClient`. @internal */
export const make = (
  ctx: ClientContext
): Pick<Service, "acquireTokenForClient" | "removeTokensForClient"> => {
  const { cache, clientId, flights } = ctx
  const backgroundNotBefore = new Map<string, number>()

  /** A usable app token: by key, else a cached superset of the scopes in the same partition. */
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

  const fetch = (
    endpoints: Authority.Endpoints,
    scopes: ReadonlyArray<string>,
    claims: string | undefined,
    reason: TokenRequest.RefreshReason
  ) =>
    Effect.gen(function*() {
      const auth = yield* ctx.clientAuth(endpoints)
      const correlationId = crypto.randomUUID()
      const requestedAt = yield* Clock.currentTimeMillis
      const token = yield* ctx.sendRegional(endpoints, {
        endpoint: endpoints.tokenEndpoint,
        clientId,
        grant: { grant_type: "client_credentials", scope: scopes.join(" "), claims },
        auth,
        headers: ctx.headers,
        correlationId,
        apiId: TokenRequest.ApiId.acquireTokenForClient,
        reason
      }, requestedAt)
      const entry = appTokenEntry(endpoints, clientId, scopes, token, requestedAt, ctx.options.refreshLifetimeFraction)
      // app metadata may carry a family id written by a user flow: written only when absent
      const metadata = yield* cache.get("AppMetadata", Cache.appMetadataKey(endpoints.environment, clientId))
      yield* cache.modify([
        { _tag: "Put", section: "AccessToken", entry },
        ...(Option.isSome(metadata)
          ? []
          : [{ _tag: "Put" as const, section: "AppMetadata" as const, entry: { client_id: clientId, environment: endpoints.environment } }])
      ])
      backgroundNotBefore.delete(Cache.keyOf("AccessToken", entry))
      return resultOf(entry, "identity_provider", correlationId)
    })

  /** Refreshes an aging token off the request path; on failure the cached token stays. */
  const refreshInBackground = (
    endpoints: Authority.Endpoints,
    entry: CacheEntry.AccessToken,
    claims: string | undefined,
    now: number
  ) =>
    Effect.suspend(() => {
      const key = Cache.keyOf("AccessToken", entry)
      if (flights.isRunning(key) || (backgroundNotBefore.get(key) ?? 0) > now * 1000) return Effect.void
      return Metrics.refresh(GRANT).pipe(
        Effect.zipRight(flights.run(
          key,
          // instances sharing a store refresh once: under the store's lock, a newer token
          // written by another instance is taken as it is
          ctx.locked(
            key,
            Effect.flatMap(cache.get("AccessToken", key), (current) =>
              Option.isSome(current) && Redacted.value(current.value.secret) !== Redacted.value(entry.secret)
                ? Effect.succeed(fromCache(current.value))
                : fetch(endpoints, entry.target.split(" "), claims, 4))
          )
        )),
        Effect.tap(() => Effect.sync(() => backgroundNotBefore.delete(key))),
        Effect.tapError((error) =>
          Effect.flatMap(Clock.currentTimeMillis, (t) =>
            Effect.sync(() => backgroundNotBefore.set(key, t + BACKGROUND_RETRY_MILLIS)).pipe(
              Effect.zipRight(
                Effect.logWarning("background token refresh failed; the cached token is still served").pipe(
                  Effect.annotateLogs({ "msal.error": error._tag, "msal.error_message": error.message })
                )
              ),
              Effect.zipRight(Effect.annotateCurrentSpan("msal.background_refresh_error", error._tag))
            ))
        ),
        Effect.ignore,
        Effect.withSpan("ConfidentialClient.backgroundRefresh"),
        Effect.forkIn(ctx.scope),
        Effect.asVoid
      )
    })

  /** Results served from the cache, one per entry (entries are immutable: a new token is a new entry). */
  const cachedResults = new WeakMap<CacheEntry.AccessToken, AuthenticationResult>()
  const fromCache = (entry: CacheEntry.AccessToken): AuthenticationResult => {
    let result = cachedResults.get(entry)
    if (result === undefined) {
      result = resultOf(entry, "cache")
      cachedResults.set(entry, result)
    }
    return result
  }

  /** The slow path: a superset of the scopes, or a request joined with identical ones. */
  const miss = (
    endpoints: Authority.Endpoints,
    query: Cache.AccessTokenQuery,
    key: string,
    scopes: ReadonlyArray<string>,
    claims: string | undefined,
    now: number,
    /** Whether the keyed lookup found the token, too close to its expiry (refresh reason 3). */
    stale: boolean
  ): Effect.Effect<AuthenticationResult, MsalError> =>
    Effect.gen(function*() {
      const cached = yield* lookup(query, key, scopes, now)
      if (Option.isSome(cached)) return yield* hit(endpoints, cached.value, claims, now)
      yield* Metrics.cacheOutcome(GRANT, "miss")
      const reason = stale ? 3 : 2
      return yield* flights.run(
        key,
        // another fiber, or another instance sharing the store, may have stored it meanwhile
        ctx.locked(
          key,
          Effect.flatMap(Clock.currentTimeMillis, (millis) =>
            Effect.flatMap(
              lookup(query, key, scopes, Math.floor(millis / 1000)),
              Option.match({
                onSome: (entry) => Effect.succeed(fromCache(entry)),
                onNone: () => fetch(endpoints, scopes, claims, reason)
              })
            ))
        )
      )
    })

  const hit = (endpoints: Authority.Endpoints, entry: CacheEntry.AccessToken, claims: string | undefined, now: number) => {
    const aging = entry.refresh_on !== undefined && entry.refresh_on < now
    const counted = Metrics.cacheOutcome(GRANT, aging ? "aging" : "hit")
    return Effect.as(aging ? Effect.zipRight(counted, refreshInBackground(endpoints, entry, claims, now)) : counted, fromCache(entry))
  }

  const acquire = (request: ClientCredentialsRequest): Effect.Effect<AuthenticationResult, MsalError> => {
    if (!Predicate.isRecord(request)) {
      return Effect.fail(new InvalidRequest({ description: "the request must be an object with scopes" }))
    }
    const scopes = Scopes.normalize(request.scopes)
    if (Either.isLeft(scopes)) return Effect.fail(scopes.left)
    const claims = Claims.merge(ctx.options.clientCapabilities, request.claims)
    if (Either.isLeft(claims)) return Effect.fail(claims.left)
    return Effect.flatMap(ctx.endpointsFor(request.tenant), (endpoints) => {
      const query: Cache.AccessTokenQuery = {
        homeAccountId: null,
        environment: endpoints.environment,
        clientId,
        realm: endpoints.realm
      }
      const key = Cache.accessTokenKey(query, scopes.right.join(" "))
      if (request.claims !== undefined) {
        return Effect.zipRight(
          Metrics.cacheOutcome(GRANT, "bypass"),
          flights.run(`${key}\u0000${claims.right}`, fetch(endpoints, scopes.right, claims.right, 1))
        )
      }
      // the hot path: one clock read and one keyed lookup
      return Effect.flatMap(Clock.currentTimeMillis, (millis) => {
        const now = Math.floor(millis / 1000)
        return Effect.flatMap(cache.get("AccessToken", key), (exact) =>
          Option.isSome(exact) && exact.value.expires_on - now >= EXPIRY_BUFFER_SECONDS
            ? hit(endpoints, exact.value, claims.right, now)
            : miss(endpoints, query, key, scopes.right, claims.right, now, Option.isSome(exact)))
      })
    })
  }

  const acquireTokenForClient = (request: ClientCredentialsRequest): Effect.Effect<AuthenticationResult, MsalError> =>
    Effect.withSpan(Effect.suspend(() => acquire(request)), "ConfidentialClient.acquireTokenForClient", {
      captureStackTrace: false,
      attributes: {
        "msal.grant": GRANT,
        "msal.tenant": Predicate.isRecord(request) && typeof request.tenant === "string" ? request.tenant : ctx.authority.tenant
      }
    })

  const removeTokensForClient = Effect.fn("ConfidentialClient.removeTokensForClient")(function*() {
    const environments = new Set(ctx.environments().flatMap(Cache.aliasesOf))
    const tokens = yield* cache.list("AccessToken")
    const mine = tokens.filter((t) =>
      t.client_id === clientId && (t.home_account_id ?? "") === "" && t.user_assertion_hash === undefined &&
      environments.has(t.environment.toLowerCase())
    )
    yield* cache.modify(mine.map((t) => ({ _tag: "Remove", section: "AccessToken", key: Cache.keyOf("AccessToken", t) })))
  })

  return { acquireTokenForClient, removeTokensForClient }
}
