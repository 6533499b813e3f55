/**
 * The I/O of the managed-identity service: one HTTP exchange with a source's endpoint, the
 * source's retry policy around it, and Azure Arc's challenge-then-key round trip. What an
 * answer means is decided by the pure `response.ts`, the request by `source.ts`.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { MsalError } from "../../MsalError.js"
import { NetworkError } from "../../MsalError.js"
import * as Metrics from "../metrics.js"
import { parseRetryAfter } from "../protocol/tokenResponse.js"
import * as Transport from "../transport.js"
import * as Arc from "./arc.js"
import * as Response from "./response.js"
import * as Retry from "./retry.js"
import type { RequestInput, Source, SourceRequest } from "./source.js"
import * as Sources from "./source.js"

/** The grant name in metrics and cache bypass keys. @internal */
export const GRANT = "managed_identity"

/** Managed-identity answers are small; anything past this is not read. */
const MAX_BODY_BYTES = 64 * 1024

/**
 * What the exchanges of one managed-identity client are made with: its HTTP client (without
 * trace propagation), the Azure Arc platform (to read the challenge's key file) and the
 * per-attempt timeout.
 * @internal
 */
export interface Channel {
  readonly http: HttpClient.HttpClient
  readonly platform: Arc.ArcPlatform
  readonly attemptTimeout: Duration.Duration
}

/** A source request as an HTTP request; redacted header values are revealed only here. */
const toHttp = (request: SourceRequest): HttpClientRequest.HttpClientRequest => {
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k, Redacted.isRedacted(v) ? Redacted.value(v) : v])
  )
  const base = request.method === "GET" ? HttpClientRequest.get(request.url) : HttpClientRequest.post(request.url)
  const withHeaders = HttpClientRequest.setHeaders(base, headers)
  return request.form === undefined ? withHeaders : HttpClientRequest.bodyUrlParams(withHeaders, request.form)
}

/** One HTTP exchange: redirects not followed, secret headers redacted, bounded in time and size. */
const exchange = (
  channel: Channel,
  source: Source,
  request: SourceRequest
): Effect.Effect<Response.RawResponse, NetworkError> =>
  Effect.gen(function*() {
    const init = yield* Effect.serviceOption(FetchHttpClient.RequestInit)
    const response = yield* channel.http.execute(toHttp(request)).pipe(
      Effect.provideService(FetchHttpClient.RequestInit, { ...Option.getOrUndefined(init), redirect: "manual" }),
      Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...Sources.SECRET_HEADERS]),
      Effect.mapError(Transport.transportError(source.endpoint, "the managed identity endpoint"))
    )
    const body = yield* Transport.readBody(response, source.endpoint, MAX_BODY_BYTES)
    return { status: response.status, headers: response.headers, body } satisfies Response.RawResponse
  }).pipe(
    Effect.scoped,
    Transport.withAttemptTimeout(source.endpoint, channel.attemptTimeout)
  )

/** Sends a request, retried by the source's policy; the outcome of the last answer. */
const sendWithRetries = (
  channel: Channel,
  source: Source,
  input: RequestInput,
  arcChallengeAllowed: boolean
): Effect.Effect<Response.Outcome, MsalError> =>
  Effect.gen(function*() {
    const request = Sources.buildRequest(source, input)
    let first: number | undefined
    for (let retry = 0;; retry++) {
      const raw = yield* exchange(channel, source, request)
      const now = yield* Clock.currentTimeMillis
      first ??= raw.status
      yield* Metrics.request(GRANT, raw.status)
      const outcome = Response.interpret(source.name, source.endpoint, raw, now, arcChallengeAllowed)
      if (Either.isRight(outcome)) return outcome.right
      const delay = Retry.delayMillis(
        source.name,
        raw.status,
        retry,
        first,
        parseRetryAfter(raw.headers["retry-after"], now)
      )
      if (delay === undefined) return yield* outcome.left
      yield* Effect.logDebug("effect-msal: managed identity request retried").pipe(
        Effect.annotateLogs({ "msal.status": raw.status, "msal.retry": retry + 1, "msal.delay_ms": delay })
      )
      yield* Effect.sleep(Duration.millis(delay))
    }
  })

/**
 * A token from the source: Azure Arc answers a challenge first, then the key it names is
 * read and sent. @internal
 */
export const obtain = (
  channel: Channel,
  source: Source,
  input: RequestInput
): Effect.Effect<Response.Token, MsalError> =>
  Effect.gen(function*() {
    const outcome = yield* sendWithRetries(channel, source, input, true)
    if (outcome._tag === "Token") return outcome
    const key = yield* Arc.readKey(channel.platform, outcome.path, source.endpoint)
    const second = yield* sendWithRetries(channel, source, { ...input, arcKey: key }, false)
    if (second._tag === "Token") return second
    return yield* new NetworkError({
      reason: "InvalidResponse",
      url: source.endpoint,
      status: 401,
      description: "Azure Arc challenged again after the key was sent"
    })
  })
