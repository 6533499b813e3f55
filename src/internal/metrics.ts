import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricKey from "effect/MetricKey"
import * as MetricState from "effect/MetricState"

const counterKey = (name: string, description: string) => MetricKey.counter(name, { description, incremental: true })

const keys = {
  cacheHits: counterKey("effect_msal.cache.hits", "Acquisitions served from the token cache without a request"),
  cacheMisses: counterKey(
    "effect_msal.cache.misses",
    "Acquisitions the token cache could not serve (absent or expired token)"
  ),
  networkRequests: counterKey(
    "effect_msal.network.requests",
    "HTTP requests sent to a token endpoint, each attempt counted"
  ),
  refreshes: counterKey(
    "effect_msal.refreshes",
    "Refreshes of aging tokens started (in the background for app tokens)"
  )
}

/** @internal */
export const cacheHits: Metric.Metric.Counter<number> = Metric.fromMetricKey(keys.cacheHits)

/** @internal */
export const cacheMisses: Metric.Metric.Counter<number> = Metric.fromMetricKey(keys.cacheMisses)

/** @internal */
export const networkRequests: Metric.Metric.Counter<number> = Metric.fromMetricKey(keys.networkRequests)

/** @internal */
export const refreshes: Metric.Metric.Counter<number> = Metric.fromMetricKey(keys.refreshes)

type CounterKey = MetricKey.MetricKey.Counter<number>

/**
 * A counter tagged with a grant, built once per counter and grant from a key that carries the
 * tag. `Metric.tagged` would instead merge its tags with the fiber's on every update (a new
 * array, so a new registry lookup that hashes the key): too slow for the cache-hit path. The
 * registry entry is the same (same name, type and tags).
 */
const tagged = new Map<CounterKey, Map<string, Metric.Metric.Counter<number>>>()
const perGrantCounter = (key: CounterKey, grant: string): Metric.Metric.Counter<number> => {
  let byGrant = tagged.get(key)
  if (byGrant === undefined) {
    byGrant = new Map()
    tagged.set(key, byGrant)
  }
  let counter = byGrant.get(grant)
  if (counter === undefined) {
    counter = Metric.fromMetricKey(MetricKey.tagged(key, "grant", grant))
    byGrant.set(grant, counter)
  }
  return counter
}

const increments = new Map<Metric.Metric.Counter<number>, Effect.Effect<void>>()
const perGrant = (key: CounterKey, grant: string): Effect.Effect<void> => {
  const counter = perGrantCounter(key, grant)
  let increment = increments.get(counter)
  if (increment === undefined) {
    increment = Metric.increment(counter)
    increments.set(counter, increment)
  }
  return increment
}

/**
 * The hit counter of a grant, for a synchronous update (`unsafeUpdate(1, fiber's metric
 * labels)`) on the cache-hit fast path. @internal
 */
export const hitCounter = (grant: string): Metric.Metric.Counter<number> => perGrantCounter(keys.cacheHits, grant)

/** A cache hit for a grant (`client_credentials`, …). @internal */
export const hit = (grant: string): Effect.Effect<void> => perGrant(keys.cacheHits, grant)

/** A cache miss for a grant. @internal */
export const miss = (grant: string): Effect.Effect<void> => perGrant(keys.cacheMisses, grant)

/** A refresh of an aging token started for a grant. @internal */
export const refresh = (grant: string): Effect.Effect<void> => perGrant(keys.refreshes, grant)

/**
 * One HTTP attempt to a token endpoint: `status` is the HTTP status, or `"error"` when no
 * answer came (transport failure, timeout). @internal
 */
export const request = (grant: string, status: number | "error"): Effect.Effect<void> =>
  Metric.increment(Metric.tagged(Metric.tagged(networkRequests, "grant", grant), "status", String(status)))

/**
 * Annotates the current span with a cache outcome (`msal.cache`) and counts it: `hit` and
 * `aging` served from the cache (its refresh runs in the background, counted when it starts)
 * are hits; `aging` refreshed on the request path (`foreground`) is a miss and a refresh;
 * `miss` is a miss; `bypass` (claims, `forceRefresh`) is neither. @internal
 */
export const cacheOutcome = (
  grant: string,
  outcome: "hit" | "aging" | "miss" | "bypass",
  foreground = false
): Effect.Effect<void> =>
  Effect.zipRight(
    Effect.annotateCurrentSpan("msal.cache", outcome),
    outcome === "hit"
      ? hit(grant)
      : outcome === "aging"
      ? (foreground ? Effect.zipRight(miss(grant), refresh(grant)) : hit(grant))
      : outcome === "miss"
      ? miss(grant)
      : Effect.void
  )

/** The counters' totals over every tag. @internal */
export interface Totals {
  readonly cacheHits: number
  readonly cacheMisses: number
  readonly networkRequests: number
  readonly refreshes: number
}

const NAMES: Readonly<Record<string, keyof Totals>> = {
  "effect_msal.cache.hits": "cacheHits",
  "effect_msal.cache.misses": "cacheMisses",
  "effect_msal.network.requests": "networkRequests",
  "effect_msal.refreshes": "refreshes"
}

/** @internal */
export const totals: Effect.Effect<Totals> = Effect.map(Metric.snapshot, (pairs) => {
  const sums: Record<keyof Totals, number> = { cacheHits: 0, cacheMisses: 0, networkRequests: 0, refreshes: 0 }
  for (const pair of pairs) {
    const name = NAMES[pair.metricKey.name]
    if (name !== undefined && MetricState.isCounterState(pair.metricState)) sums[name] += Number(pair.metricState.count)
  }
  return sums
})

/**
 * After one HTTP attempt to a token endpoint: counts it (tagged with the grant type and the
 * status, or `error` when no answer came) and puts the status on the current span. @internal
 */
export const attempt = (
  grantType: unknown,
  exit: Exit.Exit<{ readonly status: number }, unknown>
): Effect.Effect<void> => {
  const grant = typeof grantType === "string" ? grantType : "unknown"
  return Exit.isSuccess(exit)
    ? Effect.zipRight(
      request(grant, exit.value.status),
      Effect.annotateCurrentSpan("http.response.status_code", exit.value.status)
    )
    : request(grant, "error")
}
