import type { HttpClientResponse } from "@effect/platform"
import { Effect, Either, ParseResult, Predicate, Schema, Stream } from "effect"
import { NetworkError, ServerError } from "../MsalError.js"

const Seconds = Schema.Union(Schema.Int, Schema.NumberFromString.pipe(Schema.int()))

/** A successful token response (RFC 6749 §5.1 plus Entra's fields). @internal */
export const TokenResponse = Schema.Struct({
  access_token: Schema.Redacted(Schema.NonEmptyString),
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

const ErrorBody = Schema.Struct({
  error: Schema.String,
  error_description: Schema.optional(Schema.String),
  error_codes: Schema.optional(Schema.Array(Schema.Number)),
  suberror: Schema.optional(Schema.String),
  claims: Schema.optional(Schema.String),
  correlation_id: Schema.optional(Schema.String),
  trace_id: Schema.optional(Schema.String)
})

const decodeToken = Schema.decodeUnknownEither(TokenResponse)
const decodeError = Schema.decodeUnknownEither(ErrorBody)

/** `Retry-After` in seconds: delta-seconds or an HTTP date, relative to `now`. @internal */
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

/**
 * Turns the token endpoint's answer into a token response or a typed error:
 * an OAuth error body (whatever the status, a 200 included) is a `ServerError`; a 5xx, a
 * non-JSON body or a success without a usable `access_token` is a `NetworkError`.
 * Only field names, never values, go into error descriptions.
 * @internal
 */
export const process = (
  response: HttpClientResponse.HttpClientResponse,
  url: string,
  nowMillis: number
): Effect.Effect<TokenResponse, ServerError | NetworkError> =>
  Effect.flatMap(readBody(response, url), (text) => Effect.suspend(() => interpret(response, text, url, nowMillis)))

/** Token responses are a few kilobytes; anything past this is not read. @internal */
export const MAX_BODY_BYTES = 1024 * 1024

const tooLarge = (url: string, status: number) =>
  new NetworkError({
    reason: "InvalidResponse",
    url,
    status,
    description: `the response body is larger than ${MAX_BODY_BYTES} bytes`
  })

/** The body as text, read as a stream and abandoned past `MAX_BODY_BYTES`. */
const readBody = (response: HttpClientResponse.HttpClientResponse, url: string): Effect.Effect<string, NetworkError> => {
  const declared = Number(response.headers["content-length"])
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return Effect.fail(tooLarge(url, response.status))
  const chunks: Array<Uint8Array> = []
  let size = 0
  return Stream.runForEach(response.stream, (chunk) => {
    size += chunk.length
    if (size > MAX_BODY_BYTES) return Effect.fail(tooLarge(url, response.status))
    chunks.push(chunk)
    return Effect.void
  }).pipe(
    Effect.catchTag("ResponseError", () =>
      Effect.fail(
        new NetworkError({
          reason: "Transport",
          url,
          status: response.status,
          description: "the connection failed while reading the response body"
        })
      )),
    Effect.map(() => Buffer.concat(chunks).toString("utf8"))
  )
}

const interpret = (
  response: HttpClientResponse.HttpClientResponse,
  text: string,
  url: string,
  nowMillis: number
): Effect.Effect<TokenResponse, ServerError | NetworkError> => {
  const status = response.status
  const retryAfter = parseRetryAfter(response.headers["retry-after"], nowMillis)
  const base = { url, status, ...(retryAfter === undefined ? {} : { retryAfter }) }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    const what = text.trimStart().startsWith("<") ? "an HTML page" : text.length === 0 ? "an empty body" : "a body that is not JSON"
    return Effect.fail(
      new NetworkError({
        ...base,
        reason: status >= 500 || status === 408 || status === 429 ? "Status" : "InvalidResponse",
        description: `the authority answered with ${what}`
      })
    )
  }
  const oauthError = Predicate.isRecord(json) && typeof json.error === "string" ? decodeError(json) : undefined
  if (status >= 500) {
    const code = oauthError !== undefined && Either.isRight(oauthError) ? ` (${oauthError.right.error})` : ""
    return Effect.fail(new NetworkError({ ...base, reason: "Status", description: `the authority is unavailable${code}` }))
  }
  if (oauthError !== undefined && Either.isRight(oauthError)) {
    const e = oauthError.right
    return Effect.fail(
      new ServerError({
        error: e.error,
        status,
        ...(e.error_description === undefined ? {} : { errorDescription: e.error_description }),
        ...(e.error_codes === undefined ? {} : { errorCodes: e.error_codes }),
        ...(e.suberror === undefined ? {} : { suberror: e.suberror }),
        ...(e.claims === undefined ? {} : { claims: e.claims }),
        ...(e.correlation_id === undefined ? {} : { correlationId: e.correlation_id }),
        ...(e.trace_id === undefined ? {} : { traceId: e.trace_id }),
        ...(retryAfter === undefined ? {} : { retryAfter })
      })
    )
  }
  if (status < 200 || status >= 300) {
    return Effect.fail(
      new NetworkError({ ...base, reason: "InvalidResponse", description: "the authority answered with an unexpected status and no OAuth error" })
    )
  }
  const decoded = decodeToken(json)
  if (Either.isLeft(decoded)) {
    return Effect.fail(
      new NetworkError({
        ...base,
        reason: "InvalidResponse",
        description: `the token response has missing or invalid fields: ${paths(decoded.left)}`
      })
    )
  }
  return Effect.succeed(decoded.right)
}
