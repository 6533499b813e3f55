/** The measurements of bench/redis.ts. */
import { randomBytes } from "node:crypto"
import { Context, Effect, Layer, Redacted } from "effect"
import type { CacheEntry as Entry } from "../../src/index.js"
import * as ClientCredential from "../../src/ClientCredential.js"
import * as ConfidentialClient from "../../src/ConfidentialClient.js"
import * as CredentialSigner from "../../src/CredentialSigner.js"
import * as TestAuthority from "../../src/TestAuthority.js"
import * as TokenCache from "../../src/TokenCache.js"
import {
  AUTHORITY,
  CLIENT_ID,
  COLD_SCOPE,
  fakeToken,
  HOST,
  scopeOf,
  SECRET,
  TOKEN_LENGTH,
  tenantId
} from "./fixtures.js"

interface Counted {
  readonly eval: (script: string, numkeys: number, ...args: Array<string | number>) => Promise<unknown>
  readonly evalsha: (sha1: string, numkeys: number, ...args: Array<string | number>) => Promise<unknown>
  readonly hget: (key: string, field: string) => Promise<string | null>
}

export interface Config {
  readonly tenants: number
  readonly single: { readonly url: string; readonly client: Counted; readonly memory: () => Promise<number> }
  readonly cluster: {
    readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
    readonly client: Counted
    readonly memory: () => Promise<number>
  }
  readonly throughput: (
    store: string,
    authorityUrl: string,
    prefix: string
  ) => Promise<{ callsPerSecond: number; errors: number }>
}

/** `used_memory` summed over the given servers (the masters of a cluster). */
export const usedMemory = async (servers: ReadonlyArray<{ info: (section: string) => Promise<string> }>) => {
  let total = 0
  for (const s of servers) total += Number(/used_memory:(\d+)/.exec(await s.info("memory"))?.[1] ?? 0)
  return total
}

const now = () => Math.floor(Date.now() / 1000)

const entry = (tenant: number, scope: number): Entry.AccessToken => ({
  credential_type: "AccessToken",
  secret: Redacted.make(fakeToken()),
  home_account_id: "",
  environment: HOST,
  client_id: CLIENT_ID,
  realm: tenantId(tenant),
  target: scopeOf(scope),
  token_type: "Bearer",
  cached_at: now(),
  expires_on: now() + 3599,
  extended_expires_on: now() + 3599
})

/** Bytes of Redis memory per stored app token: <tenants> × 3 of them, in batches of 300. */
const memoryPerEntry = (
  layer: Layer.Layer<TokenCache.TokenCache, unknown>,
  memory: () => Promise<number>,
  tenants: number
) =>
  Effect.gen(function*() {
    const cache = Context.get(yield* Layer.build(layer), TokenCache.TokenCache)
    const before = yield* Effect.promise(memory)
    for (let t = 0; t < tenants; t += 100) {
      const batch: Array<TokenCache.Change> = []
      for (let i = t; i < Math.min(tenants, t + 100); i++) {
        for (let s = 0; s < 3; s++) batch.push({ _tag: "Put", section: "AccessToken", entry: entry(i, s) })
      }
      yield* cache.modify(batch)
    }
    const after = yield* Effect.promise(memory)
    return Math.round((after - before) / (tenants * 3))
  }).pipe(Effect.scoped)

/** Commands sent for one miss and one hit of `acquireTokenForClient` (scripts already loaded). */
const roundTrips = (store: (client: Counted) => Layer.Layer<TokenCache.TokenCache, unknown>, client: Counted) =>
  Effect.gen(function*() {
    const calls: Array<string> = []
    const counted: Counted = {
      eval: (...a) => (calls.push("eval"), client.eval(...a)),
      evalsha: (...a) => (calls.push("evalsha"), client.evalsha(...a)),
      hget: (...a) => (calls.push("hget"), client.hget(...a))
    }
    const c = Context.get(
      yield* Layer.build(
        ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
          Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
          Layer.provide(store(counted)),
          Layer.provide(TestAuthority.layerHttpClient),
          Layer.provide(TestAuthority.layer())
        )
      ),
      ConfidentialClient.ConfidentialClient
    )
    const acquire = (tenant: number) => c.acquireTokenForClient({ scopes: [COLD_SCOPE], tenant: tenantId(tenant) })
    yield* acquire(1) // loads the scripts
    calls.length = 0
    yield* acquire(2)
    const miss = calls.length
    calls.length = 0
    yield* acquire(2)
    return { miss, hit: calls.length }
  }).pipe(Effect.scoped)

/** Fills 100 tenants' tokens through a client on `store`, for the throughput runs. */
const prefill = (store: Layer.Layer<TokenCache.TokenCache, unknown>) =>
  Effect.gen(function*() {
    const c = Context.get(
      yield* Layer.build(
        ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
          Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
          Layer.provide(store),
          Layer.provide(TestAuthority.layerHttpClient),
          Layer.provide(TestAuthority.layer())
        )
      ),
      ConfidentialClient.ConfidentialClient
    )
    yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) =>
      c.acquireTokenForClient({ scopes: [COLD_SCOPE], tenant: tenantId(i) }), { concurrency: 10, discard: true })
  }).pipe(Effect.scoped)

export type Figures = Effect.Effect.Success<ReturnType<typeof all>>

export const all = (config: Config) =>
  Effect.gen(function*() {
    const encryption = { key: { id: "bench", key: Redacted.make(randomBytes(32)) } }
    const { cluster, single, tenants } = config
    const memory = {
      single: yield* memoryPerEntry(
        TokenCache.layerRedis({ url: single.url, prefix: "mem1:" }),
        single.memory,
        tenants
      ),
      singleEncrypted: yield* memoryPerEntry(
        TokenCache.layerRedis({ url: single.url, prefix: "mem2:", encryption }),
        single.memory,
        tenants
      ),
      cluster: yield* memoryPerEntry(
        TokenCache.layerRedisCluster({ nodes: cluster.nodes, prefix: "mem3:" }),
        cluster.memory,
        tenants
      )
    }
    const trips = {
      single: yield* roundTrips((client) => TokenCache.layerRedis({ client, prefix: "rt1:" }), single.client),
      cluster: yield* roundTrips((client) => TokenCache.layerRedisCluster({ client, prefix: "rt2:" }), cluster.client)
    }
    yield* prefill(TokenCache.layerRedis({ url: single.url, prefix: "hit1:" }))
    yield* prefill(TokenCache.layerRedisCluster({ nodes: cluster.nodes, prefix: "hit2:" }))
    const server = yield* TestAuthority.serve().pipe(Effect.provide(TestAuthority.layer()))
    const hits = {
      single: yield* Effect.promise(() => config.throughput(`redis:${single.url}`, server.url, "hit1:")),
      cluster: yield* Effect.promise(() =>
        config.throughput(`cluster:${JSON.stringify(cluster.nodes)}`, server.url, "hit2:")
      )
    }
    return { tokenLength: TOKEN_LENGTH, tenants, memory, roundTrips: trips, hits }
  }).pipe(Effect.scoped)

const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`

/** The table written into docs/caches.md. */
export const markdown = (
  f: Figures,
  run: { readonly tenants: number; readonly seconds: number; readonly processes: number }
) => {
  const tokens = 300_000
  // a token in use is replaced once per refresh_in (or 300 s before it expires without one)
  const perHour = (every: number) => Math.round((tokens * 3600) / every).toLocaleString("en")
  return [
    `| | one Redis | Redis Cluster (3 masters) |`,
    `| --- | --- | --- |`,
    `| memory per app token (${f.tokenLength}-character token; ${
      run.tenants.toLocaleString("en")
    } tenants × 3 scopes) | ${f.memory.single} B (${f.memory.singleEncrypted} B encrypted) | ${f.memory.cluster} B, summed over the masters (replicas hold as much again) |`,
    `| round trips per cache hit | ${f.roundTrips.single.hit} | ${f.roundTrips.cluster.hit} |`,
    `| round trips per miss (lookups, lock, write, unlock) | ${f.roundTrips.single.miss} | ${f.roundTrips.cluster.miss} |`,
    `| cache hits per second, ${run.processes} processes × 16 concurrent calls, ${run.seconds} s | ${
      f.hits.single.callsPerSecond.toLocaleString("en")
    } (${f.hits.single.errors} errors) | ${
      f.hits.cluster.callsPerSecond.toLocaleString("en")
    } (${f.hits.cluster.errors} errors) |`,
    `| 100,000 tenants × 3 scopes: memory | ${mb(tokens * f.memory.single)} (${
      mb(tokens * f.memory.singleEncrypted)
    } encrypted) | ${mb(tokens * f.memory.cluster)} over 3 masters |`,
    `| 100,000 tenants × 3 scopes: token requests per hour, tokens of 3,599 s without refresh_in | ${
      perHour(3599 - 300)
    } | same |`,
    `| the same, tokens of 86,399 s with refresh_in 43,200 s | ${perHour(43_200)} | same |`
  ].join("\n")
}
