import { createHash } from "node:crypto"
import type { MsalError } from "../MsalError.js"
import { Throttled } from "../MsalError.js"

/** Without a `Retry-After`, a 429 or 5xx closes identical requests for this long (MSAL Python's `ThrottledHttpClient` default). @internal */
export const DEFAULT_WINDOW_MILLIS = 5_000
/** Longest window a `Retry-After` may open. @internal */
export const MAX_WINDOW_MILLIS = 3_600_000
/** How long a 400 for the same body is replayed. @internal */
export const REPLAY_400_MILLIS = 60_000
/** Entries kept at most; the soonest to expire go first. @internal */
export const CAPACITY = 1024

const sha256 = (s: string): string => createHash("sha256").update(s).digest("base64url")

/** The two keys of one request: its throttle group and its exact body. @internal */
export interface Keys {
  readonly group: string
  readonly body: string
}

/**
 * The throttle group is the endpoint, client and scopes plus the grant's own secret (refresh
 * token, code or user name) hashed, as MSAL Python keys it; the body key hashes the whole form.
 * Only hashes are kept, never the secrets.
 * @internal
 */
export const keysOf = (endpoint: string, form: ReadonlyArray<readonly [string, string]>): Keys => {
  const get = (name: string) => form.find(([k]) => k === name)?.[1]
  const subject = get("refresh_token") ?? get("code") ?? get("username") ?? get("assertion") ?? ""
  return {
    group: `${endpoint} ${get("client_id") ?? ""} ${get("scope") ?? ""} ${sha256(subject)}`,
    body: `${endpoint} ${sha256(new URLSearchParams(form.map(([k, v]) => [k, v])).toString())}`
  }
}

interface Entry {
  readonly until: number
  readonly error: MsalError
}

/** Remembers recent throttling answers and 400s of one client, in memory, bounded. @internal */
export interface Throttle {
  /** The error to fail with at once, or undefined when the request may be sent. */
  readonly check: (keys: Keys, now: number) => MsalError | undefined
  /** Records the final failure of a request. */
  readonly record: (keys: Keys, error: MsalError, now: number) => void
}

/** @internal */
export const make = (): Throttle => {
  const groups = new Map<string, Entry>()
  const bodies = new Map<string, Entry>()

  const put = (map: Map<string, Entry>, key: string, entry: Entry, now: number) => {
    map.delete(key)
    map.set(key, entry)
    if (map.size <= CAPACITY) return
    for (const [k, e] of map) if (e.until <= now) map.delete(k)
    while (map.size > CAPACITY) {
      let soonest: string | undefined
      let until = Infinity
      for (const [k, e] of map) {
        if (e.until < until) {
          until = e.until
          soonest = k
        }
      }
      if (soonest === undefined) break
      map.delete(soonest)
    }
  }

  const live = (map: Map<string, Entry>, key: string, now: number): Entry | undefined => {
    const e = map.get(key)
    if (e === undefined) return undefined
    if (e.until > now) return e
    map.delete(key)
    return undefined
  }

  return {
    check: (keys, now) => {
      const throttled = live(groups, keys.group, now)
      if (throttled !== undefined) {
        return new Throttled({
          retryAt: new Date(throttled.until),
          description: `${describe(throttled.error)}; the request was not sent`
        })
      }
      return live(bodies, keys.body, now)?.error
    },
    record: (keys, error, now) => {
      const status = error._tag === "ServerError" || error._tag === "NetworkError" ? error.status : undefined
      if (status === undefined) return
      const retryAfter = error._tag === "ServerError" || error._tag === "NetworkError" ? error.retryAfter : undefined
      if (status === 429 || status >= 500 || retryAfter !== undefined) {
        const window = retryAfter === undefined ? DEFAULT_WINDOW_MILLIS : Math.min(retryAfter * 1000, MAX_WINDOW_MILLIS)
        put(groups, keys.group, { until: now + window, error }, now)
      } else if (status === 400 && error._tag === "ServerError") {
        put(bodies, keys.body, { until: now + REPLAY_400_MILLIS, error }, now)
      }
    }
  }
}

/** What closed the window: how long Retry-After asked to wait, or the default window, and the answer. */
const describe = (error: MsalError): string => {
  const answer = error._tag === "ServerError"
    ? `${error.error}, HTTP ${error.status}`
    : `HTTP ${(error as { status?: number }).status ?? "?"}`
  const retryAfter = error._tag === "ServerError" || error._tag === "NetworkError" ? error.retryAfter : undefined
  return retryAfter === undefined
    ? `the authority answered ${answer} without Retry-After, so identical requests wait ${
      DEFAULT_WINDOW_MILLIS / 1000
    } s`
    : `the authority asked to wait ${retryAfter} s (Retry-After, with ${answer})`
}
