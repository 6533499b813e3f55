import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Logger, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import { CacheEntry, ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { accessToken, liveFor, nowSeconds, putTokens, refreshToken } from "./cache/entries.js"
import { expectOneFetch } from "./cache/processes.js"
import type { RedisServer } from "./cache/redisServer.js"
import { countCommands, startRedis } from "./cache/redisServer.js"
import { AUTHORITY, CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"

let server: RedisServer
let admin: Redis
beforeAll(async () => {
  server = await startRedis()
  admin = new Redis(server.url)
}, 30_000)
afterAll(async () => {
  await admin?.quit()
  await server?.stop()
})

let n = 0
const prefix = () => `t${++n}:`
const token = (target: string, secret?: string, ttlSeconds?: number) =>
  accessToken(target, { secret, ...liveFor(ttlSeconds) })

const open = (options: Partial<TokenCache.RedisOptions>) =>
  Layer.build(TokenCache.layerRedis({ url: server.url, ...options })).pipe(
    Effect.map(Context.get(TokenCache.TokenCache))
  )

/** A client whose every command is counted. */
const counting = () => {
  const client = new Redis(server.url)
  return { client, ...countCommands(client) }
}

describe("Redis cache", () => {
  it.live("one Redis key per entry, with a TTL from the token's expiry", () =>
    Effect.gen(function*() {
      const p = prefix()
      const cache = yield* open({ prefix: p })
      yield* putTokens(cache, token("a", "s-a", 600), token("b", "s-b", 3600))
      yield* cache.modify([{ _tag: "Put", section: "RefreshToken", entry: refreshToken("rt", nowSeconds()) }])
      const entryKeys = (yield* Effect.promise(() => admin.keys(`${p}e:*`))).sort()
      expect(entryKeys).toHaveLength(3)
      const ttlA = yield* Effect.promise(() =>
        admin.pttl(`${p}e:AccessToken:${CacheEntry.keyOf("AccessToken", token("a"))}`)
      )
      expect(ttlA).toBeGreaterThan(590_000)
      expect(ttlA).toBeLessThanOrEqual(600_000)
      const ttlRt = yield* Effect.promise(() =>
        admin.pttl(`${p}e:RefreshToken:${CacheEntry.keyOf("RefreshToken", refreshToken("rt", 0))}`)
      )
      expect(ttlRt).toBeGreaterThan(89 * 86_400_000)
      // values are MSAL JSON entries
      const raw = yield* Effect.promise(() => admin.hget(entryKeys.find((k) => k.includes(":AccessToken:"))!, "d"))
      expect(JSON.parse(raw!)).toMatchObject({ credential_type: "AccessToken", home_account_id: "" })
    }).pipe(Effect.scoped))

  it.live("get is one round trip, and so is a partition listing", () =>
    Effect.gen(function*() {
      const { calls, client, counted } = counting()
      const cache = yield* open({ prefix: prefix(), client: counted, url: undefined })
      yield* putTokens(cache, token("a"), token("b"))
      yield* cache.list("AccessToken", "warm-up") // the first use of a script loads it into Redis
      calls.length = 0
      const found = yield* cache.get("AccessToken", CacheEntry.keyOf("AccessToken", token("a")))
      expect(Option.map(found, (t) => Redacted.value(t.secret))).toEqual(Option.some("secret-a"))
      expect(calls).toEqual(["hget"])
      calls.length = 0
      const listed = yield* cache.list("AccessToken", CacheEntry.partitionOf("AccessToken", token("a")))
      expect(listed.map((t) => t.target).sort()).toEqual(["a", "b"])
      expect(calls).toEqual(["evalsha"])
      yield* Effect.promise(() => client.quit())
    }).pipe(Effect.scoped))

  it.live("instances share entries; removals and expired members disappear from listings", () =>
    Effect.gen(function*() {
      const p = prefix()
      const a = yield* open({ prefix: p })
      const b = yield* open({ prefix: p })
      yield* putTokens(a, token("x"), token("y"))
      const partition = CacheEntry.partitionOf("AccessToken", token("x"))
      expect((yield* b.list("AccessToken", partition)).map((t) => t.target).sort()).toEqual(["x", "y"])
      yield* b.modify([{ _tag: "Remove", section: "AccessToken", key: CacheEntry.keyOf("AccessToken", token("x")) }])
      // an entry whose TTL ran out is gone, and its partition membership is dropped when met
      yield* Effect.promise(() => admin.del(`${p}e:AccessToken:${CacheEntry.keyOf("AccessToken", token("y"))}`))
      expect(yield* a.list("AccessToken", partition)).toEqual([])
      expect(yield* a.list("AccessToken")).toEqual([])
      expect(yield* Effect.promise(() => admin.exists(`${p}p:AccessToken:${partition}`))).toBe(0)
    }).pipe(Effect.scoped))

  it.live("an already expired access token is not stored", () =>
    Effect.gen(function*() {
      const p = prefix()
      const cache = yield* open({ prefix: p })
      yield* putTokens(cache, token("gone", "s", -10))
      expect(yield* Effect.promise(() => admin.keys(`${p}e:*`))).toEqual([])
    }).pipe(Effect.scoped))

  it.live("refresh-token rotation is compare-and-set: an older write never replaces a newer token", () =>
    Effect.gen(function*() {
      const p = prefix()
      const a = yield* open({ prefix: p })
      const b = yield* open({ prefix: p })
      const key = CacheEntry.keyOf("RefreshToken", refreshToken("", 0))
      const secret = Effect.map(a.get("RefreshToken", key), Option.map((t) => Redacted.value(t.secret)))
      yield* a.modify([{ _tag: "Put", section: "RefreshToken", entry: refreshToken("rt-200", 200) }])
      // b finished a rotation it started earlier: its token is older
      yield* b.modify([{ _tag: "Put", section: "RefreshToken", entry: refreshToken("rt-100", 100) }])
      expect(yield* secret).toEqual(Option.some("rt-200"))
      yield* b.modify([{ _tag: "Put", section: "RefreshToken", entry: refreshToken("rt-300", 300) }])
      expect(yield* secret).toEqual(Option.some("rt-300"))
    }).pipe(Effect.scoped))

  it.live("serialize and deserialize go through Redis, unknown sections included", () =>
    Effect.gen(function*() {
      const p = prefix()
      const input = {
        AccessToken: {
          k: {
            ...JSON.parse(
              JSON.stringify({
                credential_type: "AccessToken",
                secret: "s",
                home_account_id: "",
                environment: "login.windows.net",
                client_id: "c",
                realm: "r",
                target: "t",
                cached_at: String(nowSeconds()),
                expires_on: String(nowSeconds() + 600)
              })
            )
          }
        },
        customized: { any: "thing" }
      }
      yield* TokenCache.deserialize(JSON.stringify(input)).pipe(
        Effect.provide(TokenCache.layerRedis({ url: server.url, prefix: p }))
      )
      const out = JSON.parse(
        yield* TokenCache.serialize.pipe(Effect.provide(TokenCache.layerRedis({ url: server.url, prefix: p })))
      )
      expect(out.customized).toEqual({ any: "thing" })
      expect(Object.values(out.AccessToken)).toEqual([input.AccessToken.k])
      // restore replaces everything
      yield* TokenCache.deserialize("").pipe(Effect.provide(TokenCache.layerRedis({ url: server.url, prefix: p })))
      expect(yield* Effect.promise(() => admin.keys(`${p}*`))).toEqual([])
    }))

  it.live("encrypted values hold no token in clear; another key reads them as missing, with a warning", () =>
    Effect.gen(function*() {
      const p = prefix()
      const k1 = { id: "k1", key: Redacted.make(randomBytes(32)) }
      const a = yield* open({ prefix: p, encryption: { key: k1 } })
      yield* putTokens(a, token("a", "top-secret"))
      const key = CacheEntry.keyOf("AccessToken", token("a"))
      const raw = yield* Effect.promise(() => admin.hget(`${p}e:AccessToken:${key}`, "d"))
      expect(raw).not.toContain("top-secret")
      expect(JSON.parse(raw!)).toMatchObject({ alg: "aes-256-gcm", kid: "k1" })
      expect(Option.map(yield* a.get("AccessToken", key), (t) => Redacted.value(t.secret))).toEqual(
        Option.some("top-secret")
      )
      expect((yield* a.list("AccessToken")).map((t) => t.target)).toEqual(["a"])
      // a value moved to another key fails authentication (the Redis key is bound into it)
      yield* Effect.promise(() =>
        admin.hset(`${p}e:AccessToken:${CacheEntry.keyOf("AccessToken", token("b"))}`, "d", raw!)
      )
      const lines: Array<string> = []
      const logger = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message }) => lines.push(JSON.stringify(message)))
      )
      const b = yield* open({ prefix: p, encryption: { key: { id: "k2", key: Redacted.make(randomBytes(32)) } } })
      expect(yield* b.get("AccessToken", key).pipe(Effect.provide(logger))).toEqual(Option.none())
      expect(yield* a.get("AccessToken", CacheEntry.keyOf("AccessToken", token("b"))).pipe(Effect.provide(logger)))
        .toEqual(Option.none())
      expect(lines.filter((l) => l.includes("could not be decrypted"))).toHaveLength(2)
    }).pipe(Effect.scoped))

  it.live("with encryption on, a clear value planted in Redis is a miss, not a token", () =>
    Effect.gen(function*() {
      const p = prefix()
      const plainCache = yield* open({ prefix: p })
      yield* putTokens(plainCache, token("a", "planted-token"))
      const key = CacheEntry.keyOf("AccessToken", token("a"))
      const encrypted = yield* open({
        prefix: p,
        encryption: { key: { id: "k1", key: Redacted.make(randomBytes(32)) } }
      })
      expect(yield* encrypted.get("AccessToken", key)).toEqual(Option.none())
      expect(yield* encrypted.list("AccessToken")).toEqual([])
    }).pipe(Effect.scoped))

  it.live("with encryption on, what the store does not model is encrypted too, and a clear one is not read", () =>
    Effect.gen(function*() {
      const p = prefix()
      const cache = yield* open({ prefix: p, encryption: { key: { id: "k1", key: Redacted.make(randomBytes(32)) } } })
      const unknown = { AccessToken_With_AuthScheme: { k: { secret: "pop-token-secret" } } }
      yield* cache.restore({
        entries: { AccessToken: [], RefreshToken: [], IdToken: [], Account: [], AppMetadata: [] },
        unknown
      })
      const raw = (yield* Effect.promise(() => admin.get(`${p}unknown`)))!
      expect(raw).not.toContain("pop-token-secret")
      expect(JSON.parse(raw)).toMatchObject({ alg: "aes-256-gcm", kid: "k1" })
      expect((yield* cache.snapshot).unknown).toEqual(unknown)
      // a clear value planted there is not read
      yield* Effect.promise(() => admin.set(`${p}unknown`, JSON.stringify({ planted: { secret: "x" } })))
      expect((yield* cache.snapshot).unknown).toEqual({})
    }).pipe(Effect.scoped))

  it.live("a write is checked before anything is written: a bad change leaves no entry without its TTL or index", () =>
    Effect.gen(function*() {
      const p = prefix()
      const cache = yield* open({ prefix: p })
      const partition = CacheEntry.partitionOf("AccessToken", token("a"))
      // a key of the store that holds something else: the script fails before its first write
      yield* Effect.promise(() => admin.set(`${p}p:AccessToken:${partition}`, "not a set"))
      const exit = yield* Effect.exit(putTokens(cache, token("a"), token("b")))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("CacheError")
      expect(yield* Effect.promise(() => admin.keys(`${p}e:*`))).toEqual([])
      // an expiry Redis cannot represent: nothing is sent
      yield* Effect.promise(() => admin.del(`${p}p:AccessToken:${partition}`))
      const forever = { ...token("c"), expires_on: Number.MAX_SAFE_INTEGER }
      const bad = yield* Effect.exit(putTokens(cache, token("a"), forever))
      expect(Exit.isFailure(bad) && bad.cause._tag === "Fail" && bad.cause.error).toMatchObject({
        _tag: "CacheError",
        reason: "Malformed"
      })
      expect(yield* Effect.promise(() => admin.keys(`${p}*`))).toEqual([])
    }).pipe(Effect.scoped))

  it.live("an unreachable Redis fails the layer with CacheError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(open({ url: "redis://127.0.0.1:1", prefix: prefix() })))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("CacheError")
    }))

  it.live("withLock runs the effect anyway when the lock is not released in time", () =>
    Effect.gen(function*() {
      const p = prefix()
      const cache = yield* open({ prefix: p, lockWait: "100 millis" })
      yield* Effect.promise(() => admin.set(`${p}l:busy`, "someone-else", "PX", 60_000))
      const result = yield* cache.withLock!("busy", Effect.succeed("ran"))
      expect(result).toBe("ran")
      // the other owner's lock is left alone
      expect(yield* Effect.promise(() => admin.get(`${p}l:busy`))).toBe("someone-else")
      // a lock we took is released afterwards
      yield* cache.withLock!("mine", Effect.void)
      expect(yield* Effect.promise(() => admin.exists(`${p}l:mine`))).toBe(0)
    }).pipe(Effect.scoped))

  it.live("withLock: 4 processes sharing one Redis fetch a cold token once", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "effect-msal-redis-"))
      yield* Effect.promise(() => expectOneFetch(`redis:${server.url}`, dir, `cold-${n}`))
      fs.rmSync(dir, { recursive: true, force: true })
    }), 120_000)

  it.live("acquireTokenForClient through Redis: a second instance is served from the cache", () =>
    Effect.gen(function*() {
      const p = prefix()
      const instance = ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
        Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
        Layer.provide(TokenCache.layerRedis({ url: server.url, prefix: p })),
        Layer.provide(TestAuthority.layerHttpClient)
      )
      const acquire = Effect.flatMap(
        ConfidentialClient.ConfidentialClient,
        (c) => c.acquireTokenForClient({ scopes: [GRAPH] })
      )
      const authority = yield* TestAuthority.TestAuthority
      const first = yield* Effect.provide(acquire, instance)
      const second = yield* Effect.provide(acquire, instance)
      expect(first.tokenSource).toBe("identity_provider")
      expect(second.tokenSource).toBe("cache")
      expect(Redacted.value(second.accessToken)).toBe(Redacted.value(first.accessToken))
      expect(yield* Effect.map(authority.tokenRequests, (r) => r.length)).toBe(1)
    }).pipe(Effect.provide(TestAuthority.layer())))
})
