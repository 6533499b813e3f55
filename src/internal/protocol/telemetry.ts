/**
 * The server-side telemetry MSAL Python sends with every token request (msal/telemetry.py,
 * `_TelemetryContext`): `x-client-last-telemetry: 4|{succeeded}|{failed}|{errors}|`, where
 * `succeeded` counts the tokens served from the cache since the last request, and `failed`
 * lists `{api id},{correlation id}` of the requests the authority refused since the last
 * success, with their OAuth `error` codes. The record is emptied when a token request
 * succeeds, and failures stop being added once the header would pass 350 characters.
 * @internal
 */

/** MSAL Python's `_LAST_HEADER_SIZE_LIMIT`. @internal */
export const LAST_HEADER_SIZE_LIMIT = 350

/** One client's record (mutable: one per client). @internal */
export interface Record {
  succeeded: number
  size: number
  readonly failed: Array<{ readonly apiId: number; readonly correlationId: string; readonly error: string }>
}

/** @internal */
export const make = (): Record => ({ succeeded: 0, size: 0, failed: [] })

/** The header's value for the next request. @internal */
export const lastHeader = (record: Record): string =>
  `4|${record.succeeded}|${record.failed.map((f) => `${f.apiId},${f.correlationId}`).join(",")}|${
    record.failed.map((f) => f.error).join(",")
  }|`

/** A token served from the cache. @internal */
export const hit = (record: Record): void => {
  record.succeeded++
}

/** A request the authority refused with an OAuth error. @internal */
export const failed = (record: Record, apiId: number, correlationId: string, error: string): void => {
  const size = `,${apiId},${correlationId},${error}`.length
  if (record.size + size >= LAST_HEADER_SIZE_LIMIT) return
  record.size += size
  record.failed.push({ apiId, correlationId, error })
}

/** A token request that succeeded: the record was delivered. @internal */
export const succeeded = (record: Record): void => {
  record.succeeded = 0
  record.size = 0
  record.failed.length = 0
}
