import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Scope from "effect/Scope"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { Options } from "../ConfidentialClient.js"
import type { Service as Signer } from "../CredentialSigner.js"
import type { MsalError } from "../MsalError.js"
import { NetworkError } from "../MsalError.js"
import * as Metrics from "./metrics.js"
import * as Retry from "./retry.js"
import * as Throttle from "./throttle.js"
import * as Telemetry from "./protocol/telemetry.js"
import * as TokenRequest from "./protocol/tokenRequest.js"
import * as TokenResponse from "./protocol/tokenResponse.js"

/** The longest a token request may take, all attempts included, unless configured. @internal */
export const DEFAULT_TIMEOUT = Duration.seconds(30)
const DEFAULT_ATTEMPT_TIMEOUT = Duration.seconds(10)

/** Connection errors raised before a request is on the wire: safe to retry for any grant. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH"
])

/**
 * Marks on a failure (non-enumerable, so they are in no encoding; read through the proxies
 * Effect puts around failures inside spans): it happened before the request was sent, or
 * the request can never be sent (a malformed URL or body).
 */
const NotSent: unique symbol = Symbol.for("effect-msal/internal/NotSent")
const Unsendable: unique symbol = Symbol.for("effect-msal/internal/Unsendable")

const mark = (error: NetworkError, symbol: symbol): void => {
  Object.defineProperty(error, symbol, { value: true, enumerable: false })
}
const marked = (error: MsalError, symbol: symbol): boolean =>
  error._tag === "NetworkError" && (error as unknown as Record<symbol, unknown>)[symbol] === true

/** Marks a failure made of a refused redirect: the status and the origin it pointed to. */
const Redirect: unique symbol = Symbol.for("effect-msal/internal/Redirect")

interface RedirectInfo {
  readonly status: number
  readonly origin: string | undefined
}

const redirectOf = (error: HttpClientError.HttpClientError): RedirectInfo | undefined => {
  const info = (error as unknown as Record<symbol, unknown>)[Redirect]
  return Predicate.isRecord(info) ? info as unknown as RedirectInfo : undefined
}

/**
 * The origin a `Location` header points to (resolved against the request URL), never its
 * path or query, which may carry an authorization code or a user name.
 */
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
 * The client that every request to an authority, discovery, user-realm or IMDS endpoint goes
 * through: with `FetchHttpClient`, fetch is told not to follow redirects (`redirect: "manual"`
 * in the request init, whatever else it says; the fetch itself, a proxying one included, is
 * left as the layer chose it); with any client, a 3xx answer (or a browser's opaque redirect,
 * status 0) is refused as a `ResponseError` that `transportError` turns into a `NetworkError`
 * naming the status and the `Location`'s origin. Redirects are never followed because a
 * 307/308 would re-send the form (secret, code, refresh token) to the new origin, and any
 * redirect would have another origin's JSON accepted as the authority's answer. Its body is
 * never read. @internal
 */
export const refuseRedirects = (http: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.transformResponse(http, (effect) =>
    Effect.serviceOption(FetchHttpClient.RequestInit).pipe(
      Effect.flatMap((init) =>
        Effect.provideService(effect, FetchHttpClient.RequestInit, {
          ...Option.getOrUndefined(init),
          redirect: "manual"
        })
      ),
      Effect.flatMap((response) =>
        (response.status >= 300 && response.status < 400) || response.status === 0
          ? Effect.fail(refused(response))
          : Effect.succeed(response)
      )
    ))

const refused = (response: HttpClientResponse.HttpClientResponse): HttpClientError.ResponseError => {
  const origin = originOf(response.headers["location"], response.request.url)
  const error = new HttpClientError.ResponseError({
    request: response.request,
    response,
    reason: "StatusCode",
    description: "redirects are never followed"
  })
  Object.defineProperty(error, Redirect, { value: { status: response.status, origin }, enumerable: false })
  return error
}

/**
 * A refused redirect as a `NetworkError` (status 3xx, the `Location`'s origin only), or
 * `undefined` for any other failure. @internal
 */
export const redirectError = (url: string, error: HttpClientError.HttpClientError): NetworkError | undefined => {
  const info = redirectOf(error)
  if (info === undefined) return undefined
  const failure = new NetworkError({
    reason: "Status",
    url,
    status: info.status,
    description: `the answer was a redirect to ${
      info.origin ?? "an unnamed location"
    }, and redirects are never followed`
  })
  mark(failure, Unsendable)
  return failure
}

const codeOf = (cause: unknown): string | undefined =>
  Predicate.hasProperty(cause, "code") && typeof cause.code === "string"
    ? cause.code
    : Predicate.hasProperty(cause, "cause") && cause.cause !== cause
    ? codeOf(cause.cause)
    : undefined

/** One attempt's deadline: past it, a `NetworkError` `Timeout` naming the endpoint. @internal */
export const withAttemptTimeout =
  (url: string, duration: Duration.Duration) =>
  <A, E, R>(attempt: Effect.Effect<A, E, R>): Effect.Effect<A, E | NetworkError, R> =>
    Effect.timeoutFail(attempt, {
      duration,
      onTimeout: () =>
        new NetworkError({ reason: "Timeout", url, description: `no answer within ${Duration.format(duration)}` })
    })

/**
 * A platform transport failure as a `NetworkError`: the endpoint and the cause's message
 * and code (`ECONNREFUSED`, …), never the request (whose body holds secrets). @internal
 */
export const transportError =
  (url: string, host = "the authority") => (error: HttpClientError.HttpClientError): NetworkError => {
    const redirect = redirectError(url, error)
    if (redirect !== undefined) return redirect
    const cause = error.cause
    const code = codeOf(cause)
    const detail = cause instanceof Error ? `: ${cause.message}${code === undefined ? "" : ` (${code})`}` : ""
    const failure = new NetworkError({ reason: "Transport", url, description: `could not reach ${host}${detail}` })
    if (error._tag === "RequestError" && error.reason !== "Transport") mark(failure, Unsendable)
    else if (error._tag === "RequestError" && code !== undefined && NOT_SENT_CODES.has(code)) mark(failure, NotSent)
    return failure
  }

/** Whether a failed attempt may be sent again. @internal */
export const isRetryable = (idempotent: boolean) => {
  const byPolicy = Retry.isRetryable(idempotent)
  return (error: MsalError): boolean =>
    marked(error, Unsendable) ? false : marked(error, NotSent) ? true : byPolicy(error)
}

/** The longest a request may take, all attempts included: the `timeout` option, else 30 seconds. @internal */
export const timeoutOf = (options: Options): Duration.Duration =>
  options.timeout === undefined ? DEFAULT_TIMEOUT : Duration.decode(options.timeout)

/** The retry policy of the client options. @internal */
export const policyOf = (options: Options): Retry.RetryPolicy => {
  const retry = options.retry
  if (retry === false) return { ...Retry.DEFAULT_POLICY, maxAttempts: 1 }
  return {
    maxAttempts: retry?.maxAttempts ?? Retry.DEFAULT_POLICY.maxAttempts,
    baseDelay: retry?.baseDelay === undefined ? Retry.DEFAULT_POLICY.baseDelay : Duration.decode(retry.baseDelay),
    maxDelay: retry?.maxDelay === undefined ? Retry.DEFAULT_POLICY.maxDelay : Duration.decode(retry.maxDelay),
    maxRetryAfter: retry?.maxRetryAfter === undefined
      ? Retry.DEFAULT_POLICY.maxRetryAfter
      : Duration.decode(retry.maxRetryAfter)
  }
}

/** The HTTP request for a token request: a form POST with the request's headers. @internal */
export const toHttp = (
  request: TokenRequest.TokenRequest,
  form: ReadonlyArray<readonly [string, string]> = TokenRequest.formOf(request),
  lastTelemetry?: string | undefined
): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.post(request.endpoint).pipe(
    HttpClientRequest.setHeaders(TokenRequest.headersOf(request, lastTelemetry)),
    HttpClientRequest.bodyUrlParams(form)
  )

/** Token responses are a few kilobytes; anything past this is not read. @internal */
export const MAX_BODY_BYTES = 1024 * 1024

const tooLarge = (url: string, status: number, maxBytes: number) =>
  new NetworkError({
    reason: "InvalidResponse",
    url,
    status,
    description: `the response body is larger than ${maxBytes} bytes`
  })

/** The body as text, read as a stream and abandoned past `maxBytes` (token responses: `MAX_BODY_BYTES`). @internal */
export const readBody = (
  response: HttpClientResponse.HttpClientResponse,
  url: string,
  maxBytes: number = MAX_BODY_BYTES
): Effect.Effect<string, NetworkError> => {
  const declared = Number(response.headers["content-length"])
  if (Number.isFinite(declared) && declared > maxBytes) return Effect.fail(tooLarge(url, response.status, maxBytes))
  const chunks: Array<Uint8Array> = []
  let size = 0
  return Stream.runForEach(response.stream, (chunk) => {
    size += chunk.length
    if (size > maxBytes) return Effect.fail(tooLarge(url, response.status, maxBytes))
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

/**
 * Reads the token endpoint's answer and interprets it (`TokenResponse.interpret`); an
 * HTTP-date `Retry-After` is measured from when the answer came. @internal
 */
export const processResponse = (
  response: HttpClientResponse.HttpClientResponse,
  url: string
): Effect.Effect<TokenResponse.TokenResponse, MsalError> =>
  Effect.flatMap(
    readBody(response, url),
    (text) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        TokenResponse.interpret(
          { status: response.status, retryAfter: response.headers["retry-after"], text },
          url,
          now
        ))
  )

/** What `makeSend` is built from: the client's HTTP client, signer, scope, options and telemetry. @internal */
export interface SendDeps {
  readonly http: HttpClient.HttpClient
  readonly signer: Signer
  readonly scope: Scope.Scope
  readonly options: Options
  /** The client's server-side telemetry record (`x-client-last-telemetry`). */
  readonly telemetry: Telemetry.Record
}

/** What every token request of one client is sent with, resolved once from its options. */
interface Sender {
  /** The client's HTTP client, with redirects refused. */
  readonly http: HttpClient.HttpClient
  readonly signer: Signer
  readonly scope: Scope.Scope
  readonly telemetry: Telemetry.Record
  readonly timeout: Duration.Duration
  readonly attemptTimeout: Duration.Duration
  readonly schedule: Schedule.Schedule<unknown, MsalError>
  readonly throttle: Throttle.Throttle
  /** Runs an effect with the routing header (`x-anchormailbox`) kept out of spans, unless PII logging is on. */
  readonly redactPii: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/** The per-attempt timeout: the `attemptTimeout` option, else 10 seconds but never past the overall timeout. */
const attemptTimeoutOf = (options: Options, timeout: Duration.Duration): Duration.Duration =>
  options.attemptTimeout === undefined
    ? Duration.min(DEFAULT_ATTEMPT_TIMEOUT, timeout)
    : Duration.decode(options.attemptTimeout)

/** Resolves the client's options once into what each send needs. */
const senderOf = (deps: SendDeps): Sender => {
  const { options } = deps
  const timeout = timeoutOf(options)
  return {
    http: refuseRedirects(deps.http),
    signer: deps.signer,
    scope: deps.scope,
    telemetry: deps.telemetry,
    timeout,
    attemptTimeout: attemptTimeoutOf(options, timeout),
    schedule: Retry.schedule(policyOf(options)),
    throttle: Throttle.make(),
    // the routing header names the user (`upn:…`, `Oid:…`): keep it out of spans unless allowed
    redactPii: (effect) =>
      options.enablePiiLog === true
        ? effect
        : Effect.locallyWith(effect, Headers.currentRedactedNames, (names) => [...names, "x-anchormailbox"])
  }
}

/** One attempt: send, count it in the metrics, read and interpret the answer, within the per-attempt timeout. */
const attemptOnce = (
  sender: Sender,
  request: TokenRequest.TokenRequest,
  httpRequest: HttpClientRequest.HttpClientRequest
): Effect.Effect<TokenResponse.TokenResponse, MsalError> =>
  sender.redactPii(sender.http.execute(httpRequest)).pipe(
    Effect.onExit((exit) => Metrics.attempt(request.grant.grant_type, exit)),
    Effect.mapError(transportError(request.endpoint)),
    Effect.flatMap((response) => processResponse(response, request.endpoint)),
    withAttemptTimeout(request.endpoint, sender.attemptTimeout)
  )

/**
 * The throttle check, then the attempts retried by policy; the outcome is recorded in the
 * throttle and in the telemetry record (a server error's code, for the next request's header).
 */
const throttledAttempts = (
  sender: Sender,
  request: TokenRequest.TokenRequest,
  keys: Throttle.Keys,
  attempt: Effect.Effect<TokenResponse.TokenResponse, MsalError>
): Effect.Effect<TokenResponse.TokenResponse, MsalError> =>
  Effect.gen(function*() {
    const { telemetry, throttle } = sender
    const blocked = throttle.check(keys, yield* Clock.currentTimeMillis)
    if (blocked !== undefined) return yield* Effect.fail(blocked)
    return yield* attempt.pipe(
      Effect.retry({ schedule: sender.schedule, while: isRetryable(request.idempotent ?? true) }),
      Effect.tapError((error) => Effect.map(Clock.currentTimeMillis, (now) => throttle.record(keys, error, now))),
      Effect.tap(() => Effect.sync(() => Telemetry.succeeded(telemetry))),
      Effect.tapErrorTag(
        "ServerError",
        (e) => Effect.sync(() => Telemetry.failed(telemetry, request.apiId, request.correlationId, e.error))
      )
    )
  })

/** Sends one token request with the client's sender (see `makeSend`). */
const sendWith = (
  sender: Sender,
  request: TokenRequest.TokenRequest
): Effect.Effect<TokenResponse.TokenResponse, MsalError> => {
  const form = TokenRequest.formOf(request)
  const httpRequest = toHttp(request, form, Telemetry.lastHeader(sender.telemetry))
  let attempts = 0
  const attempt = Effect.suspend(() => {
    attempts++
    return attemptOnce(sender, request, httpRequest)
  })
  return throttledAttempts(sender, request, Throttle.keysOf(request.endpoint, form), attempt).pipe(
    Effect.timeoutFail({
      duration: sender.timeout,
      onTimeout: () =>
        new NetworkError({
          reason: "Timeout",
          url: request.endpoint,
          description: `no token within ${Duration.format(sender.timeout)}`
        })
    }),
    Effect.tapErrorTag(
      "ServerError",
      (e) =>
        e.error === "invalid_client" ? Effect.forkIn(Effect.ignore(sender.signer.reload), sender.scope) : Effect.void
    ),
    Effect.ensuring(Effect.suspend(() => Effect.annotateCurrentSpan("msal.attempts", attempts))),
    Effect.withSpan("ConfidentialClient.tokenRequest", {
      attributes: { "msal.api_id": request.apiId, "msal.refresh_reason": request.reason }
    })
  )
}

/**
 * Sends token requests: throttle check, then attempts with a per-attempt timeout, retried by
 * policy (honouring `Retry-After`), under an overall timeout. Every failure is an `MsalError`.
 * @internal
 */
export const makeSend = (
  deps: SendDeps
): (request: TokenRequest.TokenRequest) => Effect.Effect<TokenResponse.TokenResponse, MsalError> => {
  const sender = senderOf(deps)
  return (request) => sendWith(sender, request)
}
