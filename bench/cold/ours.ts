/**
 * 6. Cold start of effect-msal: run as plain JavaScript (transpiled by bench/support/build.ts),
 * it imports the library, builds the client and gets its first token from the local authority.
 * Times are milliseconds since the process started (`performance.timeOrigin`).
 *
 * It imports what an application of this kind imports: the `effect` and `@effect/platform`
 * modules it uses (not the barrels, which load every module of those packages), then the
 * library. Requests go over `FetchHttpClient` with a `fetch` that sends them to the local
 * authority (the original host in `x-forwarded-host`), as msal-node's network client does in
 * bench/support/msal.ts; the test authority's own modules are not loaded.
 */
import { performance } from "node:perf_hooks"

const baseUrl = process.argv[2] ?? ""
const boot = performance.now()
// the peer dependencies first, timed on their own: an Effect application has loaded them already
const [Effect, Layer, Redacted, FetchHttpClient] = await Promise.all([
  import("effect/Effect"),
  import("effect/Layer"),
  import("effect/Redacted"),
  import("@effect/platform/FetchHttpClient")
])
const peers = performance.now()
const { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } = await import("effect-msal")
const imported = performance.now()
const forwarding: typeof globalThis.fetch = (input, init) => {
  const original = new URL(input instanceof Request ? input.url : input)
  const headers = new Headers(init?.headers)
  headers.set("x-forwarded-host", original.host)
  return fetch(`${baseUrl}${original.pathname}${original.search}`, { ...init, headers })
}
const Live = ConfidentialClient.layer({
  clientId: "b3c6a1f0-7d2e-4c55-9a0b-2f1e3d4c5b6a",
  authority: "https://login.microsoftonline.com/7a1e0000-0000-4000-8000-000000000001"
}).pipe(
  Layer.provide(CredentialSigner.layer(ClientCredential.secret(Redacted.make("bench-s3cret")))),
  Layer.provide(TokenCache.layerMemory()),
  Layer.provide(FetchHttpClient.layer),
  Layer.provide(Layer.succeed(FetchHttpClient.Fetch, forwarding))
)
const result = await Effect.runPromise(
  Effect.flatMap(
    ConfidentialClient.ConfidentialClient,
    (client) => client.acquireTokenForClient({ scopes: ["https://graph.microsoft.com/.default"] })
  ).pipe(Effect.provide(Live))
)
const token = performance.now()
process.stdout.write(`\n@@bench ${JSON.stringify({ boot, peers, imported, token, source: result.tokenSource })}\n`)
