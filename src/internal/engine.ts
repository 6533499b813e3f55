/**
 * The one acquisition engine: every cached grant (client credentials, on-behalf-of, silent,
 * managed identity) runs through `acquire`. A grant supplies a `Plan` — its cache query, the
 * scopes, how a cached entry becomes a result and how a new token is fetched and stored — and
 * the engine owns the rest: the keyed lookup and its superset fallback, the five-minute rule,
 * aging and background refresh with its back-off, single-flight, the shared store's lock, the
 * re-check with a fresh clock reading, and the fall-back to an aging token.
 * @internal
 */
import type * as Fiber from "effect/Fiber"
import type * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type { AuthenticationResult } from "../AuthenticationResult.js"
import type * as CacheEntry from "../CacheEntry.js"
import type { MsalError } from "../MsalError.js"
import { CacheError, NetworkError } from "../MsalError.js"
import type { Service as TokenCacheService } from "../TokenCache.js"
import * as Cache from "./cacheKey.js"
import * as Memory from "./memoryCache.js"
import * as Metrics from "./metrics.js"
import { RefreshReason } from "./protocol/tokenRequest.js"
import * as Scopes from "./scopes.js"
import * as SingleFlight from "./singleFlight.js"

/**
 * Tokens with less than this left are not served (MSAL Python's `acquire_token_silent`
 * skips tokens expiring within 5 minutes; msal-node `DEFAULT_TOKEN_RENEWAL_OFFSET_SEC = 300`).
 * @internal
 */
export const EXPIRY_BUFFER_SECONDS = 300
/** After a failed background refresh, wait this long before the next one for the same key. @internal */
export const BACKGROUND_RETRY_MILLIS = 30_000
/** The most request keys remembered as served by another entry (per client). */
const MAX_SERVED_BY = 10_000

/** What a grant tells the engine about one acquisition. @internal */
export interface Plan {
  /** The grant's name in metrics and spans (`client_credentials`, `on_behalf_of`, `silent`, …). */
  readonly grant: string
  readonly query: Cache.AccessTokenQuery
  /**
   * Realms also looked in, in order, when the query's realm holds no usable token: the tenant
   * as the authority wrote it, the account's `tid` where msal-node writes user tokens (see
   * `Authority.lookupRealms`). New tokens are stored under the query's realm only.
   */
  readonly otherRealms?: ReadonlyArray<string> | undefined
  /** The scopes asked for: a cached token whose target holds them all serves the request. */
  readonly scopes: ReadonlyArray<string>
  /**
   * What to do once `refresh_on` has passed: serve the cached token and refresh it off the
   * request path (`"background"`), or refresh on the request path and serve the cached token
   * only when that fails (`"inline"`, as MSAL Python does for user tokens).
   */
  readonly aging: "background" | "inline"
  /**
   * Set when the cache must not be read (a claims challenge, `forceRefresh`): the text that,
   * with the key, tells identical requests apart for single-flight.
   */
  readonly bypass?: string | undefined
  /** The result for a cached entry. */
  readonly serve: (entry: CacheEntry.AccessToken) => Effect.Effect<AuthenticationResult, MsalError>
  /** Fetches a new token, stores it and returns the result. */
  readonly fetch: (reason: RefreshReason) => Effect.Effect<AuthenticationResult, MsalError>
}

/** A cached access token: usable (at least five minutes left), or only known to have expired. @internal */
export interface Lookup {
  readonly usable: Option.Option<CacheEntry.AccessToken>
  readonly expired: boolean
}

/**
 * One request shape (a client's grant, tenant and scopes), prepared once for the cache-hit
 * fast path: its cache key, and how a cached entry becomes a result without effects. @internal
 */
export interface Hot {
  readonly grant: string
  readonly key: string
  readonly scopes: ReadonlyArray<string>
  /**
   * The result for a cached entry, without effects (entries are immutable: the same entry may
   * give the same `Exit`), or `undefined` when it needs some (then the full path runs).
   */
  readonly serve: (entry: CacheEntry.AccessToken) => Exit.Exit<AuthenticationResult> | undefined
  readonly counter: Metric.Metric.Counter<number>
  /** The last entry found to hold the shape's scopes (checked once per entry when found through the memo). */
  entry: CacheEntry.AccessToken | undefined
}

/** The fast-path form of a plan (whose key it shares). @internal */
export const hotOf = (plan: Plan, serve: Hot["serve"]): Hot => ({
  grant: plan.grant,
  key: keyOfPlan(plan),
  scopes: plan.scopes,
  serve,
  counter: Metrics.hitCounter(plan.grant),
  entry: undefined
})

/** A `Hot["serve"]` from a synchronous result: one `Exit` per entry, kept for the last entry. @internal */
export const serveOnce = (result: (entry: CacheEntry.AccessToken) => AuthenticationResult): Hot["serve"] => {
  let last: CacheEntry.AccessToken | undefined
  let exit: Exit.Exit<AuthenticationResult> | undefined
  return (entry) => {
    if (entry !== last || exit === undefined) {
      exit = Exit.succeed(result(entry))
      last = entry
    }
    return exit
  }
}

/** @internal */
export interface Engine {
  readonly acquire: (plan: Plan) => Effect.Effect<AuthenticationResult, MsalError>
  /**
   * The cache-hit fast path, run synchronously by the fiber that asks: the prebuilt result
   * when the store is the in-memory one and holds a usable token for `hot` that is not aging
   * (clock read from the fiber's `Clock` service, the five-minute rule as in `acquire`), with
   * the hit counted; else `undefined`, and the caller runs `acquire`.
   */
  readonly hit: (hot: Hot, fiber: Fiber.RuntimeFiber<unknown, unknown>) => Exit.Exit<AuthenticationResult> | undefined
  /** A usable cached token for the scopes (keyed lookup, else a superset in the partition, then in other realms). */
  readonly lookup: (
    query: Cache.AccessTokenQuery,
    scopes: ReadonlyArray<string>,
    nowSeconds: number,
    otherRealms?: ReadonlyArray<string>
  ) => Effect.Effect<Lookup, MsalError>
}

/** What the engine needs from its client. @internal */
export interface Deps {
  readonly cache: TokenCacheService
  /** Runs an effect under the shared store's lock for a key (file, Redis); as is otherwise. */
  readonly locked: <A, E>(key: string, effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
  /** The client layer's scope: background refreshes and flights run in it. */
  readonly scope: Scope.Scope
  /** Called for each token served from the cache (telemetry). */
  readonly onHit?: (() => void) | undefined
  /**
   * The grant's own deadline for everything past the keyed lookup (the partition scan, the
   * store's lock, the request, storing): the client's `timeout` plus a second, so that the
   * transport's own timeout answers first for a slow authority and this one for a stuck store.
   */
  readonly timeout?: Duration.Duration | undefined
}

/** Whether a token is past its `refresh_on` (MSAL's "aging" token). @internal */
export const isAging = (entry: CacheEntry.AccessToken, now: number): boolean =>
  entry.refresh_on !== undefined && entry.refresh_on < now

const isUsable = (entry: CacheEntry.AccessToken, now: number): boolean =>
  entry.expires_on - now >= EXPIRY_BUFFER_SECONDS

const nowSeconds = Effect.map(Clock.currentTimeMillis, (millis) => Math.floor(millis / 1000))

/** One client's engine state: its flights, background back-off and served-by memo. */
interface State extends Deps {
  readonly flights: SingleFlight.SingleFlight<AuthenticationResult, MsalError>
  readonly backgroundNotBefore: Map<string, number>
  /**
   * The key of the entry that last served a request key. A user token is stored under the
   * scopes the authority answered with (which add `openid`, `profile`, full resource names…),
   * so the key built from the requested scopes rarely finds it; after the first scan of the
   * partition the request is one keyed lookup. Bounded; a stale memo only costs a scan.
   */
  readonly servedBy: Map<string, string>
  /** Keys whose token request is under way (by any fiber): a deadline then blames the authority, not the store. */
  readonly fetching: Map<string, number>
  /** The store's synchronous read when it is the in-memory store (the only one the fast path reads). */
  readonly syncGet: Memory.SyncGet | undefined
}

const remember = (state: State, requestKey: string, entryKey: string): void => {
  if (requestKey === entryKey) return
  const { servedBy } = state
  if (servedBy.size >= MAX_SERVED_BY && !servedBy.has(requestKey)) {
    const oldest = servedBy.keys().next()
    if (oldest.done !== true) servedBy.delete(oldest.value)
  }
  servedBy.set(requestKey, entryKey)
}

/** The partition scan: the longest-lived usable superset of the scopes; expired entries are removed on the way. */
const scan = (
  state: State,
  query: Cache.AccessTokenQuery,
  requestKey: string,
  scopes: ReadonlyArray<string>,
  now: number,
  exactSeen: boolean
): Effect.Effect<Lookup, MsalError> =>
  Effect.flatMap(state.cache.list("AccessToken", Cache.accessTokenPartition(query)), (candidates) => {
    let best: CacheEntry.AccessToken | undefined
    let expired = exactSeen
    const gone: Array<string> = []
    for (const e of candidates) {
      if (!Scopes.isSubset(scopes, e.target)) continue
      if (!isUsable(e, now)) {
        expired = true
        if (e.expires_on < now) gone.push(Cache.keyOf("AccessToken", e))
      } else if (best === undefined || e.expires_on > best.expires_on) best = e
    }
    if (best !== undefined) remember(state, requestKey, Cache.keyOf("AccessToken", best))
    const found: Lookup = { usable: Option.fromNullable(best), expired: expired && best === undefined }
    return gone.length === 0
      ? Effect.succeed(found)
      : Effect.as(state.cache.modify(gone.map((key) => ({ _tag: "Remove", section: "AccessToken", key }))), found)
  })

/**
 * The partition scan under the query's realm, then under each other realm until one holds a
 * usable token; a token found under another realm is remembered for the request key.
 */
const scanRealms = (
  state: State,
  query: Cache.AccessTokenQuery,
  otherRealms: ReadonlyArray<string> | undefined,
  requestKey: string,
  scopes: ReadonlyArray<string>,
  now: number,
  exactSeen: boolean
): Effect.Effect<Lookup, MsalError> =>
  Effect.flatMap(scan(state, query, requestKey, scopes, now, exactSeen), (found) => {
    if (Option.isSome(found.usable) || otherRealms === undefined || otherRealms.length === 0) {
      return Effect.succeed(found)
    }
    const [realm, ...rest] = otherRealms
    return scanRealms(state, { ...query, realm: realm! }, rest, requestKey, scopes, now, found.expired)
  })

/** The keyed lookup (through the memo) of a usable token, else `undefined`. */
const keyed = (
  state: State,
  key: string,
  scopes: ReadonlyArray<string>,
  now: number
): Effect.Effect<{ readonly usable: CacheEntry.AccessToken | undefined; readonly seen: boolean }, MsalError> => {
  const memo = state.servedBy.get(key)
  return Effect.map(
    state.cache.get("AccessToken", memo ?? key),
    (exact) =>
      Option.isSome(exact) && isUsable(exact.value, now) &&
        (memo === undefined || Scopes.isSubset(scopes, exact.value.target))
        ? { usable: exact.value, seen: true }
        : { usable: undefined, seen: Option.isSome(exact) }
  )
}

/** The keyed lookup, else the partition scans. */
const find = (
  state: State,
  query: Cache.AccessTokenQuery,
  otherRealms: ReadonlyArray<string> | undefined,
  key: string,
  scopes: ReadonlyArray<string>,
  now: number
) =>
  Effect.flatMap(keyed(state, key, scopes, now), (k): Effect.Effect<Lookup, MsalError> =>
    k.usable !== undefined
      ? Effect.succeed({ usable: Option.some(k.usable), expired: false })
      : scanRealms(state, query, otherRealms, key, scopes, now, k.seen))

/** Runs a token request marked as under way for its key. */
const fetching = <A, E>(state: State, key: string, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.acquireUseRelease(
    Effect.sync(() => state.fetching.set(key, (state.fetching.get(key) ?? 0) + 1)),
    () => effect,
    () =>
      Effect.sync(() => {
        const n = (state.fetching.get(key) ?? 1) - 1
        if (n <= 0) state.fetching.delete(key)
        else state.fetching.set(key, n)
      })
  )

/** Under the flight and the lock: a token stored meanwhile (by a fiber or another instance) is served, else one is fetched. */
const recheckOrFetch = (state: State, plan: Plan, key: string, reason: RefreshReason) =>
  state.flights.run(
    key,
    state.locked(
      key,
      Effect.flatMap(nowSeconds, (now) =>
        Effect.flatMap(find(state, plan.query, plan.otherRealms, key, plan.scopes, now), (again) =>
          Option.isSome(again.usable) && !isAging(again.usable.value, now)
            ? plan.serve(again.usable.value)
            : fetching(state, key, plan.fetch(reason))))
    )
  )

const backgroundFailed = (state: State, key: string) => (error: MsalError) =>
  Effect.flatMap(
    Clock.currentTimeMillis,
    (t) =>
      Effect.sync(() => state.backgroundNotBefore.set(key, t + BACKGROUND_RETRY_MILLIS)).pipe(
        Effect.zipRight(
          Effect.logWarning("background token refresh failed; the cached token is still served").pipe(
            Effect.annotateLogs({ "msal.error": error._tag, "msal.error_message": error.message })
          )
        ),
        Effect.zipRight(Effect.annotateCurrentSpan("msal.background_refresh_error", error._tag))
      )
  )

/** One refresh per key off the request path; after a failure, none for 30 seconds. */
const refreshInBackground = (state: State, plan: Plan, key: string, now: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (state.flights.isRunning(key) || (state.backgroundNotBefore.get(key) ?? 0) > now * 1000) return Effect.void
    return Metrics.refresh(plan.grant).pipe(
      Effect.zipRight(recheckOrFetch(state, plan, key, RefreshReason.Aging)),
      Effect.tap(() => Effect.sync(() => state.backgroundNotBefore.delete(key))),
      Effect.tapError(backgroundFailed(state, key)),
      Effect.ignore,
      Effect.withSpan("ConfidentialClient.backgroundRefresh"),
      Effect.forkIn(state.scope),
      Effect.asVoid
    )
  })

/** A usable cached token: served, and refreshed first or in the background when aging. */
const served = (state: State, plan: Plan, key: string, entry: CacheEntry.AccessToken, now: number) => {
  if (!isAging(entry, now)) {
    state.onHit?.()
    return Effect.zipRight(Metrics.cacheOutcome(plan.grant, "hit"), plan.serve(entry))
  }
  if (plan.aging === "background") {
    state.onHit?.()
    return Metrics.cacheOutcome(plan.grant, "aging").pipe(
      Effect.zipRight(refreshInBackground(state, plan, key, now)),
      Effect.zipRight(plan.serve(entry))
    )
  }
  return Metrics.cacheOutcome(plan.grant, "aging", true).pipe(
    Effect.zipRight(recheckOrFetch(state, plan, key, RefreshReason.Aging)),
    Effect.catchAll((error) =>
      Effect.zipRight(Effect.annotateCurrentSpan("msal.refresh_error", error._tag), plan.serve(entry))
    )
  )
}

/** No usable token under the key: the partition scan, else a fetch joined with identical ones. */
const slow = (state: State, plan: Plan, key: string, now: number, exactSeen: boolean) =>
  Effect.flatMap(
    scanRealms(state, plan.query, plan.otherRealms, key, plan.scopes, now, exactSeen),
    (found) =>
      Option.isSome(found.usable)
        ? served(state, plan, key, found.usable.value, now)
        : Effect.zipRight(
          Metrics.cacheOutcome(plan.grant, "miss", plan.aging === "inline"),
          recheckOrFetch(state, plan, key, found.expired ? RefreshReason.Expired : RefreshReason.Absent)
        )
  )

/**
 * The deadline over a slow path: a stuck store or lock fails as a `CacheError` instead of
 * hanging. When the deadline passes while the key's token request is under way (several
 * refresh tokens tried in turn, each within the transport's timeout), the authority is
 * blamed: a `NetworkError` `Timeout`.
 */
const withDeadline = <A>(
  state: State,
  key: string,
  effect: Effect.Effect<A, MsalError>
): Effect.Effect<A, MsalError> => {
  const timeout = state.timeout
  if (timeout === undefined) return effect
  const deadline = Duration.sum(timeout, Duration.seconds(1))
  return Effect.timeoutFail(effect, {
    duration: deadline,
    onTimeout: (): MsalError =>
      state.fetching.has(key)
        ? new NetworkError({
          reason: "Timeout",
          description: `no token within ${Duration.format(deadline)}: the authority did not answer in time`
        })
        : new CacheError({
          reason: "Io",
          description: `no token within ${Duration.format(deadline)}: the token cache or its lock did not answer`
        })
  })
}

/** The request key of a plan: the key its token would have if stored under exactly the scopes asked for. */
const keyOfPlan = (plan: Plan): string => Cache.accessTokenKey(plan.query, plan.scopes.join(" "))

/**
 * The fast path: what `acquire` does for a usable, non-aging token under the request key (or
 * the entry that last served it), without the run loop: the keyed lookup, the five-minute
 * rule, `onHit` and the hit counter (with the fiber's metric labels). No span annotation:
 * callers take this path only when no tracer is installed.
 */
const hit = (state: State) => (hot: Hot, fiber: Fiber.RuntimeFiber<unknown, unknown>) => {
  const syncGet = state.syncGet
  if (syncGet === undefined) return undefined
  const now = nowOf(fiber)
  const memo = state.servedBy.get(hot.key)
  const entry = syncGet("AccessToken", memo ?? hot.key)
  if (entry === undefined || !isUsable(entry, now) || isAging(entry, now)) return undefined
  if (hot.entry !== entry) {
    if (memo !== undefined && !Scopes.isSubset(hot.scopes, entry.target)) return undefined
    hot.entry = entry
  }
  const exit = hot.serve(entry)
  if (exit === undefined) return undefined
  state.onHit?.()
  hot.counter.unsafeUpdate(1, fiber.getFiberRef(FiberRef.currentMetricLabels))
  return exit
}

/** The time in whole seconds, from the fiber's `Clock` service (a `TestClock` in tests), synchronously. @internal */
export const nowOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): number =>
  Math.floor(Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis() / 1000)

let nativeTracer: Tracer.Tracer | undefined

/**
 * Whether the fiber runs with Effect's built-in tracer, whose spans nobody exports: then a
 * cache hit opens no span (installing a tracer, e.g. OpenTelemetry's, brings them back). @internal
 */
export const isUntraced = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  fiber.currentTracer === (nativeTracer ??= Effect.runSync(Effect.tracer))

const acquire = (state: State) => (plan: Plan): Effect.Effect<AuthenticationResult, MsalError> => {
  const key = keyOfPlan(plan)
  if (plan.bypass !== undefined) {
    return Effect.zipRight(
      Metrics.cacheOutcome(plan.grant, "bypass", plan.aging === "inline"),
      state.flights.run(`${key}\u0000${plan.bypass}`, plan.fetch(RefreshReason.Forced))
    )
  }
  // the hot path: one clock reading and one keyed lookup
  return Effect.flatMap(Clock.currentTimeMillis, (millis) => {
    const now = Math.floor(millis / 1000)
    return Effect.flatMap(
      keyed(state, key, plan.scopes, now),
      (k) =>
        k.usable !== undefined
          ? served(state, plan, key, k.usable, now)
          : withDeadline(state, key, slow(state, plan, key, now, k.seen))
    )
  })
}

/** @internal */
export const make = (deps: Deps): Engine => {
  const state: State = {
    ...deps,
    flights: SingleFlight.make<AuthenticationResult, MsalError>(deps.scope),
    backgroundNotBefore: new Map(),
    servedBy: new Map(),
    fetching: new Map(),
    syncGet: Memory.syncGetOf(deps.cache)
  }
  return {
    acquire: acquire(state),
    hit: hit(state),
    lookup: (query, scopes, now, otherRealms) =>
      find(state, query, otherRealms, Cache.accessTokenKey(query, scopes.join(" ")), scopes, now)
  }
}
