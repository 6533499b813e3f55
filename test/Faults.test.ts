import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TestAuthority, TokenCache } from "effect-msal"
import { AUTHORITY, CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"

const token = { token_type: "Bearer", access_token: `eyJ0eXAiOiJKV1QifQ.${"x".repeat(800)}.sig`, expires_in: 3599 }
const ok: TestAuthority.ScriptedResponse = { status: 200, body: token }

interface Case {
  readonly name: string
  readonly responses: () => ReadonlyArray<TestAuthority.ScriptedResponse>
  /** Requests the authority receives. */
  readonly attempts: number
  /** The expected error, or undefined for a token. */
  readonly error?: Record<string, unknown>
}

const cases: ReadonlyArray<Case> = [
  { name: "500 then 200", responses: () => [{ status: 500, body: "" }, ok], attempts: 2 },
  { name: "502 then 200", responses: () => [{ status: 502, body: "Bad Gateway" }, ok], attempts: 2 },
  { name: "503 with Retry-After: 1, then 200", responses: () => [{ status: 503, body: "", headers: { "retry-after": "1" } }, ok], attempts: 2 },
  { name: "429 with Retry-After: 1, then 200", responses: () => [{ status: 429, body: { error: "too_many_requests" }, headers: { "retry-after": "1" } }, ok], attempts: 2 },
  {
    name: "429 with Retry-After as an HTTP date, then 200",
    responses: () => [{ status: 429, body: "", headers: { "retry-after": new Date(Date.now() + 1500).toUTCString() } }, ok],
    attempts: 2
  },
  { name: "connection reset before the answer, then 200", responses: () => [{ status: 0, fault: "disconnect" }, ok], attempts: 2 },
  { name: "connection reset during the body, then 200", responses: () => [{ ...ok, fault: "disconnectDuringBody" }, ok], attempts: 2 },
  { name: "no answer within the attempt timeout, then 200", responses: () => [{ ...ok, delay: "3 seconds" }, ok], attempts: 2 },
  {
    name: "an HTML error page, three times",
    responses: () => Array.from({ length: 3 }, () => ({ status: 500, body: "<!DOCTYPE html><html><body>Service unavailable</body></html>", headers: { "content-type": "text/html" } })),
    attempts: 3,
    error: { _tag: "NetworkError", reason: "Status", status: 500 }
  },
  { name: "truncated JSON", responses: () => [{ status: 200, body: "{\"token_type\":\"Bearer\",\"access_tok" }], attempts: 1, error: { _tag: "NetworkError", reason: "InvalidResponse" } },
  { name: "a 200 whose body is an OAuth error", responses: () => [{ status: 200, body: { error: "invalid_client", error_codes: [7000215] } }], attempts: 1, error: { _tag: "ServerError", error: "invalid_client", status: 200 } },
  { name: "a 200 without access_token", responses: () => [{ status: 200, body: { token_type: "Bearer", expires_in: 3599 } }], attempts: 1, error: { _tag: "NetworkError", reason: "InvalidResponse" } },
  { name: "a token with a wrong content type (read as JSON, as MSAL does)", responses: () => [{ ...ok, headers: { "content-type": "text/html" } }], attempts: 1 },
  {
    name: "a 20 MB body",
    responses: () => [{ status: 200, body: JSON.stringify({ ...token, padding: "p".repeat(20 * 1024 * 1024) }) }],
    attempts: 1,
    error: { _tag: "NetworkError", reason: "InvalidResponse" }
  }
]

describe("fault injection over real HTTP (client credentials)", () => {
  for (const c of cases) {
    it.scopedLive(c.name, () =>
      Effect.gen(function*() {
        const authority = yield* TestAuthority.make()
        const server = yield* TestAuthority.serve().pipe(Effect.provideService(TestAuthority.TestAuthority, authority))
        yield* authority.enqueue(...c.responses())
        const layer = ConfidentialClient.layer({
          clientId: CLIENT_ID,
          authority: AUTHORITY,
          attemptTimeout: "1 second",
          retry: { baseDelay: "50 millis", maxDelay: "200 millis" }
        }).pipe(
          Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
          Layer.provideMerge(TokenCache.layerMemory()),
          Layer.provide(TestAuthority.layerHttpClientVia(server.url))
        )
        const { cached, outcome } = yield* Effect.gen(function*() {
          const client = yield* ConfidentialClient.ConfidentialClient
          const outcome = yield* Effect.either(client.acquireTokenForClient({ scopes: [GRAPH] }))
          const cached = yield* Effect.flatMap(TokenCache.TokenCache, (cache) => cache.list("AccessToken"))
          return { outcome, cached }
        }).pipe(Effect.provide(layer))
        expect((yield* authority.tokenRequests).length).toBe(c.attempts)
        if (c.error === undefined) {
          expect(Either.isRight(outcome)).toBe(true)
          expect(cached.length).toBe(1)
        } else {
          expect(Either.isLeft(outcome) && outcome.left).toMatchObject(c.error)
          expect(cached.length).toBe(0)
          expect(JSON.stringify(Either.isLeft(outcome) && outcome.left)).not.toContain(SECRET)
        }
      }), 20_000)
  }
})
