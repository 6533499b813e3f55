/**
 * 6. Cold start of effect-msal: run as plain JavaScript (transpiled by bench/support/build.ts),
 * it imports the library, builds the client and gets its first token from the local authority.
 * Times are milliseconds since the process started (`performance.timeOrigin`).
 */
import { performance } from "node:perf_hooks"

const baseUrl = process.argv[2] ?? ""
const boot = performance.now()
// the peer dependencies first, timed on their own: an Effect application has loaded them already
const { Effect, Layer, Redacted } = await import("effect")
await import("@effect/platform")
const peers = performance.now()
const { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } = await import("effect-msal")
const TestAuthority = await import("effect-msal/TestAuthority")
const imported = performance.now()
const Live = ConfidentialClient.layer({
  clientId: "b3c6a1f0-7d2e-4c55-9a0b-2f1e3d4c5b6a",
  authority: "https://login.microsoftonline.com/7a1e0000-0000-4000-8000-000000000001"
}).pipe(
  Layer.provide(CredentialSigner.layer(ClientCredential.secret(Redacted.make("bench-s3cret")))),
  Layer.provide(TokenCache.layerMemory()),
  Layer.provide(TestAuthority.layerHttpClientVia(baseUrl))
)
const result = await Effect.runPromise(
  Effect.flatMap(
    ConfidentialClient.ConfidentialClient,
    (client) => client.acquireTokenForClient({ scopes: ["https://graph.microsoft.com/.default"] })
  ).pipe(Effect.provide(Live))
)
const token = performance.now()
process.stdout.write(`\n@@bench ${JSON.stringify({ boot, peers, imported, token, source: result.tokenSource })}\n`)
