import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { AUTHORITY, CLIENT_ID, GRAPH, SECRET, TENANT_ID, TOKEN_ENDPOINT } from "./support/harness.js"

const BY_TENANT_ID = `https://login.microsoftonline.com/${TENANT_ID}`

/** A client talking to a test authority served on 127.0.0.1 over real HTTP. */
const overHttp = <A, E>(
  body: (
    client: ConfidentialClient.Service,
    authority: TestAuthority.Service,
    server: TestAuthority.Server
  ) => Effect.Effect<A, E>,
  settings?: Partial<TestAuthority.Settings>,
  options?: Partial<ConfidentialClient.Options>
) =>
  Effect.gen(function*() {
    const authority = yield* TestAuthority.make(settings)
    const server = yield* TestAuthority.serve().pipe(Effect.provideService(TestAuthority.TestAuthority, authority))
    const layer = ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, ...options }).pipe(
      Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
      Layer.provide(TokenCache.layerMemory()),
      Layer.provide(TestAuthority.layerHttpClientVia(server.url))
    )
    return yield* Effect.flatMap(ConfidentialClient.ConfidentialClient, (c) => body(c, authority, server)).pipe(
      Effect.provide(layer)
    )
  })

describe("over real HTTP on 127.0.0.1", () => {
  it.scopedLive("first token from the network, then from the cache; the wire form is exact", () =>
    overHttp((client, authority, server) =>
      Effect.gen(function*() {
        expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        const first = yield* client.acquireTokenForClient({ scopes: [GRAPH] })
        const second = yield* client.acquireTokenForClient({ scopes: [GRAPH] })
        expect([first.tokenSource, second.tokenSource]).toEqual(["identity_provider", "cache"])
        expect(Redacted.value(second.accessToken)).toBe((yield* authority.issued)[0]!.accessToken)
        const [request] = yield* authority.tokenRequests
        expect(request!.url).toBe(TOKEN_ENDPOINT)
        expect(request!.form).toEqual({
          client_id: CLIENT_ID,
          grant_type: "client_credentials",
          scope: GRAPH,
          client_info: "1",
          client_secret: SECRET
        })
        expect(request!.headers["x-client-current-telemetry"]).toBe("4|730,2|")
        expect(request!.headers["x-client-sku"]).toBe("effect-msal")
        expect(request!.headers.traceparent).toBeUndefined()
      })
    ))

  it.scopedLive("100 concurrent first calls send one request", () =>
    overHttp((client, authority) =>
      Effect.gen(function*() {
        const results = yield* Effect.all(
          Array.from({ length: 100 }, () => client.acquireTokenForClient({ scopes: [GRAPH] })),
          { concurrency: "unbounded" }
        )
        expect((yield* authority.tokenRequests).length).toBe(1)
        expect(new Set(results.map((r) => Redacted.value(r.accessToken))).size).toBe(1)
      }), { latency: "100 millis" }))

  it.scopedLive("OAuth errors and malformed answers arrive as typed errors", () =>
    overHttp(
      (client, authority) =>
        Effect.gen(function*() {
          const invalidScope = yield* Effect.flip(client.acquireTokenForClient({ scopes: ["User.Read"] }))
          expect(invalidScope).toMatchObject({
            _tag: "ServerError",
            error: "invalid_scope",
            status: 400,
            errorCodes: [1002012]
          })
          yield* authority.enqueue({ status: 502, body: "<html>Bad Gateway</html>" })
          const badGateway = yield* Effect.flip(client.acquireTokenForClient({ scopes: [GRAPH] }))
          expect(badGateway).toMatchObject({ _tag: "NetworkError", reason: "Status", status: 502 })
          // the 502 closes identical requests for a few seconds: nothing is sent
          const throttled = yield* Effect.flip(client.acquireTokenForClient({ scopes: [GRAPH] }))
          expect(throttled._tag).toBe("Throttled")
          yield* authority.enqueue({ status: 200, body: "{\"access_token\":" })
          const truncated = yield* Effect.flip(
            client.acquireTokenForClient({ scopes: ["https://vault.azure.net/.default"] })
          )
          expect(truncated).toMatchObject({ _tag: "NetworkError", reason: "InvalidResponse" })
          expect((yield* authority.tokenRequests).length).toBe(3)
        }),
      undefined,
      { retry: false }
    ))

  it.scopedLive("a refused connection is a NetworkError Transport", () =>
    Effect.gen(function*() {
      // a server that is started and stopped leaves a port nobody listens on
      const port = yield* Effect.scoped(
        Effect.map(
          TestAuthority.serve().pipe(Effect.provide(TestAuthority.layer())),
          (s) => s.port
        )
      )
      // by tenant id: the token request is the first request (a domain would be discovered first)
      const layer = ConfidentialClient.layer({ clientId: CLIENT_ID, authority: BY_TENANT_ID, retry: false }).pipe(
        Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
        Layer.provide(TokenCache.layerMemory()),
        Layer.provide(TestAuthority.layerHttpClientVia(`http://127.0.0.1:${port}`))
      )
      const error = yield* Effect.flip(
        Effect.flatMap(ConfidentialClient.ConfidentialClient, (c) => c.acquireTokenForClient({ scopes: [GRAPH] })).pipe(
          Effect.provide(layer)
        )
      )
      expect(error).toMatchObject({ _tag: "NetworkError", reason: "Transport", url: TOKEN_ENDPOINT })
      expect(JSON.stringify(error)).not.toContain(SECRET)
    }))
})
