import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import type { MsalError } from "../MsalError.js"

/** The retry policy of token requests, resolved from the client options. @internal */
export interface RetryPolicy {
  /** Attempts in all, the first included; 1 turns retries off. */
  readonly maxAttempts: number
  readonly baseDelay: Duration.Duration
  readonly maxDelay: Duration.Duration
  /** A longer `Retry-After` is not waited for: the error goes to the caller (and the throttle). */
  readonly maxRetryAfter: Duration.Duration
}

/** @internal */
export const DEFAULT_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelay: Duration.millis(200),
  maxDelay: Duration.seconds(5),
  maxRetryAfter: Duration.seconds(10)
}

/** @internal */
export const TRANSIENT_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

/** The `Retry-After` an error carries, in milliseconds. @internal */
export const retryAfterMillis = (error: MsalError): number | undefined =>
  (error._tag === "ServerError" || error._tag === "NetworkError") && error.retryAfter !== undefined
    ? error.retryAfter * 1000
    : undefined

/**
 * Whether a failed attempt may be sent again (failures known to have happened before the
 * request was sent are retried by the transport itself). Transport failures, timeouts, 408,
 * 429 and 5xx may only be retried for requests that can be repeated safely: an authorization
 * code or a rotating refresh token is never sent twice once the authority may have seen it.
 * @internal
 */
export const isRetryable = (idempotent: boolean) => (error: MsalError): boolean => {
  switch (error._tag) {
    case "NetworkError":
      // a failure before the request could have been sent is decided by the transport
      if (!idempotent) return false
      return error.reason === "Transport" || error.reason === "Timeout" ||
        (error.reason === "Status" && TRANSIENT_STATUS.has(error.status ?? 0))
    case "ServerError":
      return idempotent && TRANSIENT_STATUS.has(error.status)
    default:
      return false
  }
}

/**
 * Exponential backoff with jitter, replaced by the authority's `Retry-After` when it sent one
 * (unless it is longer than `maxRetryAfter`, which ends the retries), for at most
 * `maxAttempts` attempts.
 * @internal
 */
export const schedule = (policy: RetryPolicy): Schedule.Schedule<unknown, MsalError> =>
  Schedule.exponential(policy.baseDelay, 2).pipe(
    Schedule.jittered,
    Schedule.either(Schedule.spaced(policy.maxDelay)),
    Schedule.intersect(Schedule.identity<MsalError>()),
    Schedule.check((error: MsalError) => (retryAfterMillis(error) ?? 0) <= Duration.toMillis(policy.maxRetryAfter)),
    Schedule.modifyDelay(([, error]: readonly [unknown, MsalError], delay) => {
      const retryAfter = retryAfterMillis(error)
      return retryAfter === undefined ? delay : Duration.millis(retryAfter)
    }),
    Schedule.intersect(Schedule.recurs(Math.max(0, policy.maxAttempts - 1)))
  )
