import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Supervisor } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, type MsalError, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { AUTHORITY, CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"

const token = { token_type: "Bearer", access_token: `eyJ0eXAiOiJKV1QifQ.${"x".repeat(800)}.sig`, expires_in: 3599 }
const ok: TestAuthority.ScriptedResponse = { status: 200, body: token }

/** The most of a token response the client reads: 1 MiB. */
const MAX_BODY = 1024 * 1024

/** A token response of exactly `bytes` bytes (ASCII JSON, padded). */
const tokenOfSize = (bytes: number): string => {
  const empty = JSON.stringify({ ...token, padding: "" })
  return JSON.stringify({ ...token, padding: "p".repeat(bytes - empty.length) })
}

interface Outcome {
  /** Requests the authority receives. */
  readonly attempts: number
  /** The expected error, or undefined for a token. */
  readonly error?: Record<string, unknown>
}

interface Case extends Outcome {
  readonly name: string
  /** The client's attempt timeout for this case (default 1 second). */
  readonly attemptTimeout?: `${number} seconds` | undefined
  readonly responses: () => ReadonlyArray<TestAuthority.ScriptedResponse>
  /**
   * What happens for a refresh token, which is never sent again once the authority may have
   * seen it (when different from a repeatable request).
   */
  readonly refresh?: Outcome
}

const unavailable = { _tag: "NetworkError", reason: "Status" }

const cases: ReadonlyArray<Case> = [
  {
    name: "500 then 200",
    responses: () => [{ status: 500, body: "" }, ok],
    attempts: 2,
    refresh: { attempts: 1, error: { ...unavailable, status: 500 } }
  },
  {
    name: "502 then 200",
    responses: () => [{ status: 502, body: "Bad Gateway" }, ok],
    attempts: 2,
    refresh: { attempts: 1, error: { ...unavailable, status: 502 } }
  },
  // Retry-After: 0 and an HTTP date already past keep the wait at zero; that the wait is
  // what Retry-After asks (seconds and dates) is tested with TestClock in Reliability.test.ts.
  // Here: the header crosses real HTTP, is parsed (the refresh error carries it) and the
  // request is retried.
  {
    name: "503 with Retry-After: 0, then 200",
    responses: () => [{ status: 503, body: "", headers: { "retry-after": "0" } }, ok],
    attempts: 2,
    refresh: { attempts: 1, error: { ...unavailable, status: 503, retryAfter: 0 } }
  },
  {
    name: "429 with Retry-After: 0, then 200",
    responses: () => [{ status: 429, body: { error: "too_many_requests" }, headers: { "retry-after": "0" } }, ok],
    attempts: 2,
    refresh: { attempts: 1, error: { _tag: "ServerError", status: 429, retryAfter: 0 } }
  },
  {
    name: "429 with Retry-After as an HTTP date (already past), then 200",
    responses:
      () => [{ status: 429, body: "", headers: { "retry-after": new Date(Date.now() - 5000).toUTCString() } }, ok],
    attempts: 2,
    refresh: { attempts: 1, error: { ...unavailable, status: 429, retryAfter: 0 } }
  },
  {
    name: "connection reset before the answer, then 200",
    responses: () => [{ status: 0, fault: "disconnect" }, ok],
    attempts: 2,
    // the request was on the wire: a refresh token is not sent twice
    refresh: { attempts: 1, error: { _tag: "NetworkError", reason: "Transport" } }
  },
  {
    name: "connection reset during the body, then 200",
    responses: () => [{ ...ok, fault: "disconnectDuringBody" }, ok],
    attempts: 2,
    refresh: { attempts: 1, error: { _tag: "NetworkError", reason: "Transport", status: 200 } }
  },
  {
    name: "no answer within the attempt timeout, then 200",
    // half a second without an answer ends the attempt; a local answer takes milliseconds
    attemptTimeout: "0.5 seconds",
    responses: () => [{ ...ok, delay: "3 seconds" }, ok],
    attempts: 2,
    refresh: { attempts: 1, error: { _tag: "NetworkError", reason: "Timeout" } }
  },
  {
    name: "an HTML error page, three times",
    responses: () =>
      Array.from(
        { length: 3 },
        () => ({
          status: 500,
          body: "<!DOCTYPE html><html><body>Service unavailable</body></html>",
          headers: { "content-type": "text/html" }
        })
      ),
    attempts: 3,
    error: { _tag: "NetworkError", reason: "Status", status: 500 },
    refresh: { attempts: 1, error: { _tag: "NetworkError", reason: "Status", status: 500 } }
  },
  {
    name: "truncated JSON",
    responses: () => [{ status: 200, body: "{\"token_type\":\"Bearer\",\"access_tok" }],
    attempts: 1,
    error: { _tag: "NetworkError", reason: "InvalidResponse" }
  },
  {
    name: "a 200 whose body is an OAuth error",
    responses: () => [{ status: 200, body: { error: "invalid_client", error_codes: [7000215] } }],
    attempts: 1,
    error: { _tag: "ServerError", error: "invalid_client", status: 200 }
  },
  {
    name: "a 200 without access_token",
    responses: () => [{ status: 200, body: { token_type: "Bearer", expires_in: 3599 } }],
    attempts: 1,
    error: { _tag: "NetworkError", reason: "InvalidResponse" }
  },
  {
    name: "a token with a wrong content type (read as JSON, as MSAL does)",
    responses: () => [{ ...ok, headers: { "content-type": "text/html" } }],
    attempts: 1
  },
  // The body is read as a stream and abandoned past 1 MiB (the test authority answers with
  // chunked encoding, no Content-Length): exactly 1 MiB is read, one byte more is not, and is
  // not retried. The attempt timeout is long: the point is the size, not how fast it is written.
  {
    name: "a body of exactly 1 MiB",
    responses: () => [{ status: 200, body: tokenOfSize(MAX_BODY) }],
    attemptTimeout: "30 seconds",
    attempts: 1
  },
  {
    name: "a body of 1 MiB and one byte",
    responses: () => [{ status: 200, body: tokenOfSize(MAX_BODY + 1) }],
    attemptTimeout: "30 seconds",
    attempts: 1,
    error: {
      _tag: "NetworkError",
      reason: "InvalidResponse",
      description: "the response body is larger than 1048576 bytes"
    }
  }
]

/** One grant: how to set it up (tokens it needs first) and the call under test. */
interface Grant {
  readonly name: "client credentials" | "on-behalf-of" | "refresh token"
  readonly prepare: (
    client: ConfidentialClient.Service,
    authority: TestAuthority.Service
  ) => Effect.Effect<Effect.Effect<unknown, MsalError.MsalError>, MsalError.MsalError>
}

const grants: ReadonlyArray<Grant> = [
  {
    name: "client credentials",
    prepare: (client) => Effect.succeed(client.acquireTokenForClient({ scopes: [GRAPH] }))
  },
  {
    name: "on-behalf-of",
    prepare: (client, authority) =>
      Effect.map(
        authority.userAssertion({ audience: CLIENT_ID }),
        (userAssertion) =>
          client.acquireTokenOnBehalfOf({ userAssertion, scopes: ["https://graph.microsoft.com/User.Read"] })
      )
  },
  {
    name: "refresh token",
    prepare: (client, authority) =>
      Effect.gen(function*() {
        const flow = yield* client.initiateAuthCodeFlow({
          scopes: ["User.Read"],
          redirectUri: "https://app.example/callback"
        })
        const redirect = yield* authority.authorize(flow.authUri)
        const signedIn = yield* client.acquireTokenByAuthCodeFlow({ flow, response: new URL(redirect).searchParams })
        yield* authority.reset
        return client.acquireTokenSilent({ scopes: ["User.Read"], account: signedIn.account!, forceRefresh: true })
      })
  }
]

for (const grant of grants) {
  describe(`fault injection over real HTTP (${grant.name})`, () => {
    for (const c of cases) {
      const expected: Outcome = grant.name === "refresh token" && c.refresh !== undefined ? c.refresh : c
      it.scopedLive(c.name, () =>
        Effect.gen(function*() {
          const authority = yield* TestAuthority.make()
          const server = yield* TestAuthority.serve().pipe(
            Effect.provideService(TestAuthority.TestAuthority, authority)
          )
          const layer = ConfidentialClient.layer({
            clientId: CLIENT_ID,
            authority: AUTHORITY,
            attemptTimeout: c.attemptTimeout ?? "1 second",
            retry: { baseDelay: "50 millis", maxDelay: "200 millis" }
          }).pipe(
            Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
            Layer.provideMerge(TokenCache.layerMemory()),
            Layer.provide(TestAuthority.layerHttpClientVia(server.url))
          )
          const fibers = yield* Supervisor.track
          const { after, before, outcome } = yield* Effect.gen(function*() {
            const client = yield* ConfidentialClient.ConfidentialClient
            const cache = yield* TokenCache.TokenCache
            const call = yield* grant.prepare(client, authority)
            const before = yield* cache.list("AccessToken")
            yield* authority.enqueue(...c.responses())
            const outcome = yield* Effect.either(call)
            const after = yield* cache.list("AccessToken")
            return { outcome, before, after }
          }).pipe(Effect.provide(layer), Effect.supervised(fibers))
          // no leaked fiber: everything the client forked (flights, background work) has ended
          expect((yield* fibers.value).length).toBe(0)
          expect((yield* authority.tokenRequests).length).toBe(expected.attempts)
          if (expected.error === undefined) {
            expect(Either.isRight(outcome)).toBe(true)
            expect(after.length).toBeGreaterThan(0)
            expect(after).not.toEqual(before)
          } else {
            expect(Either.isLeft(outcome) && outcome.left).toMatchObject(expected.error)
            expect(after).toEqual(before)
            expect(JSON.stringify(Either.isLeft(outcome) && outcome.left)).not.toContain(SECRET)
          }
        }), 20_000)
    }
  })
}
