/**
 * The spans and counters of a client, printed: `npx tsx examples/tracing.ts`.
 *
 * It runs against the in-process test authority, so it needs no tenant. In a service, replace
 * `Tracing` with your exporter (for example `@effect/opentelemetry`, see
 * docs/observability.md) and `TestAuthority.layerHttpClient` with `FetchHttpClient.layer`.
 */
import { Console, Effect, Layer, Tracer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, Metrics, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"

const GRAPH = "https://graph.microsoft.com/.default"

/** Records every span of the program (the default tracer keeps their attributes). */
const spans: Array<Tracer.Span> = []
const Tracing = Layer.unwrapEffect(
  Effect.map(Effect.tracer, (base) =>
    Layer.setTracer(Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        const span = base.span(name, parent, context, links, startTime, kind, options)
        spans.push(span)
        return span
      },
      context: base.context
    })))
)

const MsalLive = ConfidentialClient.layer({
  clientId: "11111111-2222-3333-4444-555555555555",
  authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com"
}).pipe(
  Layer.provide(CredentialSigner.layer(ClientCredential.secret("example-secret"))),
  Layer.provide(TokenCache.layerMemory()),
  Layer.provide(TestAuthority.layerHttpClient),
  Layer.provide(TestAuthority.layer())
)

const program = Effect.gen(function*() {
  const client = yield* ConfidentialClient.ConfidentialClient
  yield* client.acquireTokenForClient({ scopes: [GRAPH] }) // a miss: one request
  yield* client.acquireTokenForClient({ scopes: [GRAPH] }) // a hit
  yield* client.acquireTokenForClient({ scopes: [GRAPH], claims: "{\"access_token\":{\"nbf\":{\"essential\":true}}}" })
})

const main = Effect.gen(function*() {
  yield* program.pipe(Effect.provide(Layer.merge(MsalLive, Tracing)))
  for (const span of spans.filter((s) => s.name.startsWith("ConfidentialClient."))) {
    yield* Console.log(span.name, Object.fromEntries(span.attributes))
  }
  yield* Console.log("counters", yield* Metrics.totals)
})

Effect.runPromise(main).catch((error: unknown) => {
  console.error(String(error))
  process.exitCode = 1
})
