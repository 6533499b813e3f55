import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricState from "effect/MetricState"

/** @internal */
export const cacheHits = Metric.counter("effect_msal.cache.hits", {
  description: "Acquisitions served from the token cache without a request",
  incremental: true
})

/** @internal */
export const cacheMisses = Metric.counter("effect_msal.cache.misses", {
  description: "Acquisitions the token cache could not serve (absent or expired token)",
  incremental: true
})

/** @internal */
export const networkRequests = Metric.counter("effect_msal.network.requests", {
  description: "HTTP requests sent to a token endpoint, each attempt counted",
  incremental: true
})

/** @internal */
export const refreshes = Metric.counter("effect_msal.refreshes", {
  description: "Refreshes of aging tokens started (in the background for app tokens)",
  incremental: true
})

/**
 * The increment of a counter tagged with a grant, built once per counter and grant: tagging a
 * metric hashes its key, too slow for the cache-hit path.
 */
const increments = new Map<Metric.Metric.Counter<number>, Map<string, Effect.Effect<void>>>()
const perGrant = (counter: Metric.Metric.Counter<number>, grant: string): Effect.Effect<void> => {
  let byGrant = increments.get(counter)
  if (byGrant === undefined) {
    byGrant = new Map()
    increments.set(counter, byGrant)
  }
  let increment = byGrant.get(grant)
  if (increment === undefined) {
    increment = Metric.increment(Metric.tagged(counter, "grant", grant))
    byGrant.set(grant, increment)
  }
  return increment
}

/** A cache hit for a grant (`client_credentials`, …). @internal */
export const hit = (grant: string): Effect.Effect<void> => perGrant(cacheHits, grant)

/** A cache miss for a grant. @internal */
export const miss = (grant: string): Effect.Effect<void> => perGrant(cacheMisses, grant)

/** A refresh of an aging token started for a grant. @internal */
export const refresh = (grant: string): Effect.Effect<void> => perGrant(refreshes, grant)

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
