/**
 * The counters every client updates, as Effect `Metric`s: export them with any metrics
 * backend Effect supports (for example `@effect/opentelemetry`), or read their totals with
 * `totals`.
 *
 * Each counter is tagged with `grant` (`client_credentials`, …); `networkRequests` is also
 * tagged with `status` (the HTTP status, or `error` when no answer came). A request with a
 * claims challenge (or `forceRefresh`) bypasses the cache and counts as neither a hit nor a
 * miss; an aging user token refreshed on the request path counts as a miss and a refresh.
 *
 * Spans: every grant is a span named after its method (`ConfidentialClient.acquireTokenForClient`)
 * with the attributes `msal.grant`, `msal.tenant` and `msal.cache` (`hit`, `aging`, `miss` or
 * `bypass`); each request to a token endpoint is a child span `ConfidentialClient.tokenRequest`
 * with `msal.api_id`, `msal.refresh_reason`, `http.response.status_code` and `msal.attempts`.
 * No span or metric ever carries a secret, an assertion, a token or a user's name.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { Metrics } from "effect-msal"
 *
 * const report = Effect.map(Metrics.totals, (t) => `cache hit ratio ${t.cacheHits / Math.max(1, t.cacheHits + t.cacheMisses)}`)
 * ```
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Metric from "effect/Metric"
import * as internal from "./internal/metrics.js"

/**
 * Acquisitions served from the token cache without a request (`effect_msal.cache.hits`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const cacheHits: Metric.Metric.Counter<number> = internal.cacheHits

/**
 * Acquisitions the cache could not serve: no token, or one too close to expiry
 * (`effect_msal.cache.misses`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const cacheMisses: Metric.Metric.Counter<number> = internal.cacheMisses

/**
 * HTTP requests sent to a token endpoint, each attempt counted
 * (`effect_msal.network.requests`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const networkRequests: Metric.Metric.Counter<number> = internal.networkRequests

/**
 * Refreshes of aging tokens (past the authority's `refresh_in`) started: in the background
 * for app tokens, on the request path for user tokens (on-behalf-of, silent)
 * (`effect_msal.refreshes`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const refreshes: Metric.Metric.Counter<number> = internal.refreshes

/**
 * The totals of the four counters over every tag, for this process.
 *
 * @since 0.1.0
 * @category models
 */
export interface Totals {
  readonly cacheHits: number
  readonly cacheMisses: number
  readonly networkRequests: number
  readonly refreshes: number
}

/**
 * Reads the totals of the four counters (summed over their tags) from the metric registry.
 *
 * @since 0.1.0
 * @category getters
 */
export const totals: Effect.Effect<Totals> = internal.totals
