/**
 * One instance for bench/redis.ts (run with `node --import tsx`):
 *
 *   redisWorker.ts <store> <served authority URL> <prefix> <tenants> <seconds>
 *
 * <store> is `redis:<url>` or `cluster:<nodes as JSON>`. A client acquires app tokens for
 * tenants `tenantId(0)`…, 16 calls at a time, for <seconds> seconds after BARRIER=<path>
 * exists (it prints "ready" first), then prints `{ calls, errors, millis }`. The tokens are
 * expected to be cached already: every call is a cache hit through Redis.
 */
import { existsSync } from "node:fs"
import { Effect, Layer } from "effect"
import * as ClientCredential from "../src/ClientCredential.js"
import * as ConfidentialClient from "../src/ConfidentialClient.js"
import * as CredentialSigner from "../src/CredentialSigner.js"
import * as TestAuthority from "../src/TestAuthority.js"
import * as TokenCache from "../src/TokenCache.js"
import { AUTHORITY, CLIENT_ID, COLD_SCOPE, SECRET, tenantId } from "./support/fixtures.js"

const [store, authorityUrl, prefix, tenantsArg, secondsArg] = process.argv.slice(2)
if (
  store === undefined || authorityUrl === undefined || prefix === undefined || tenantsArg === undefined ||
  secondsArg === undefined
) {
  console.error("usage: redisWorker.ts <store> <authority url> <prefix> <tenants> <seconds>")
  process.exit(2)
}
const tenants = Number(tenantsArg)
const millis = Number(secondsArg) * 1000

const cache = store.startsWith("cluster:")
  ? TokenCache.layerRedisCluster({ nodes: JSON.parse(store.slice(8)) as Array<{ host: string; port: number }>, prefix })
  : TokenCache.layerRedis({ url: store.slice(6), prefix })

const client = ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
  Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
  Layer.provide(cache),
  Layer.provide(TestAuthority.layerHttpClientVia(authorityUrl))
)

const program = Effect.gen(function*() {
  const c = yield* ConfidentialClient.ConfidentialClient
  console.log("ready")
  const barrier = process.env.BARRIER ?? ""
  for (let i = 0; i < 6000 && !existsSync(barrier); i++) yield* Effect.sleep("10 millis")
  let calls = 0
  let errors = 0
  const start = Date.now()
  yield* Effect.forEach(Array.from({ length: 16 }, (_, lane) => lane), (lane) =>
    Effect.gen(function*() {
      for (let i = lane; Date.now() - start < millis; i += 16) {
        const ok = yield* Effect.match(
          c.acquireTokenForClient({ scopes: [COLD_SCOPE], tenant: tenantId(i % tenants) }),
          {
            onFailure: () => false,
            onSuccess: (r) => r.tokenSource === "cache"
          }
        )
        if (ok) calls++
        else errors++
      }
    }), { concurrency: "unbounded", discard: true })
  console.log(JSON.stringify({ calls, errors, millis: Date.now() - start }))
})

Effect.runPromise(Effect.provide(program, client)).then(() => process.exit(0), (e: unknown) => {
  console.error(e)
  process.exit(1)
})
