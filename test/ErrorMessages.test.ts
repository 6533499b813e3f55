/**
 * Error messages carry what support asks for: the correlation and trace ids of an authority's
 * answer, and how long `Retry-After` asked to wait (in the error and in the `Throttled` that
 * follows), never a secret.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, MsalError, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"

const SECRET = "messages-s3cret"
const GRAPH = "https://graph.microsoft.com/.default"

const client = ConfidentialClient.ConfidentialClient
const testLayer = ConfidentialClient.layer({
  clientId: "11111111-2222-3333-4444-555555555555",
  authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
  retry: false
}).pipe(
  Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
  Layer.provide(TokenCache.layerMemory()),
  Layer.provide(TestAuthority.layerHttpClient),
  Layer.provideMerge(TestAuthority.layer())
)

describe("ServerError.message", () => {
  it("ends with the correlation id and the trace id the authority sent", () => {
    const error = new MsalError.ServerError({
      error: "invalid_client",
      errorDescription: "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: t-1\r\nCorrelation ID: c-1",
      status: 401,
      correlationId: "c-1",
      traceId: "t-1"
    })
    expect(error.message).toBe(
      "invalid_client (HTTP 401): AADSTS7000215: Invalid client secret provided. (correlation id c-1, trace id t-1)"
    )
    expect(new MsalError.ServerError({ error: "invalid_scope", status: 400, traceId: "t-2" }).message).toBe(
      "invalid_scope (HTTP 400) (trace id t-2)"
    )
    expect(new MsalError.ServerError({ error: "invalid_scope", status: 400 }).message).toBe("invalid_scope (HTTP 400)")
  })

  it.effect("an authority's answer: the ids of its body, which match the request's client-request-id", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip((yield* client).acquireTokenForClient({ scopes: ["User.Read"] }))
      if (error._tag !== "ServerError") throw new Error(`expected a ServerError, got ${error._tag}`)
      const [request] = yield* (yield* TestAuthority.TestAuthority).tokenRequests
      expect(error.correlationId).toBe(request!.headers["client-request-id"])
      expect(error.message).toMatch(
        new RegExp(
          `^invalid_scope \\(HTTP 400\\): AADSTS\\d+: .* \\(correlation id ${error.correlationId}, trace id ${error.traceId}\\)$`
        )
      )
      expect(error.traceId).toMatch(/^[0-9a-f-]{36}$/)
      expect(error.message).not.toContain(SECRET)
    }).pipe(Effect.provide(testLayer)))
})

describe("429 and Retry-After", () => {
  it.effect("the 429 says how long Retry-After asked to wait; so does the Throttled that follows", () =>
    Effect.gen(function*() {
      const authority = yield* TestAuthority.TestAuthority
      yield* authority.enqueue({
        status: 429,
        headers: { "retry-after": "30" },
        body: {
          error: "temporarily_unavailable",
          error_description: "AADSTS50196: too many requests",
          correlation_id: "c-429",
          trace_id: "t-429"
        }
      })
      const c = yield* client
      const first = yield* Effect.flip(c.acquireTokenForClient({ scopes: [GRAPH] }))
      expect(first.message).toBe(
        "temporarily_unavailable (HTTP 429): AADSTS50196: too many requests; Retry-After asked to wait 30 s (correlation id c-429, trace id t-429)"
      )
      const second = yield* Effect.flip(c.acquireTokenForClient({ scopes: [GRAPH] }))
      expect(second).toBeInstanceOf(MsalError.Throttled)
      expect(second.message).toMatch(
        /^the authority asked to wait 30 s \(Retry-After, with temporarily_unavailable, HTTP 429\); the request was not sent \(retry at .*\)$/
      )
    }).pipe(Effect.provide(testLayer)))

  it.effect("a NetworkError for a 503 with Retry-After says how long; without one, Throttled names the default wait", () =>
    Effect.gen(function*() {
      const authority = yield* TestAuthority.TestAuthority
      yield* authority.enqueue({ status: 503, headers: { "retry-after": "7" }, body: "<html>down</html>" })
      const c = yield* client
      const network = yield* Effect.flip(c.acquireTokenForClient({ scopes: [GRAPH] }))
      expect(network).toBeInstanceOf(MsalError.NetworkError)
      expect(network.message).toMatch(/^Status \(HTTP 503\) from .*; Retry-After asked to wait 7 s$/)

      yield* authority.enqueue({ status: 502, body: "<html>bad gateway</html>" })
      yield* Effect.flip(c.acquireTokenForClient({ scopes: ["https://vault.azure.net/.default"] }))
      const throttled = yield* Effect.flip(c.acquireTokenForClient({ scopes: ["https://vault.azure.net/.default"] }))
      expect(throttled.message).toMatch(
        /^the authority answered HTTP 502 without Retry-After, so identical requests wait 5 s; the request was not sent/
      )
    }).pipe(Effect.provide(testLayer)))
})
