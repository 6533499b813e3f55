/**
 * What a managed-identity endpoint's answer means: a token, Azure Arc's challenge, or a typed
 * error. Pure: the answer comes in as status, headers and body text.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import type { MsalError } from "../../MsalError.js"
import { NetworkError, ServerError } from "../../MsalError.js"
import { parseRetryAfter } from "../protocol/tokenResponse.js"
import type { SourceName } from "./source.js"

/** A raw answer. @internal */
export interface RawResponse {
  readonly status: number
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** A token, its lifetime in seconds counted from the request. @internal */
export interface Token {
  readonly _tag: "Token"
  readonly accessToken: Redacted.Redacted<string>
  readonly tokenType: string
  readonly expiresIn: number
  /** `refresh_in` from the answer, or half the lifetime when that is over two hours. */
  readonly refreshIn?: number | undefined
  readonly resource?: string | undefined
}

/** Azure Arc's first answer: read the key file at `path` and ask again. @internal */
export interface ArcChallenge {
  readonly _tag: "ArcChallenge"
  readonly path: string
}

/** @internal */
export type Outcome = Token | ArcChallenge

/**
 * Tokens living longer than this are refreshed at half their lifetime (msal-node
 * `BaseManagedIdentitySource.ts` `getServerTokenResponse`: over 2 hours; MSAL Python
 * `acquire_token_for_client`: 7200 seconds or more). @internal
 */
export const HALF_LIFE_REFRESH_AFTER = 7200

/**
 * `expires_on` as epoch seconds: a number, a string of digits, or an ISO 8601 date (msal-node
 * `BaseManagedIdentitySource.ts` accepts ISO dates; MSAL Python's Service Fabric code notes
 * the number may come as a string).
 */
const epochSeconds = (value: unknown): number | undefined => {
  if (typeof value === "number" && Number.isFinite(value)) return Math.floor(value)
  if (typeof value !== "string") return undefined
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.floor(Number(trimmed))
  const date = Date.parse(trimmed)
  return Number.isNaN(date) || !/^\d{4}-\d{2}-\d{2}T/.test(trimmed) ? undefined : Math.floor(date / 1000)
}

const seconds = (value: unknown): number | undefined => {
  if (typeof value === "number" && Number.isInteger(value)) return value
  if (typeof value === "string" && /^\d+$/.test(value.trim())) return Number(value.trim())
  return undefined
}

const stringField = (record: Readonly<Record<string, unknown>>, name: string): string | undefined => {
  const value = record[name]
  return typeof value === "string" && value.length > 0 ? value : undefined
}

/** The origin a `Location` points to, never its path or query. */
const originOf = (location: string | undefined, base: string): string | undefined => {
  if (location === undefined) return undefined
  try {
    const origin = new URL(location, base).origin
    return origin === "null" ? undefined : origin
  } catch {
    return undefined
  }
}

/**
 * The error an answer carries, as msal-node reads it (`BaseManagedIdentitySource.ts`
 * `getServerTokenResponse`): `error` is a string (IMDS, Arc, Cloud Shell) or an object with
 * `code` and `message` (Service Fabric); the description is `message` (App Service,
 * Service Fabric, Azure ML) or `error_description`; the correlation id `correlation_id` or
 * `correlationId`. Without any error code, `invalid_request` (MSAL Python's choice for
 * answers it cannot read, `_obtain_token_on_arc`).
 */
const serverError = (
  json: Readonly<Record<string, unknown>>,
  status: number,
  retryAfter: number | undefined
): ServerError => {
  const nested = Predicate.isRecord(json.error) ? json.error : undefined
  const error = stringField(json, "error") ?? (nested === undefined ? undefined : stringField(nested, "code")) ??
    "invalid_request"
  const description = stringField(json, "message") ?? stringField(json, "error_description") ??
    (nested === undefined ? undefined : stringField(nested, "message"))
  const correlationId = stringField(json, "correlation_id") ?? stringField(json, "correlationId") ??
    (nested === undefined ? undefined : stringField(nested, "correlationId"))
  const traceId = stringField(json, "trace_id")
  const codes = Array.isArray(json.error_codes) && json.error_codes.every((c) => Number.isSafeInteger(c) && c >= 0)
    ? (json.error_codes as ReadonlyArray<number>)
    : undefined
  return new ServerError({
    error,
    status,
    ...(description === undefined ? {} : { errorDescription: description }),
    ...(codes === undefined ? {} : { errorCodes: codes }),
    ...(correlationId === undefined ? {} : { correlationId }),
    ...(traceId === undefined ? {} : { traceId }),
    ...(retryAfter === undefined ? {} : { retryAfter })
  })
}

/** The fields every error of one answer shares: the endpoint, the status, `Retry-After` if sent. */
interface ErrorBase {
  readonly url: string
  readonly status: number
  readonly retryAfter?: number
}

/** A refused redirect: its status and the origin it points to, never its path or query. */
const redirectError = (response: RawResponse, base: ErrorBase): NetworkError => {
  const origin = originOf(response.headers["location"], base.url)
  return new NetworkError({
    ...base,
    reason: "Status",
    description: `the answer was a redirect to ${origin ?? "an unnamed location"}, and redirects are never followed`
  })
}

/** A body that is not JSON: what it looked like; retryable (`Status`) for the statuses worth another try. */
const notJsonError = (body: string, base: ErrorBase): NetworkError => {
  const what = body.trimStart().startsWith("<")
    ? "an HTML page"
    : body.length === 0
    ? "an empty body"
    : "a body that is not JSON"
  const status = base.status
  return new NetworkError({
    ...base,
    reason: status >= 500 || status === 404 || status === 408 || status === 410 || status === 429
      ? "Status"
      : "InvalidResponse",
    description: `the managed identity endpoint answered with ${what}`
  })
}

/**
 * A successful answer's token: its lifetime from `expires_on` (counted from `nowMillis`) or
 * `expires_in`, and when to refresh it (`refresh_in`, else half a long lifetime).
 */
const tokenOf = (
  json: Readonly<Record<string, unknown>>,
  accessToken: string,
  base: ErrorBase,
  nowMillis: number
): Either.Either<Outcome, MsalError> => {
  const now = Math.floor(nowMillis / 1000)
  const expiresOn = epochSeconds(json.expires_on)
  const expiresIn = expiresOn !== undefined ? expiresOn - now : seconds(json.expires_in)
  if (expiresIn === undefined) {
    return Either.left(
      new NetworkError({
        ...base,
        reason: "InvalidResponse",
        description: "the answer has neither expires_on nor expires_in"
      })
    )
  }
  const refreshIn = seconds(json.refresh_in) ??
    (expiresIn > HALF_LIFE_REFRESH_AFTER ? Math.floor(expiresIn / 2) : undefined)
  const resource = stringField(json, "resource")
  return Either.right({
    _tag: "Token",
    accessToken: Redacted.make(accessToken),
    tokenType: stringField(json, "token_type") ?? "Bearer",
    expiresIn,
    ...(refreshIn === undefined ? {} : { refreshIn }),
    ...(resource === undefined ? {} : { resource })
  })
}

/**
 * Interprets an answer of `source`'s endpoint at `url` (without its query), received at
 * `nowMillis`. A redirect is refused, naming only its status and the origin it points to;
 * Azure Arc's 401 with `WWW-Authenticate: Basic realm=<path>` is a challenge (msal-node
 * `AzureArc.ts` `getServerTokenResponseAsync`); a JSON error body is a `ServerError` whatever
 * the status; a body that is not JSON, or a success without a token and a lifetime, is a
 * `NetworkError`. Never a token or a header value in an error.
 * @internal
 */
export const interpret = (
  source: SourceName,
  url: string,
  response: RawResponse,
  nowMillis: number,
  arcChallengeAllowed: boolean
): Either.Either<Outcome, MsalError> => {
  const { status } = response
  const retryAfter = parseRetryAfter(response.headers["retry-after"], nowMillis)
  const base: ErrorBase = { url, status, ...(retryAfter === undefined ? {} : { retryAfter }) }
  if (status >= 300 && status < 400) return Either.left(redirectError(response, base))
  if (source === "AzureArc" && status === 401 && arcChallengeAllowed) return arcChallenge(response, base)
  let json: unknown
  try {
    json = JSON.parse(response.body)
  } catch {
    return Either.left(notJsonError(response.body, base))
  }
  if (!Predicate.isRecord(json)) {
    return Either.left(
      new NetworkError({ ...base, reason: "InvalidResponse", description: "the answer is not a JSON object" })
    )
  }
  const accessToken = stringField(json, "access_token")
  if (status < 200 || status >= 300 || accessToken === undefined) {
    if (status >= 200 && status < 300 && json.error === undefined) {
      return Either.left(
        new NetworkError({ ...base, reason: "InvalidResponse", description: "the answer has no access_token" })
      )
    }
    return Either.left(serverError(json, status, retryAfter))
  }
  return tokenOf(json, accessToken, base, nowMillis)
}

/**
 * The key file Azure Arc names: `WWW-Authenticate: Basic realm=<path>` (msal-node
 * `AzureArc.ts`; MSAL Python `_obtain_token_on_arc`). The path is checked by `Arc.readKey`.
 */
const arcChallenge = (
  response: RawResponse,
  base: { readonly url: string; readonly status: number }
): Either.Either<Outcome, MsalError> => {
  const header = response.headers["www-authenticate"]
  if (header === undefined) {
    return Either.left(
      new NetworkError({
        ...base,
        reason: "InvalidResponse",
        description: "Azure Arc answered 401 without a WWW-Authenticate header"
      })
    )
  }
  const marker = "Basic realm="
  const at = header.indexOf(marker)
  const path = at < 0 ? "" : header.slice(at + marker.length).trim()
  if (path.length === 0) {
    return Either.left(
      new NetworkError({
        ...base,
        reason: "InvalidResponse",
        description: "Azure Arc's WWW-Authenticate header is not a Basic realm naming a key file"
      })
    )
  }
  return Either.right({ _tag: "ArcChallenge", path })
}
