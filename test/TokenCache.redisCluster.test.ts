/**
 * The Redis store on a real Redis Cluster: 3 masters and 3 replicas of Debian's redis-server,
 * started and stopped here (test/cache/redisCluster.ts).
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, Redacted, Schedule } from "effect"
import { Cluster } from "ioredis"
import { CacheEntry, ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { accessToken, liveFor, putTokens, refreshToken } from "./cache/entries.js"
import { bundled, runWorkers } from "./cache/processes.js"
import { countCommands } from "./cache/redisServer.js"
import { storeContract } from "./cache/storeContract.js"
import type { RedisCluster } from "./cache/redisCluster.js"
import { startCluster } from "./cache/redisCluster.js"
import { AUTHORITY, CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"

let cluster: RedisCluster
let admin: Cluster
const CLUSTER_WORKER = new URL("./cache/clusterWorker.ts", import.meta.url).pathname
beforeAll(async () => {
  // the worker processes' bundle is built while the nodes start (a cluster started is stopped
  // by afterAll even when the bundle fails)
  const [started, bundle] = await Promise.allSettled([startCluster(), bundled(CLUSTER_WORKER)])
  if (started.status === "fulfilled") cluster = started.value
  for (const r of [started, bundle]) if (r.status === "rejected") throw r.reason
  await cluster.waitHealthy(60_000)
  admin = new Cluster(cluster.nodes.slice(0, 1))
  admin.on("error", () => undefined)
}, 120_000)
afterAll(async () => {
  await admin?.quit().catch(() => undefined)
  await cluster?.stop()
}, 30_000)

let n = 0
const prefix = () => `c${++n}:`
const token = (target: string, realm?: string, secret?: string, ttlSeconds?: number) =>
  accessToken(target, { realm, secret, ...liveFor(ttlSeconds) })

const open = (options: Partial<TokenCache.RedisClusterOptions>) =>
  Layer.build(TokenCache.layerRedisCluster({ nodes: cluster.nodes.slice(0, 2), ...options })).pipe(
    Effect.map(Context.get(TokenCache.TokenCache))
  )

const slot = (key: string) => Effect.promise(() => admin.cluster("KEYSLOT", key))
const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

describe("Redis Cluster store", () => {
  it.live(
    "keys are hash-tagged: an entry and its lock share a slot, TTLs come from expiry, entries spread over the masters",
    () =>
      Effect.gen(function*() {
        const p = prefix()
        const cache = yield* open({ prefix: p })
        const tokens = Array.from({ length: 60 }, (_, i) =>
          token("https://graph.microsoft.com/.default", `t${i}`, `s${i}`, 600))
        yield* putTokens(cache, ...tokens)
        const key = CacheEntry.keyOf("AccessToken", tokens[0]!)
        const entryKey = `${p}e:AccessToken:{${key}}`
        expect(yield* slot(entryKey)).toBe(yield* slot(`${p}l:{${key}}`))
        const ttl = yield* promise(() =>
          admin.pttl(entryKey)
        )
        expect(ttl).toBeGreaterThan(590_000)
        expect(ttl).toBeLessThanOrEqual(600_000)
        expect(JSON.parse((yield* promise(() => admin.hget(entryKey, "d")))!)).toMatchObject({
          credential_type: "AccessToken",
          secret: "s0"
        })
        const partition = CacheEntry.partitionOf("AccessToken", tokens[0]!)
        expect(yield* promise(() => admin.smembers(`${p}p:AccessToken:{${partition}}`))).toEqual([key])
        // the lock is taken in the entry's slot while the effect runs, and released after
        const held = yield* cache.withLock!(key, promise(() => admin.get(`${p}l:{${key}}`)))
        expect(held).toMatch(/^[0-9a-f]{32}$/)
        expect(yield* promise(() => admin.exists(`${p}l:{${key}}`))).toBe(0)
        // 60 tenants' tokens are on all three masters, not in one slot
        const perMaster = yield* Effect.forEach(yield* promise(() => cluster.masters()), (port) =>
          promise(() =>
            cluster.cli(port, "--scan", "--pattern", `${p}e:*`)
          ).pipe(Effect.map((out) => out.split("\n").filter((l) => l !== "").length)))
        expect(perMaster).toHaveLength(3)
        for (const count of perMaster)
          expect(count).toBeGreaterThan(5)
        expect((yield* cache.list("AccessToken")).length).toBe(60)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live("get is one round trip; a partition listing is two", () =>
    Effect.gen(function*() {
      const client = new Cluster(cluster.nodes.slice(0, 1))
      const { calls, counted } = countCommands(client)
      const cache = yield* open({ prefix: prefix(), client: counted, nodes: undefined })
      yield* putTokens(cache, token("a"), token("b"))
      yield* cache.list("AccessToken", CacheEntry.partitionOf("AccessToken", token("a"))) // loads the scripts
      calls.length = 0
      const found = yield* cache.get("AccessToken", CacheEntry.keyOf("AccessToken", token("a")))
      expect(Option.map(found, (t) => Redacted.value(t.secret))).toEqual(Option.some("secret-a"))
      expect(calls).toEqual(["hget"])
      calls.length = 0
      const listed = yield* cache.list("AccessToken", CacheEntry.partitionOf("AccessToken", token("a")))
      expect(listed.map((t) => t.target).sort()).toEqual(["a", "b"])
      expect(calls).toEqual(["evalsha", "hget", "hget"])
      yield* promise(() => client.quit())
    }).pipe(Effect.scoped), 60_000)

  it.live(
    "refresh-token compare-and-set under contention: 4 instances writing 200 rotations in any order keep the newest",
    () =>
      Effect.gen(function*() {
        const p = prefix()
        const instances = yield* Effect.forEach([0, 1, 2, 3], () => open({ prefix: p }))
        const versions = Array.from({ length: 200 }, (_, i) => i + 1).sort(() => Math.random() - 0.5)
        yield* Effect.forEach(versions, (v, i) =>
          instances[i % 4]!.modify([{ _tag: "Put", section: "RefreshToken", entry: refreshToken(`rt-${v}`, v) }]), {
          concurrency: 16,
          discard: true
        })
        const key = CacheEntry.keyOf("RefreshToken", refreshToken("", 0))
        for (const instance of instances) {
          expect(Option.map(yield* instance.get("RefreshToken", key), (t) =>
            Redacted.value(t.secret))).toEqual(Option.some("rt-200"))
        }
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "encryption at rest: no token in clear, a value moved to another key is a miss, unknown sections encrypted",
    () =>
      Effect.gen(function*() {
        const p = prefix()
        const encryption = { key: { id: "k1", key: Redacted.make(randomBytes(32)) } }
        const cache = yield* open({ prefix: p, encryption })
        yield* putTokens(cache, token("a", "tenant", "top-secret"), token("b", "tenant", "other"))
        const keyA = `${p}e:AccessToken:{${CacheEntry.keyOf("AccessToken", token("a"))}}`
        const raw = (yield* promise(() => admin.hget(keyA, "d")))!
        expect(raw).not.toContain("top-secret")
        expect(JSON.parse(raw)).toMatchObject({ alg: "aes-256-gcm", kid: "k1" })
        yield* promise(() => admin.hset(`${p}e:AccessToken:{${CacheEntry.keyOf("AccessToken", token("b"))}}`, "d", raw))
        expect(yield* cache.get("AccessToken", CacheEntry.keyOf("AccessToken", token("b")))).toEqual(Option.none())
        const snapshot = yield* cache.snapshot
        yield* cache.restore({ ...snapshot, unknown: { AccessToken_With_AuthScheme: { k: { secret: "pop-secret" } } } })
        const unknown = (yield* promise(() => admin.get(`${p}unknown`)))!
        expect(unknown).not.toContain("pop-secret")
        expect(JSON.parse(unknown)).toMatchObject({ alg: "aes-256-gcm" })
        expect((yield* cache.snapshot).unknown).toEqual({
          AccessToken_With_AuthScheme: { k: { secret: "pop-secret" } }
        })
      }).pipe(Effect.scoped),
    60_000
  )

  it.live("serialize and deserialize through the cluster replace everything", () =>
    Effect.gen(function*() {
      const p = prefix()
      const cache = yield* open({ prefix: p })
      yield* putTokens(cache, ...Array.from({ length: 20 }, (_, i) => token("x", `t${i}`)))
      yield* cache.modify([{ _tag: "Put", section: "RefreshToken", entry: refreshToken("rt", 1) }])
      const snapshot = yield* cache.snapshot
      expect(snapshot.entries.AccessToken).toHaveLength(20)
      yield* cache.restore({
        ...snapshot,
        entries: { ...snapshot.entries, AccessToken: snapshot.entries.AccessToken.slice(0, 5) }
      })
      expect(yield* cache.list("AccessToken")).toHaveLength(5)
      expect(yield* cache.list("RefreshToken")).toHaveLength(1)
      const keys = yield* Effect.forEach(yield* promise(() => cluster.masters()), (port) =>
        promise(() => cluster.cli(port, "--scan", "--pattern", `${p}e:AccessToken:*`)))
      expect(keys.flatMap((out) =>
        out.split("\n").filter((l) => l !== "")
      )).toHaveLength(5)
    }).pipe(Effect.scoped), 60_000)
})

describe("Redis Cluster store shared by processes", () => {
  it.live(
    "4 processes racing for the same 30 tenants' tokens at once send 30 token requests",
    () =>
      Effect.gen(function*() {
        const authority = yield* TestAuthority.TestAuthority
        const server = yield* TestAuthority.serve()
        const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "effect-msal-cluster-procs-"))
        const p = prefix()
        const args = [JSON.stringify(cluster.nodes.slice(0, 3)), server.url, p, "30"]
        const outcomes = yield* promise(() =>
          runWorkers(
            [0, 1, 2, 3].map(() => args),
            nodePath.join(dir, "go"),
            CLUSTER_WORKER
          ).finally(() => fs.rmSync(dir, { recursive: true, force: true }))
        )
        expect(outcomes.map((o) => [o.code, o.stderr])).toEqual(outcomes.map(() => [0, ""]))
        const results = outcomes.map((o) => JSON.parse(o.stdout.trim().split("\n").at(-1)!))
        expect(results.map((r) => r.errors)).toEqual([{}, {}, {}, {}])
        const sources = results.reduce((a, r) => ({
          cache: a.cache + (r.sources.cache ?? 0),
          identity_provider: a.identity_provider + (r.sources.identity_provider ?? 0)
        }), { cache: 0, identity_provider: 0 })
        expect(sources).toEqual({ cache: 90, identity_provider: 30 })
        expect((yield* authority.tokenRequests).length).toBe(30)
      }).pipe(Effect.scoped, Effect.provide(TestAuthority.layer({ latency: "200 millis" }))),
    120_000
  )
})

describe("Redis Cluster slot migration", () => {
  it.live(
    "an entry whose slot is moving (ASK) and then moved (MOVED) to another master is still found",
    () =>
      Effect.gen(function*() {
        const p = prefix()
        const cache = yield* open({ prefix: p })
        const entry = token("migrating", "tenant-m", "s-m")
        const key = CacheEntry.keyOf("AccessToken", entry)
        const entryKey = `${p}e:AccessToken:{${key}}`
        yield* putTokens(cache, entry)
        const found = Effect.map(cache.get("AccessToken", key), Option.map((t) => Redacted.value(t.secret)))
        expect(yield* found).toEqual(Option.some("s-m"))
        const cli = (port: number, ...args: Array<string>) =>
          promise(() => cluster.cli(port, ...args)).pipe(Effect.map((s) => s.trim()))
        const s = String(yield* slot(entryKey))
        const masters = yield* promise(() => cluster.masters())
        const ids = new Map<number, string>()
        for (const port of masters) ids.set(port, yield* cli(port, "cluster", "myid"))
        let from = 0
        for (const port of masters) {
          if ((yield* cli(port, "cluster", "countkeysinslot", s)) !== "0") from = port
        }
        const to = masters.find((port) => port !== from)!
        // the migration protocol of https://redis.io/docs/latest/commands/cluster-setslot/
        yield* cli(to, "cluster", "setslot", s, "importing", ids.get(from)!)
        yield* cli(from, "cluster", "setslot", s, "migrating", ids.get(to)!)
        yield* cli(from, "migrate", "127.0.0.1", String(to), "", "0", "5000", "keys", entryKey)
        // the old owner answers ASK for the moved key: ioredis follows it
        expect(yield* found).toEqual(Option.some("s-m"))
        for (const port of masters) yield* cli(port, "cluster", "setslot", s, "node", ids.get(to)!)
        // now MOVED: ioredis follows it and refreshes its slot map
        expect(yield* found).toEqual(Option.some("s-m"))
        expect(yield* cli(to, "cluster", "countkeysinslot", s)).toBe("1")
        // and the entry can be rewritten and listed on its new master
        yield* putTokens(cache, { ...entry, secret: Redacted.make("s-m2") })
        expect(yield* found).toEqual(Option.some("s-m2"))
      }).pipe(Effect.scoped),
    60_000
  )
})

storeContract("Redis Cluster", {
  shared: true,
  timeout: 60_000,
  location: () => {
    const p = prefix()
    return () => TokenCache.layerRedisCluster({ nodes: cluster.nodes, prefix: p })
  }
})

/** A client on the cluster with an in-process authority; it lives until the test's scope closes. */
const clusterClient = (p: string) =>
  Effect.map(
    Layer.build(
      ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, timeout: "5 seconds" }).pipe(
        Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
        Layer.provide(TokenCache.layerRedisCluster({ nodes: cluster.nodes, prefix: p })),
        Layer.provide(TestAuthority.layerHttpClient)
      )
    ),
    Context.get(ConfidentialClient.ConfidentialClient)
  )

// runs last: it leaves the cluster with one replica fewer
describe("Redis Cluster failover", () => {
  it.live(
    "a master killed under load: every call gets a token or a CacheError within the client's timeout, during the failover and after it; after the promotion, that shard's tokens are served with no new request",
    () =>
      Effect.gen(function*() {
        const authority = yield* TestAuthority.TestAuthority
        const client = yield* clusterClient(prefix())
        const acquire = (i: number) => client.acquireTokenForClient({ scopes: [GRAPH], tenant: `t${i % 100}.example` })
        yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), acquire, { concurrency: 25, discard: true })
        expect((yield* authority.tokenRequests).length).toBe(100)
        yield* promise(() => cluster.waitReplicated(30_000))
        const masters = yield* promise(() => cluster.masters())
        const killed = cluster.processes.find((x) => x.port === masters[0])!
        // the shard that fails holds some of the tenants' tokens (its replica must serve them)
        expect(Number(yield* promise(() => cluster.cli(killed.port, "dbsize")))).toBeGreaterThan(10)
        type Outcome = { readonly outcome: string; readonly millis: number; readonly start: number }
        const outcomes: Array<Outcome> = []
        let killedAt = 0
        let promotedAt = 0
        const deadline = Date.now() + 60_000
        // the failover: 1 s to declare the master failed (cluster-node-timeout), then a replica's election
        const promotion = Effect.gen(function*() {
          while (!(yield* promise(() => cluster.isHealthy(killed.port))) && Date.now() < deadline) {
            yield* Effect.sleep("20 millis")
          }
          promotedAt = Date.now()
        })
        const LANES = 20
        // each of 20 callers calls about 10 times a second from before the kill until it has
        // made 5 calls that started after the promotion
        const lane = (lane: number) =>
          Effect.gen(function*() {
            let afterPromotion = 0
            for (let j = 0; afterPromotion < 5 && Date.now() < deadline; j++) {
              const i = lane + LANES * j
              if (i === 2 * LANES) {
                killed.child.kill("SIGKILL")
                killedAt = Date.now()
                yield* Effect.forkScoped(promotion)
              }
              const start = Date.now()
              if (promotedAt > 0 && start >= promotedAt) afterPromotion++
              const outcome = yield* acquire(i).pipe(
                Effect.timeoutFail({ duration: "8 seconds", onTimeout: () => ({ _tag: "Hung" as const }) }),
                Effect.match({ onFailure: (e) => e._tag, onSuccess: (r) => r.tokenSource })
              )
              outcomes.push({ outcome, millis: Date.now() - start, start })
              yield* Effect.sleep("100 millis")
            }
          })
        yield* Effect.forEach(Array.from({ length: LANES }, (_, l) => l), lane, {
          concurrency: "unbounded",
          discard: true
        })
        const counts: Record<string, number> = {}
        for (const o of outcomes) counts[o.outcome] = (counts[o.outcome] ?? 0) + 1
        const maxMillis = Math.max(...outcomes.map((o) => o.millis))
        const during = outcomes.filter((o) => o.start >= killedAt && o.start < promotedAt).length
        if (process.env.EFFECT_MSAL_VERBOSE !== undefined) {
          console.log(JSON.stringify({ counts, maxMillis, during, failoverMillis: promotedAt - killedAt }))
        }
        // the replica took over (promotedAt is set at the deadline too)
        expect(yield* promise(() => cluster.isHealthy(killed.port))).toBe(true)
        expect(Object.keys(counts).filter((k) => k !== "cache" && k !== "CacheError")).toEqual([])
        expect(maxMillis).toBeLessThan(5_000)
        // the callers kept calling through the failover (at least a second long)
        expect(during).toBeGreaterThanOrEqual(LANES)
        // after the promotion every tenant's token is served from the cache: replicas had them
        const served = yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) =>
          acquire(i).pipe(
            Effect.retry({ times: 20, schedule: Schedule.spaced("250 millis") }),
            Effect.map((r) => r.tokenSource)
          ), { concurrency: 25 })
        expect(new Set(served)).toEqual(new Set(["cache"]))
        expect((yield* authority.tokenRequests).length).toBe(100)
      }).pipe(Effect.scoped, Effect.provide(TestAuthority.layer())),
    120_000
  )
})
