/**
 * When a managed-identity request is sent again. Pure: a decision from the status, the
 * retry's number and the first answer's status.
 *
 * @internal
 */
import type { SourceName } from "./source.js"

/**
 * IMDS (msal-node `retry/ImdsRetryPolicy.ts`; MSAL .NET `docs/imds_retry_based_on_errors.md`):
 * 404, 408, 410, 429 and every 5xx are retried; three times, or seven when the first answer
 * was 410 (IMDS is being updated); a 410 waits 10 seconds, so retries span 70 seconds; the
 * others back off 1, 2 then 4 seconds (the strategy's minimum, then the delta doubled, capped).
 * @internal
 */
export const IMDS = {
  statuses: [404, 408, 410, 429] as ReadonlyArray<number>,
  retries: 3,
  goneRetries: 7,
  goneDelayMillis: 10_000,
  minDelayMillis: 1_000,
  deltaMillis: 2_000,
  maxDelayMillis: 4_000
} as const

/**
 * The other sources (msal-node `retry/DefaultManagedIdentityRetryPolicy.ts`): 404, 408, 429,
 * 500, 503 and 504, three times, one second apart or the `Retry-After`, whichever is longer.
 * @internal
 */
export const DEFAULT = {
  statuses: [404, 408, 429, 500, 503, 504] as ReadonlyArray<number>,
  retries: 3,
  delayMillis: 1_000
} as const

/**
 * The delay before retry number `retry` (0 for the first) after an answer with `status`, or
 * `undefined` when the answer is final. `firstStatus` is the status of the request's first
 * answer (it sets IMDS's number of retries); `retryAfterSeconds` is the answer's `Retry-After`.
 * @internal
 */
export const delayMillis = (
  source: SourceName,
  status: number,
  retry: number,
  firstStatus: number,
  retryAfterSeconds: number | undefined
): number | undefined => {
  if (source === "Imds") {
    const max = firstStatus === 410 ? IMDS.goneRetries : IMDS.retries
    const retryable = IMDS.statuses.includes(status) || (status >= 500 && status <= 599)
    if (!retryable || retry >= max) return undefined
    if (status === 410) return IMDS.goneDelayMillis
    return retry === 0 ? IMDS.minDelayMillis : Math.min(2 ** (retry - 1) * IMDS.deltaMillis, IMDS.maxDelayMillis)
  }
  if (!DEFAULT.statuses.includes(status) || retry >= DEFAULT.retries) return undefined
  return Math.max(DEFAULT.delayMillis, (retryAfterSeconds ?? 0) * 1000)
}
