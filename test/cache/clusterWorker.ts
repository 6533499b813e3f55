/**
 * One instance of a service for the Redis Cluster tests (bundled by processes.ts, run with `node`):
 *
 *   clusterWorker.ts <nodes as JSON> <served authority URL> <prefix> <tenants>
 *
 * A real client on `layerRedisCluster` acquires an app token for each of <tenants> tenants
 * (`t<i>.example`), all at once, and prints one JSON line:
 * `{ sources: { cache, identity_provider }, errors: { <tag>: n }, millis }`. With
 * BARRIER=<path> it prints "ready" once its layers are built and starts when <path> exists.
 */
import { existsSync } from "node:fs"
import { Effect, Layer } from "effect"
import * as ClientCredential from "../../src/ClientCredential.js"
import * as ConfidentialClient from "../../src/ConfidentialClient.js"
import * as CredentialSigner from "../../src/CredentialSigner.js"
import * as TestAuthority from "../../src/TestAuthority.js"
import * as TokenCache from "../../src/TokenCache.js"
import { AUTHORITY, CLIENT_ID, GRAPH, SECRET } from "../support/harness.js"

const [nodesJson, authorityUrl, prefix, tenantsArg] = process.argv.slice(2)
if (nodesJson === undefined || authorityUrl === undefined || prefix === undefined || tenantsArg === undefined) {
  console.error("usage: clusterWorker.ts <nodes> <authority url> <prefix> <tenants>")
  process.exit(2)
}
const nodes = JSON.parse(nodesJson) as Array<{ host: string; port: number }>
const tenants = Number(tenantsArg)

const client = ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, timeout: "30 seconds" }).pipe(
  Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
  // a loaded test machine can stall a process for seconds: this test is about single-flight
  Layer.provide(TokenCache.layerRedisCluster({ nodes, prefix, timeout: "10 seconds" })),
  Layer.provide(TestAuthority.layerHttpClientVia(authorityUrl))
)

const barrier = Effect.gen(function*() {
  const path = process.env.BARRIER
  if (path === undefined) return
  console.log("ready")
  for (let i = 0; i < 6000 && !existsSync(path); i++) yield* Effect.sleep("10 millis")
})

const program = Effect.gen(function*() {
  const c = yield* ConfidentialClient.ConfidentialClient
  yield* barrier
  const sources: Record<string, number> = {}
  const errors: Record<string, number> = {}
  const start = Date.now()
  const calls = Array.from({ length: tenants }, (_, i) => `t${i}.example`)
  yield* Effect.forEach(calls, (tenant) =>
    c.acquireTokenForClient({ scopes: [GRAPH], tenant }).pipe(
      Effect.match({
        onFailure: (e) => {
          errors[e._tag] = (errors[e._tag] ?? 0) + 1
          console.error(e.message)
        },
        onSuccess: (r) => void (sources[r.tokenSource] = (sources[r.tokenSource] ?? 0) + 1)
      })
    ), { concurrency: "unbounded", discard: true })
  console.log(JSON.stringify({ sources, errors, millis: Date.now() - start }))
})

Effect.runPromise(Effect.provide(program, client)).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e)
    process.exit(1)
  }
)
