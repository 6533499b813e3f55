import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Logger, LogLevel, Redacted } from "effect"
import { TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { makeRecorder } from "./support/recording.js"
import { authority, CLIENT_ID, client, GRAPH, SECRET, testLayer } from "./support/harness.js"
import { ALICE, REDIRECT_URI } from "./support/users.js"

/** Everything a secret could leak into: log lines, span attributes and events, errors, results. */
const exposedText = (
  recorder: Effect.Effect.Success<typeof makeRecorder>,
  outcomes: ReadonlyArray<Exit.Exit<unknown, unknown>>,
  includeResults = true
) => {
  const parts: Array<string> = [...recorder.logs]
  for (const span of recorder.spans) {
    parts.push(span.name)
    for (const [k, v] of span.attributes) parts.push(`${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    for (const [name, , attributes] of span.events) parts.push(name, JSON.stringify(attributes))
  }
  for (const exit of outcomes) {
    if (Exit.isSuccess(exit)) {
      if (includeResults) parts.push(JSON.stringify(exit.value), String(exit.value))
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
        results.push(
          yield* Effect.exit(TokenCache.TokenCache.pipe(Effect.flatMap((cache) => cache.list("AccessToken"))))
        )
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
      expect(
        Exit.isSuccess(first) && Redacted.value((first.value as { accessToken: Redacted.Redacted<string> }).accessToken)
      ).toBe(issued[0]!.accessToken)
    }).pipe(Effect.provide(testLayer({ client: { retry: false } }))))

  it.effect("the test authority's recorded requests are the only place the secret appears", () =>
    Effect.gen(function*() {
      yield* Effect.flatMap(client, (c) => c.acquireTokenForClient({ scopes: [GRAPH] }))
      const [request] = yield* Effect.flatMap(TestAuthority.TestAuthority, (a) => a.tokenRequests)
      expect(request!.form.client_secret).toBe(SECRET)
    }).pipe(Effect.provide(testLayer())))
})

describe("redaction across every grant", () => {
  /** Runs every grant, with error paths, and returns the recorded output and the secrets involved. */
  const everyGrant = (enablePiiLog: boolean) =>
    Effect.gen(function*() {
      const recorder = yield* makeRecorder
      const secrets: Array<string> = [SECRET, "correct horse battery staple"]
      const outcomes: Array<Exit.Exit<unknown, unknown>> = []
      yield* Effect.gen(function*() {
        const c = yield* client
        const a = yield* authority
        // client credentials
        outcomes.push(yield* Effect.exit(c.acquireTokenForClient({ scopes: [GRAPH] })))
        // auth code flow: the code and the verifier
        const flow = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: REDIRECT_URI })
        secrets.push(Redacted.value(flow.codeVerifier))
        outcomes.push(Exit.succeed(flow))
        const redirect = new URL(yield* a.authorize(flow.authUri))
        secrets.push(redirect.searchParams.get("code")!)
        const signedIn = yield* c.acquireTokenByAuthCodeFlow({ flow, response: redirect.searchParams })
        outcomes.push(Exit.succeed(signedIn))
        // the same code again (replayed callback), and a tampered state
        outcomes.push(yield* Effect.exit(c.acquireTokenByAuthCodeFlow({ flow, response: redirect.searchParams })))
        outcomes.push(
          yield* Effect.exit(
            c.acquireTokenByAuthCodeFlow({
              flow,
              response: { ...Object.fromEntries(redirect.searchParams), state: "x" }
            })
          )
        )
        // silent: from the cache, then a forced refresh, then a failed one
        outcomes.push(yield* Effect.exit(c.acquireTokenSilent({ scopes: ["User.Read"], account: signedIn.account! })))
        outcomes.push(
          yield* Effect.exit(
            c.acquireTokenSilent({ scopes: ["User.Read"], account: signedIn.account!, forceRefresh: true })
          )
        )
        yield* a.enqueue({ status: 400, body: { error: "invalid_grant", suberror: "bad_token" } })
        outcomes.push(
          yield* Effect.exit(
            c.acquireTokenSilent({ scopes: ["Mail.Read"], account: signedIn.account!, forceRefresh: true })
          )
        )
        // on-behalf-of, good and bad
        const assertion = yield* a.userAssertion({ audience: CLIENT_ID })
        secrets.push(assertion)
        outcomes.push(
          yield* Effect.exit(
            c.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: ["https://graph.microsoft.com/User.Read"] })
          )
        )
        outcomes.push(
          yield* Effect.exit(
            c.acquireTokenOnBehalfOf({
              userAssertion: `${assertion}x`,
              scopes: ["https://graph.microsoft.com/Mail.Read"]
            })
          )
        )
        // password, good and bad
        outcomes.push(
          yield* Effect.exit(
            c.acquireTokenByUsernamePassword({
              username: ALICE.username,
              password: ALICE.password ?? "",
              scopes: ["User.Read"]
            })
          )
        )
        outcomes.push(
          yield* Effect.exit(
            c.acquireTokenByUsernamePassword({
              username: ALICE.username,
              password: "correct horse battery staple",
              scopes: ["User.Read"]
            })
          )
        )
        // refresh token migration, good and bad
        const snapshot = yield* Effect.flatMap(TokenCache.TokenCache, (cache) => cache.snapshot)
        const rt = Redacted.value(snapshot.entries.RefreshToken[0]!.secret)
        outcomes.push(yield* Effect.exit(c.acquireTokenByRefreshToken({ refreshToken: rt, scopes: ["User.Read"] })))
        outcomes.push(
          yield* Effect.exit(
            c.acquireTokenByRefreshToken({ refreshToken: "not-a-refresh-token-0123456789", scopes: ["User.Read"] })
          )
        )
        outcomes.push(yield* Effect.exit(c.getAccounts()))
      }).pipe(Effect.provide(recorder.layer), Logger.withMinimumLogLevel(LogLevel.All))
      const a = yield* authority
      for (const t of yield* a.issued) {
        secrets.push(t.accessToken)
        const extra = t as { refreshToken?: string; idToken?: string }
        if (extra.refreshToken !== undefined) secrets.push(extra.refreshToken)
        if (extra.idToken !== undefined) secrets.push(extra.idToken)
      }
      const cached = yield* Effect.flatMap(TokenCache.TokenCache, (cache) => cache.snapshot)
      for (const section of [cached.entries.AccessToken, cached.entries.RefreshToken, cached.entries.IdToken]) {
        for (const e of section) secrets.push(Redacted.value(e.secret))
      }
      return {
        text: exposedText(recorder, outcomes),
        // logs, spans and errors: where personal data must not go (results carry the account, by design)
        observed: exposedText(recorder, outcomes, false),
        secrets,
        spans: recorder.spans.length
      }
    }).pipe(Effect.provide(testLayer({ client: { retry: false, enablePiiLog } })))

  it.effect("no secret, assertion, code, verifier, password or token anywhere; no personal data without enablePiiLog", () =>
    Effect.gen(function*() {
      const { observed, secrets, spans, text } = yield* everyGrant(false)
      expect(spans).toBeGreaterThan(10)
      expect(secrets.length).toBeGreaterThan(10)
      for (const secret of secrets)
        expect(text.includes(secret), `a secret of ${secret.length} characters leaked`).toBe(false)
      const line = observed.split("\n").find((l) => l.includes(ALICE.username))
      expect(line).toBeUndefined()
      expect(observed).not.toContain(ALICE.objectId)
      expect(observed).not.toContain(encodeURIComponent(ALICE.username))
    }))

  it.effect("with enablePiiLog the user name reaches the debug log, and secrets still do not", () =>
    Effect.gen(function*() {
      const { observed, secrets, text } = yield* everyGrant(true)
      expect(observed).toContain(ALICE.username)
      for (const secret of secrets) expect(text.includes(secret)).toBe(false)
    }))
})
