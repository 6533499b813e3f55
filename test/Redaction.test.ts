import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Logger, LogLevel, Redacted } from "effect"
import { TestAuthority, TokenCache } from "effect-msal"
import { makeRecorder } from "./support/recording.js"
import { authority, client, GRAPH, SECRET, testLayer } from "./support/harness.js"

/** Everything a secret could leak into: log lines, span attributes and events, errors, results. */
const exposedText = (recorder: Effect.Effect.Success<typeof makeRecorder>, outcomes: ReadonlyArray<Exit.Exit<unknown, unknown>>) => {
  const parts: Array<string> = [...recorder.logs]
  for (const span of recorder.spans) {
    parts.push(span.name)
    for (const [k, v] of span.attributes) parts.push(`${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    for (const [name, , attributes] of span.events) parts.push(name, JSON.stringify(attributes))
  }
  for (const exit of outcomes) {
    if (Exit.isSuccess(exit)) {
      parts.push(JSON.stringify(exit.value), String(exit.value))
    } else {
      parts.push(Cause.pretty(exit.cause))
      for (const e of Cause.failures(exit.cause)) parts.push(String(e), JSON.stringify(e), (e as Error).message ?? "")
    }
  }
  return parts.join("\n")
}

describe("redaction", () => {
  it.effect("client credentials: no secret or token in logs, spans, errors or results, at debug level", () =>
    Effect.gen(function*() {
      const recorder = yield* makeRecorder
      const outcomes = yield* Effect.gen(function*() {
        const c = yield* client
        const a = yield* authority
        const results: Array<Exit.Exit<unknown, unknown>> = []
        results.push(yield* Effect.exit(c.acquireTokenForClient({ scopes: [GRAPH] })))
        results.push(yield* Effect.exit(c.acquireTokenForClient({ scopes: [GRAPH] })))
        results.push(yield* Effect.exit(c.acquireTokenForClient({ scopes: ["User.Read"] })))
        yield* a.enqueue({ status: 200, body: { access_token: "LEAKY-ACCESS-TOKEN", expires_in: "soon" } })
        results.push(yield* Effect.exit(c.acquireTokenForClient({ scopes: ["https://a.example/.default"] })))
        yield* a.enqueue({ status: 401, body: { error: "invalid_client", error_description: "bad" } })
        results.push(yield* Effect.exit(c.acquireTokenForClient({ scopes: ["https://b.example/.default"] })))
        results.push(yield* Effect.exit(TokenCache.TokenCache.pipe(Effect.flatMap((cache) => cache.list("AccessToken")))))
        return results
      }).pipe(Effect.provide(recorder.layer), Logger.withMinimumLogLevel(LogLevel.All))
      const issued = yield* Effect.flatMap(authority, (a) => a.issued)
      const text = exposedText(recorder, outcomes)
      expect(recorder.spans.length).toBeGreaterThan(0)
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain("LEAKY-ACCESS-TOKEN")
      for (const t of issued) expect(text).not.toContain(t.accessToken)
      // the token is there, just redacted
      const first = outcomes[0]!
      expect(Exit.isSuccess(first) && Redacted.value((first.value as { accessToken: Redacted.Redacted<string> }).accessToken)).toBe(issued[0]!.accessToken)
    }).pipe(Effect.provide(testLayer({ client: { retry: false } }))))

  it.effect("the test authority's recorded requests are the only place the secret appears", () =>
    Effect.gen(function*() {
      yield* Effect.flatMap(client, (c) => c.acquireTokenForClient({ scopes: [GRAPH] }))
      const [request] = yield* Effect.flatMap(TestAuthority.TestAuthority, (a) => a.tokenRequests)
      expect(request!.form.client_secret).toBe(SECRET)
    }).pipe(Effect.provide(testLayer())))
})
