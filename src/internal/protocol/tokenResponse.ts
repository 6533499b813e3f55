import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { NetworkError, ServerError } from "../../MsalError.js"

/**
 * The longest lifetime accepted in a token response: one year. Entra's access tokens live
 * 60–90 minutes ("Configurable token lifetimes in the Microsoft identity platform": at most
 * one day); anything longer than a year is a broken or hostile answer, not a token to cache.
 * @internal
 */
export const MAX_LIFETIME_SECONDS = 365 * 24 * 3600

/** A lifetime in seconds: an integer, or an integer string (Entra's v1 endpoints and ADFS send strings). */
const Seconds = Schema.Union(Schema.Int, Schema.NumberFromString.pipe(Schema.int()))

/** A successful token response (RFC 6749 §5.1 plus Entra's `ext_expires_in`, `refresh_in`, `client_info`, `foci`). @internal */
export const TokenResponse = Schema.Struct({
  /**
   * The token: not empty, not only white space. Absent only in a sign-in answer that carries
   * an ID token (see `interpret`).
   */
  access_token: Schema.optional(Schema.Redacted(Schema.String.pipe(Schema.pattern(/\S/)))),
  token_type: Schema.optional(Schema.String),
  expires_in: Schema.optional(Seconds),
  ext_expires_in: Schema.optional(Seconds),
  refresh_in: Schema.optional(Seconds),
  expires_on: Schema.optional(Seconds),
  scope: Schema.optional(Schema.String),
  refresh_token: Schema.optional(Schema.Redacted(Schema.String)),
  id_token: Schema.optional(Schema.Redacted(Schema.String)),
  client_info: Schema.optional(Schema.String),
  foci: Schema.optional(Schema.String)
})

/** @internal */
export type TokenResponse = Schema.Schema.Type<typeof TokenResponse>

/** A token response that carries an access token (every answer but a sign-in's). @internal */
export type Issued = TokenResponse & { readonly access_token: Redacted.Redacted<string> }

/** Whether the answer carries an access token. @internal */
export const isIssued = (token: TokenResponse): token is Issued => token.access_token !== undefined

const decodeToken = Schema.decodeUnknownEither(TokenResponse)

/** `Retry-After` in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3), relative to `now`. @internal */
export const parseRetryAfter = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMillis) / 1000))
}

const paths = (error: ParseResult.ParseError): string =>
  Array.from(new Set(ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => i.path.join(".") || "(body)")))
    .join(", ")

/** What the transport read: the status, the headers that matter, and the body as text. @internal */
export interface RawResponse {
  readonly status: number
  readonly retryAfter?: string | undefined
  readonly text: string
}

const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

/**
 * The fields of an OAuth error body (RFC 6749 §5.2 plus Entra's), read leniently: a field of
 * an unexpected type is left out rather than losing the error. Entra sends `error_codes` as
 * numbers; some providers send strings (`["AADSTS90014"]`) or `null` descriptions.
 */
const oauthError = (json: unknown) => {
  if (!Predicate.isRecord(json) || typeof json.error !== "string" || json.error.length === 0) return undefined
  const codes = Array.isArray(json.error_codes)
    ? json.error_codes.flatMap((c) => {
      const n = typeof c === "number" ? c : typeof c === "string" ? Number(c.replace(/^AADSTS/i, "")) : NaN
      return Number.isSafeInteger(n) && n >= 0 ? [n] : []
    })
    : undefined
  const info = Array.isArray(json.error_additional_info)
    ? json.error_additional_info.filter((i): i is string => typeof i === "string")
    : typeof json.error_additional_info === "string"
    ? [json.error_additional_info]
    : undefined
  return {
    error: json.error,
    errorAdditionalInfo: info !== undefined && info.length > 0 ? info : undefined,
    errorDescription: text(json.error_description),
    errorCodes: codes !== undefined && codes.length > 0 ? codes : undefined,
    suberror: text(json.suberror),
    claims: text(json.claims),
    correlationId: text(json.correlation_id),
    traceId: text(json.trace_id)
  }
}

/** The fields every error of one answer shares: the endpoint, the status, `Retry-After` if sent. */
interface ErrorBase {
  readonly url: string
  readonly status: number
  readonly retryAfter?: number
}

const notJson = (raw: RawResponse, base: ErrorBase) => {
  const what = raw.text.trimStart().startsWith("<")
    ? "an HTML page"
    : raw.text.length === 0
    ? "an empty body"
    : "a body that is not JSON"
  const status = raw.status
  return new NetworkError({
    ...base,
    reason: status >= 500 || status === 408 || status === 429 ? "Status" : "InvalidResponse",
    description: `the authority answered with ${what}`
  })
}

/**
 * Checks every lifetime of a decoded response: positive and at most a year (`expires_on`: in
 * the future, at most a year ahead). Only the field's name goes into the error.
 */
const checkLifetimes = (token: TokenResponse, nowSeconds: number): string | undefined => {
  for (const field of ["expires_in", "ext_expires_in", "refresh_in"] as const) {
    const value = token[field]
    if (value !== undefined && (value <= 0 || value > MAX_LIFETIME_SECONDS)) return field
  }
  const on = token.expires_on
  if (on !== undefined && (on <= nowSeconds || on - nowSeconds > MAX_LIFETIME_SECONDS)) return "expires_on"
  return undefined
}

/** An OAuth error body as a `ServerError`, carrying only the fields the body actually had. */
const serverError = (error: NonNullable<ReturnType<typeof oauthError>>, base: ErrorBase): ServerError =>
  new ServerError({
    error: error.error,
    status: base.status,
    ...(error.errorDescription === undefined ? {} : { errorDescription: error.errorDescription }),
    ...(error.errorCodes === undefined ? {} : { errorCodes: error.errorCodes }),
    ...(error.suberror === undefined ? {} : { suberror: error.suberror }),
    ...(error.errorAdditionalInfo === undefined ? {} : { errorAdditionalInfo: error.errorAdditionalInfo }),
    ...(error.claims === undefined ? {} : { claims: error.claims }),
    ...(error.correlationId === undefined ? {} : { correlationId: error.correlationId }),
    ...(error.traceId === undefined ? {} : { traceId: error.traceId }),
    ...(base.retryAfter === undefined ? {} : { retryAfter: base.retryAfter })
  })

/**
 * A 2xx body without an OAuth error, decoded and its lifetimes checked: the token response, or
 * a `NetworkError` naming only the offending fields.
 */
const decodeSuccess = (
  json: unknown,
  base: ErrorBase,
  nowMillis: number
): Either.Either<TokenResponse, NetworkError> =>
  Either.flatMap(
    Either.mapLeft(decodeToken(json), (e) =>
      new NetworkError({
        ...base,
        reason: "InvalidResponse",
        description: `the token response has missing or invalid fields: ${paths(e)}`
      })),
    (token) => {
      // RFC 6749 §5.1 requires `access_token`; an answer with only an ID token is a sign-in
      // (Azure AD B2C answers so when asked for `openid offline_access` alone): the grant decides
      if (token.access_token === undefined && token.id_token === undefined) {
        return Either.left(
          new NetworkError({
            ...base,
            reason: "InvalidResponse",
            description: "the token response has missing or invalid fields: access_token"
          })
        )
      }
      const bad = checkLifetimes(token, Math.floor(nowMillis / 1000))
      return bad === undefined ? Either.right(token) : Either.left(
        new NetworkError({
          ...base,
          reason: "InvalidResponse",
          description: `the token response's ${bad} is not a lifetime between 1 second and 1 year`
        })
      )
    }
  )

/**
 * Turns the token endpoint's answer into a token response or a typed error, with no I/O:
 * an OAuth error body (whatever the status, a 200 included) is a `ServerError`; a 5xx, a
 * non-JSON body, a success without a usable `access_token` or with a lifetime out of range
 * is a `NetworkError`. Only field names, never values, go into error descriptions.
 * @internal
 */
export const interpret = (
  raw: RawResponse,
  url: string,
  nowMillis: number
): Either.Either<TokenResponse, ServerError | NetworkError> => {
  const status = raw.status
  const retryAfter = parseRetryAfter(raw.retryAfter, nowMillis)
  const base: ErrorBase = { url, status, ...(retryAfter === undefined ? {} : { retryAfter }) }
  let json: unknown
  try {
    json = JSON.parse(raw.text)
  } catch {
    return Either.left(notJson(raw, base))
  }
  const error = oauthError(json)
  if (status >= 500) {
    const code = error === undefined ? "" : ` (${error.error})`
    return Either.left(
      new NetworkError({ ...base, reason: "Status", description: `the authority is unavailable${code}` })
    )
  }
  if (error !== undefined) return Either.left(serverError(error, base))
  if (status < 200 || status >= 300) {
    return Either.left(
      new NetworkError({
        ...base,
        reason: "InvalidResponse",
        description: "the authority answered with an unexpected status and no OAuth error"
      })
    )
  }
  return decodeSuccess(json, base, nowMillis)
}
