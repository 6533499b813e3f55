import { Console, Effect, Layer, Redacted } from "effect"
import * as ClientCredential from "../ClientCredential.js"
import * as ConfidentialClient from "../ConfidentialClient.js"
import * as CredentialSigner from "../CredentialSigner.js"
import * as TestAuthority from "../TestAuthority.js"
import * as TokenCache from "../TokenCache.js"

const CLIENT_ID = "11111111-2222-3333-4444-555555555555"
const SECRET = "demo-secret"
const AUTHORITY = "https://login.microsoftonline.com/contoso.onmicrosoft.com"
const GRAPH = "https://graph.microsoft.com/.default"

const describe = (label: string, r: { readonly tokenSource: string; readonly expiresOn: Date; readonly accessToken: Redacted.Redacted<string> }) =>
  Console.log(
    `  ${label}: from ${r.tokenSource === "cache" ? "the cache" : "the network"}, expires ${r.expiresOn.toISOString()}, ` +
      `token ${String(r.accessToken)} (${Redacted.value(r.accessToken).length} characters, never printed)`
  )

/**
 * The README's main job: a walk-through of the client-credentials grant against the test
 * authority served over real HTTP on 127.0.0.1.
 * @internal
 */
export const program = Effect.gen(function*() {
  const authority = yield* TestAuthority.TestAuthority
  const server = yield* TestAuthority.serve()
  yield* Console.log(`Test authority listening on ${server.url} (standing in for ${AUTHORITY})`)
  const requests = Effect.map(authority.tokenRequests, (r) => r.length)

  const ClientLive = ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, appName: "effect-msal-demo" }).pipe(
    Layer.provide(CredentialSigner.layer(ClientCredential.secret(Redacted.make(SECRET)))),
    Layer.provide(TokenCache.layerMemory()),
    Layer.provide(TestAuthority.layerHttpClientVia(server.url))
  )

  yield* Effect.gen(function*() {
    const client = yield* ConfidentialClient.ConfidentialClient

    yield* Console.log("\n1. A token for Microsoft Graph")
    yield* describe("first call", yield* client.acquireTokenForClient({ scopes: [GRAPH] }))
    yield* describe("second call", yield* client.acquireTokenForClient({ scopes: [GRAPH] }))
    yield* Console.log(`  requests sent to the authority so far: ${yield* requests}`)

    yield* Console.log("\n2. 100 concurrent first calls for another resource (the authority answers after 200 ms)")
    yield* authority.configure({ latency: "200 millis" })
    const before = yield* requests
    const started = Date.now()
    const many = yield* Effect.all(
      Array.from({ length: 100 }, () => client.acquireTokenForClient({ scopes: ["https://vault.azure.net/.default"] })),
      { concurrency: "unbounded" }
    )
    yield* authority.configure({ latency: 0 })
    yield* Console.log(
      `  ${many.length} callers got ${new Set(many.map((r) => Redacted.value(r.accessToken))).size} token ` +
        `from ${(yield* requests) - before} request in ${Date.now() - started} ms`
    )

    yield* Console.log("\n3. A claims challenge (for example from Conditional Access) bypasses the cache")
    const challenged = yield* client.acquireTokenForClient({
      scopes: [GRAPH],
      claims: "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1700000000\"}}}"
    })
    yield* describe("with claims", challenged)
    yield* describe("next call", yield* client.acquireTokenForClient({ scopes: [GRAPH] }))

    yield* Console.log("\n4. A typed error, handled with Effect.catchTag")
    const outcome = yield* client.acquireTokenForClient({ scopes: ["User.Read"] }).pipe(
      Effect.map(() => "unexpected success"),
      Effect.catchTag("ServerError", (e) =>
        Effect.succeed(`ServerError ${e.error} (HTTP ${e.status}, AADSTS${e.errorCodes?.[0] ?? "?"}): app tokens need a "<resource>/.default" scope`))
    )
    yield* Console.log(`  ${outcome}`)

    yield* Console.log("\n5. Several tenants from one client")
    yield* describe("fabrikam", yield* client.acquireTokenForClient({ scopes: [GRAPH], tenant: "fabrikam.onmicrosoft.com" }))
    yield* describe("fabrikam again", yield* client.acquireTokenForClient({ scopes: [GRAPH], tenant: "fabrikam.onmicrosoft.com" }))

    yield* Console.log(`\nDone: ${yield* requests} requests reached the authority.`)
  }).pipe(Effect.provide(ClientLive))
}).pipe(Effect.scoped, Effect.provide(TestAuthority.layer()))
