import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, Layer, Logger, LogLevel, Option, Redacted, TestClock } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Telemetry from "../src/internal/protocol/telemetry.js"
import * as Transport from "../src/internal/transport.js"
import { makeRecorder } from "./support/recording.js"
import {
  authority,
  BY_TENANT_ID,
  CLIENT_ID,
  client,
  GRAPH,
  SECRET,
  testLayer,
  tokenRequestCount
} from "./support/harness.js"

const acquire = (request: ConfidentialClient.ClientCredentialsRequest) =>
  Effect.flatMap(client, (c) => c.acquireTokenForClient(request))

const enqueue = (...responses: ReadonlyArray<TestAuthority.ScriptedResponse>) =>
  Effect.flatMap(authority, (a) => a.enqueue(...responses))

/** Lets forked fibers run to their next wait. */
const settle = TestClock.adjust(0)

/** Forks an acquisition and returns a handle to its outcome. */
const start = (request: ConfidentialClient.ClientCredentialsRequest = { scopes: [GRAPH] }) =>
  Effect.fork(Effect.either(acquire(request)))

const noJitter = { client: { retry: { baseDelay: "1 second", maxDelay: "4 seconds" } } } as const

describe("retries", () => {
  it.effect("503, 503, then 200: success after three attempts with exponential backoff", () =>
    Effect.gen(function*() {
      yield* enqueue({ status: 503, body: "" }, { status: 503, body: "" })
      const fiber = yield* start()
      yield* settle
      expect(yield* tokenRequestCount).toBe(1)
      // first backoff 1 s ± 20%: the retry is sent between 0.8 s and 1.2 s
      yield* TestClock.adjust("0.79 seconds")
      expect(yield* tokenRequestCount).toBe(1)
      yield* TestClock.adjust("0.42 seconds") // 1.21 s
      expect(yield* tokenRequestCount).toBe(2)
      // second backoff 2 s ± 20% after it: between 2.4 s and 3.6 s from the start
      yield* TestClock.adjust("1.18 seconds") // 2.39 s
      expect(yield* tokenRequestCount).toBe(2)
      yield* TestClock.adjust("1.22 seconds") // 3.61 s
      expect(yield* tokenRequestCount).toBe(3)
      const outcome = yield* Fiber.join(fiber)
      expect(Either.isRight(outcome) && outcome.right.tokenSource).toBe("identity_provider")
      const requests = yield* Effect.flatMap(authority, (a) => a.tokenRequests)
      expect(new Set(requests.map((r) => r.headers["client-request-id"])).size).toBe(1)
    }).pipe(Effect.provide(testLayer(noJitter))))

  for (const status of [408, 429, 500, 502, 504]) {
    it.effect(`${status} is retried`, () =>
      Effect.gen(function*() {
        yield* enqueue({ status, body: "" })
        const fiber = yield* start()
        yield* TestClock.adjust("2 seconds")
        expect(Either.isRight(yield* Fiber.join(fiber))).toBe(true)
        expect(yield* tokenRequestCount).toBe(2)
      }).pipe(Effect.provide(testLayer(noJitter))))
  }

  it.effect("a dropped connection is retried", () =>
    Effect.gen(function*() {
      yield* enqueue({ status: 0, fault: "disconnect" }, {
        status: 200,
        fault: "disconnectDuringBody",
        body: { access_token: "x".repeat(100), expires_in: 3600 }
      })
      const fiber = yield* start()
      yield* TestClock.adjust("4 seconds")
      expect(Either.isRight(yield* Fiber.join(fiber))).toBe(true)
      expect(yield* tokenRequestCount).toBe(3)
    }).pipe(Effect.provide(testLayer(noJitter))))

  it.effect("Retry-After in seconds is honoured exactly", () =>
    Effect.gen(function*() {
      yield* enqueue({ status: 429, body: { error: "too_many_requests" }, headers: { "retry-after": "7" } })
      const fiber = yield* start()
      yield* TestClock.adjust("6.9 seconds")
      expect(yield* tokenRequestCount).toBe(1)
      yield* TestClock.adjust("0.1 seconds")
      expect(yield* tokenRequestCount).toBe(2)
      expect(Either.isRight(yield* Fiber.join(fiber))).toBe(true)
    }).pipe(Effect.provide(testLayer(noJitter))))

  it.effect("Retry-After as an HTTP date is honoured", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-11-22T10:00:00Z"))
      yield* enqueue({ status: 503, body: "", headers: { "retry-after": "Sun, 22 Nov 2026 10:00:05 GMT" } })
      const fiber = yield* start()
      yield* TestClock.adjust("4.9 seconds")
      expect(yield* tokenRequestCount).toBe(1)
      yield* TestClock.adjust("0.1 seconds")
      expect(yield* tokenRequestCount).toBe(2)
      expect(Either.isRight(yield* Fiber.join(fiber))).toBe(true)
    }).pipe(Effect.provide(testLayer(noJitter))))

  it.effect("a Retry-After beyond maxRetryAfter is not waited for: the error comes back, and the window throttles", () =>
    Effect.gen(function*() {
      yield* enqueue({ status: 429, body: { error: "too_many_requests" }, headers: { "retry-after": "120" } })
      const error = yield* Effect.flip(acquire({ scopes: [GRAPH] }))
      expect(error).toMatchObject({ _tag: "ServerError", status: 429, retryAfter: 120 })
      yield* TestClock.adjust("119 seconds")
      const throttled = yield* Effect.flip(acquire({ scopes: [GRAPH] }))
      expect(throttled._tag).toBe("Throttled")
      expect(throttled._tag === "Throttled" && throttled.retryAt.getTime()).toBe(120_000)
      expect(yield* tokenRequestCount).toBe(1)
      // other scopes are not throttled
      expect((yield* acquire({ scopes: ["https://vault.azure.net/.default"] })).tokenSource).toBe("identity_provider")
      yield* TestClock.adjust("1 second")
      expect((yield* acquire({ scopes: [GRAPH] })).tokenSource).toBe("identity_provider")
    }).pipe(Effect.provide(testLayer(noJitter))))

  it.effect("attempts are bounded; then a 5xx throttles identical requests for 5 seconds", () =>
    Effect.gen(function*() {
      yield* enqueue({ status: 503, body: "" }, { status: 503, body: "" }, { status: 503, body: "" })
      const fiber = yield* start()
      yield* TestClock.adjust("4 seconds")
      const outcome = yield* Fiber.join(fiber)
      expect(Either.isLeft(outcome) && outcome.left).toMatchObject({
        _tag: "NetworkError",
        reason: "Status",
        status: 503
      })
      expect(yield* tokenRequestCount).toBe(3)
      // the last attempt failed about 3 s after the first (1 s + 2 s of backoff); its window is 5 s
      const throttled = yield* Effect.flip(acquire({ scopes: [GRAPH] }))
      expect(throttled._tag).toBe("Throttled")
      yield* TestClock.adjust("5 seconds")
      expect((yield* acquire({ scopes: [GRAPH] })).tokenSource).toBe("identity_provider")
      expect(yield* tokenRequestCount).toBe(4)
    }).pipe(Effect.provide(testLayer(noJitter))))

  it.effect("a 400 for the same body is replayed for 60 seconds without a request", () =>
    Effect.gen(function*() {
      const first = yield* Effect.flip(acquire({ scopes: ["User.Read"] }))
      const again = yield* Effect.flip(acquire({ scopes: ["User.Read"] }))
      expect(first).toMatchObject({ _tag: "ServerError", error: "invalid_scope" })
      expect(again).toMatchObject({
        _tag: "ServerError",
        error: "invalid_scope",
        correlationId: (first as { correlationId?: string }).correlationId
      })
      expect(yield* tokenRequestCount).toBe(1)
      yield* Effect.flip(acquire({ scopes: ["Mail.Read"] }))
      expect(yield* tokenRequestCount).toBe(2)
      yield* TestClock.adjust("60 seconds")
      yield* Effect.flip(acquire({ scopes: ["User.Read"] }))
      expect(yield* tokenRequestCount).toBe(3)
    }).pipe(Effect.provide(testLayer())))

  it.effect("OAuth errors other than 429 are not retried", () =>
    Effect.gen(function*() {
      yield* enqueue({ status: 401, body: { error: "invalid_client" } })
      expect((yield* Effect.flip(acquire({ scopes: [GRAPH] })))._tag).toBe("ServerError")
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("retry: false sends one attempt", () =>
    Effect.gen(function*() {
      yield* enqueue({ status: 503, body: "" })
      expect((yield* Effect.flip(acquire({ scopes: [GRAPH] })))._tag).toBe("NetworkError")
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer({ client: { retry: false } }))))

  it.effect("maxAttempts bounds the attempts", () =>
    Effect.gen(function*() {
      yield* enqueue(...Array.from({ length: 6 }, () => ({ status: 502, body: "" })))
      const fiber = yield* start()
      yield* TestClock.adjust("1 minute")
      expect(Either.isLeft(yield* Fiber.join(fiber))).toBe(true)
      expect(yield* tokenRequestCount).toBe(5)
    }).pipe(
      Effect.provide(
        testLayer({ client: { retry: { maxAttempts: 5, baseDelay: "100 millis" }, timeout: "2 minutes" } })
      )
    ))
})

describe("non-idempotent requests (authorization codes, refresh tokens)", () => {
  /** Sends one token request through the real transport with a scripted HttpClient. */
  const sendOnce = (idempotent: boolean, responses: ReadonlyArray<TestAuthority.ScriptedResponse>) =>
    Effect.gen(function*() {
      const a = yield* TestAuthority.make()
      yield* a.enqueue(...responses)
      const http = yield* Effect.provide(
        HttpClient.HttpClient,
        Layer.provide(TestAuthority.layerHttpClient, Layer.succeed(TestAuthority.TestAuthority, a))
      )
      const send = Transport.makeSend({
        http,
        signer: { clientAuth: () => Effect.succeed({}), reload: Effect.void },
        scope: yield* Effect.scope,
        options: { clientId: CLIENT_ID, retry: { baseDelay: "1 second" } },
        telemetry: Telemetry.make()
      })
      const fiber = yield* Effect.fork(Effect.either(send({
        endpoint: "https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
        clientId: CLIENT_ID,
        grant: { grant_type: "authorization_code", code: Redacted.make("the-code") },
        auth: {},
        headers: {},
        correlationId: "c",
        apiId: 832,
        reason: 0,
        idempotent
      })))
      yield* TestClock.adjust("10 seconds")
      return { outcome: yield* Fiber.join(fiber), sent: (yield* a.tokenRequests).length }
    })

  it.scoped("a 503 is not retried: the code may have been redeemed", () =>
    Effect.gen(function*() {
      const { outcome, sent } = yield* sendOnce(false, [{ status: 503, body: "" }])
      expect(Either.isLeft(outcome)).toBe(true)
      expect(sent).toBe(1)
    }))

  it.scoped("a connection that broke during the answer is not retried", () =>
    Effect.gen(function*() {
      const { outcome, sent } = yield* sendOnce(false, [{
        status: 200,
        fault: "disconnectDuringBody",
        body: { access_token: "a".repeat(64) }
      }])
      expect(Either.isLeft(outcome) && outcome.left).toMatchObject({
        _tag: "NetworkError",
        reason: "Transport",
        status: 200
      })
      expect(sent).toBe(1)
    }))

  it.scoped("a connection refused before anything was sent is retried", () =>
    Effect.gen(function*() {
      const { outcome, sent } = yield* sendOnce(false, [{ status: 0, fault: "refuse" }])
      expect(Either.isRight(outcome)).toBe(false) // the authority has no authorization_code handler here
      expect(sent).toBe(2)
    }))

  it.scoped("a connection dropped after the request was sent is not retried: the code may have arrived", () =>
    Effect.gen(function*() {
      const { outcome, sent } = yield* sendOnce(false, [{ status: 0, fault: "disconnect" }])
      expect(Either.isLeft(outcome) && outcome.left).toMatchObject({ _tag: "NetworkError", reason: "Transport" })
      expect(sent).toBe(1)
    }))

  it.scoped("both are retried for an idempotent request", () =>
    Effect.gen(function*() {
      const { sent } = yield* sendOnce(true, [{ status: 0, fault: "disconnect" }, { status: 0, fault: "refuse" }])
      expect(sent).toBe(3)
    }))

  it.scoped("the same 503 is retried for an idempotent request", () =>
    Effect.gen(function*() {
      const { sent } = yield* sendOnce(true, [{ status: 503, body: "" }])
      expect(sent).toBe(2)
    }))
})

describe("timeouts and cancellation", () => {
  it.effect("a slow attempt is abandoned after attemptTimeout and retried", () =>
    Effect.gen(function*() {
      yield* enqueue({ status: 200, body: { access_token: "slow", expires_in: 3600 }, delay: "1 minute" })
      const fiber = yield* start()
      yield* TestClock.adjust("2 seconds")
      expect(yield* tokenRequestCount).toBe(1)
      yield* TestClock.adjust("1.5 seconds") // 2 s timeout + 1 s ± 20% backoff
      expect(yield* tokenRequestCount).toBe(2)
      const outcome = yield* Fiber.join(fiber)
      expect(Either.isRight(outcome) && Redacted.value(outcome.right.accessToken)).not.toBe("slow")
    }).pipe(Effect.provide(testLayer({ client: { attemptTimeout: "2 seconds", retry: { baseDelay: "1 second" } } }))))

  it.effect("the overall timeout bounds all attempts (default 30 s)", () =>
    Effect.gen(function*() {
      const fiber = yield* start()
      yield* TestClock.adjust("29 seconds")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 second")
      const outcome = yield* Fiber.join(fiber)
      expect(Either.isLeft(outcome) && outcome.left).toMatchObject({ _tag: "NetworkError", reason: "Timeout" })
    }).pipe(Effect.provide(testLayer({ authority: { latency: "1 hour" } }))))

  it.effect("interrupting the only caller aborts the request", () =>
    Effect.gen(function*() {
      const fiber = yield* start()
      yield* TestClock.adjust("1 second")
      expect(yield* tokenRequestCount).toBe(1)
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("10 seconds")
      expect((yield* Effect.flatMap(authority, (a) => a.issued)).length).toBe(0)
      // nothing is left in flight: the next call starts a new request
      const next = yield* start()
      yield* TestClock.adjust("5 seconds")
      expect(Either.isRight(yield* Fiber.join(next))).toBe(true)
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer({ client: { authority: BY_TENANT_ID }, authority: { latency: "5 seconds" } }))))

  it.effect("one waiter's own timeout does not fail the others", () =>
    Effect.gen(function*() {
      const impatient = yield* Effect.fork(Effect.either(acquire({ scopes: [GRAPH] }).pipe(Effect.timeout("1 second"))))
      const patient = yield* start()
      yield* TestClock.adjust("1 second")
      expect(Exit.isSuccess(yield* Fiber.await(impatient))).toBe(true)
      const impatientOutcome = yield* Fiber.join(impatient)
      expect(Either.isLeft(impatientOutcome)).toBe(true)
      yield* TestClock.adjust("4 seconds")
      expect(Either.isRight(yield* Fiber.join(patient))).toBe(true)
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer({ client: { authority: BY_TENANT_ID }, authority: { latency: "5 seconds" } }))))
})

describe("background refresh", () => {
  it.effect("a failed background refresh is logged inside its span, with no secret", () =>
    Effect.gen(function*() {
      const recorder = yield* makeRecorder
      yield* Effect.gen(function*() {
        yield* acquire({ scopes: [GRAPH] })
        yield* enqueue({ status: 400, body: { error: "invalid_request", error_description: "nope" } })
        yield* TestClock.adjust("1801 seconds")
        expect((yield* acquire({ scopes: [GRAPH] })).tokenSource).toBe("cache")
        yield* settle
      }).pipe(Effect.provide(recorder.layer), Logger.withMinimumLogLevel(LogLevel.All))
      const span = recorder.spans.find((s) => s.name === "ConfidentialClient.backgroundRefresh")
      expect(span).toBeDefined()
      expect(span!.events.map(([name]) => name)).toContain(
        "background token refresh failed; the cached token is still served"
      )
      expect(span!.attributes.get("msal.background_refresh_error")).toBe("ServerError")
      expect(recorder.logs.join("\n")).not.toContain(SECRET)
    }).pipe(Effect.provide(testLayer({ authority: { expiresIn: 3600, refreshIn: 1800 } }))))
})

describe("soak", () => {
  // 20 concurrent callers for each of 100 keys: enough that every key's callers share flights
  // (without single-flight there would be about 2,000 requests, not at most 3 per key) while
  // faults are retried; 10,000 callers showed nothing more and outlasted the 30 s timeout
  // on a loaded machine.
  const KEYS = 100
  const CALLERS = KEYS * 20
  it.live("2,000 concurrent acquisitions over 100 keys with 10% injected faults", () =>
    Effect.gen(function*() {
      const a = yield* TestAuthority.make({ latency: "5 millis" })
      let seed = 42
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed / 2147483648
      }
      // one answer in ten is a fault: a 503 or a dropped connection
      const faults: Array<TestAuthority.ScriptedResponse> = []
      for (let i = 0; i < 1000; i++) {
        const r = random()
        faults.push(
          r < 0.05
            ? { status: 503, body: "" }
            : r < 0.1
            ? { status: 0, fault: "disconnect" }
            : { status: 200, body: { access_token: `AT-${i}-${"x".repeat(40)}`, expires_in: 3600 } }
        )
      }
      yield* a.enqueue(...faults)
      const layer = ConfidentialClient.layer({
        clientId: CLIENT_ID,
        authority: "https://login.microsoftonline.com/contoso",
        retry: { baseDelay: "5 millis", maxDelay: "20 millis" }
      }).pipe(
        Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
        Layer.provide(TokenCache.layerMemory()),
        Layer.provide(TestAuthority.layerHttpClient),
        Layer.provide(Layer.succeed(TestAuthority.TestAuthority, a))
      )
      const outcomes = yield* Effect.forEach(
        Array.from({ length: CALLERS }, (_, i) => i % KEYS),
        (k) => Effect.either(acquire({ scopes: [`https://resource-${k}.example/.default`] })),
        { concurrency: "unbounded" }
      ).pipe(Effect.provide(layer))
      const tokens = outcomes.filter(Either.isRight).length
      const errors = outcomes.filter(Either.isLeft).map((e) => e.left._tag)
      expect(tokens + errors.length).toBe(CALLERS)
      expect(errors.every((t) => t === "NetworkError" || t === "Throttled")).toBe(true)
      // more than 99% of the callers get a token (as with 9,900 of 10,000 before)
      expect(tokens).toBeGreaterThan(CALLERS * 0.99)
      const requests = (yield* a.tokenRequests).length
      expect(requests).toBeGreaterThanOrEqual(KEYS)
      expect(requests).toBeLessThanOrEqual(KEYS * 3)
    }), 30_000) // the bound on time is the test timeout
})

describe("refreshLifetimeFraction", () => {
  it.effect("without refresh_in, refreshes in the background after the given fraction of the lifetime", () =>
    Effect.gen(function*() {
      const first = yield* acquire({ scopes: [GRAPH] })
      expect(first.refreshOn?.getTime()).toBe(1800_000)
      yield* TestClock.adjust("1801 seconds")
      expect((yield* acquire({ scopes: [GRAPH] })).tokenSource).toBe("cache")
      yield* settle
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer({ client: { refreshLifetimeFraction: 0.5 }, authority: { expiresIn: 3600 } }))))

  it.effect("is off by default", () =>
    Effect.gen(function*() {
      const first = yield* acquire({ scopes: [GRAPH] })
      expect(first.refreshOn).toBeUndefined()
      yield* TestClock.adjust("3000 seconds")
      yield* acquire({ scopes: [GRAPH] })
      yield* settle
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer({ authority: { expiresIn: 3600 } }))))
})
