import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger, Option, Redacted, TestClock } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, HttpCache, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"

const DAY = 24 * 60 * 60 * 1000
const ok = (body: string): HttpCache.CachedResponse => ({ status: 200, body })

/** Runs an effect and returns what it logged at warning level or above. */
const warnings = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning" || logLevel._tag === "Error") {
        lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      }
    })
    const result = yield* effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return [result, lines] as const
  })

describe("HttpCache memory store", () => {
  it.effect("keeps an answer for 24 hours by default", () =>
    Effect.gen(function*() {
      const cache = yield* HttpCache.makeMemory()
      yield* cache.set("GET https://a", ok("A"))
      yield* TestClock.adjust(DAY - 1)
      expect(yield* cache.get("GET https://a")).toEqual(Option.some(ok("A")))
      yield* TestClock.adjust(1)
      expect(yield* cache.get("GET https://a")).toEqual(Option.none())
      expect(yield* cache.entries).toEqual([])
    }))

  it.effect("honours a custom time to live", () =>
    Effect.gen(function*() {
      const cache = yield* HttpCache.makeMemory({ timeToLive: "1 minute" })
      yield* cache.set("k", ok("v"))
      yield* TestClock.adjust("59 seconds")
      expect(Option.isSome(yield* cache.get("k"))).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(Option.isNone(yield* cache.get("k"))).toBe(true)
    }))

  it.effect("does not serve an entry when the clock goes back before it was stored", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(10_000)
      const cache = yield* HttpCache.makeMemory()
      yield* cache.set("k", ok("v"))
      yield* TestClock.setTime(5_000)
      expect(Option.isNone(yield* cache.get("k"))).toBe(true)
    }))

  it.effect("is bounded: a full cache drops its oldest entry", () =>
    Effect.gen(function*() {
      const cache = yield* HttpCache.makeMemory({ capacity: 3 })
      for (const k of ["a", "b", "c", "d"]) {
        yield* cache.set(k, ok(k))
        yield* TestClock.adjust("1 second")
      }
      expect((yield* cache.entries).map(([k]) => k)).toEqual(["b", "c", "d"])
      yield* cache.set("b", ok("b2")) // re-storing moves b to the newest place
      yield* cache.set("e", ok("e"))
      expect((yield* cache.entries).map(([k]) => k)).toEqual(["d", "b", "e"])
    }))

  it.effect("the default bound is 1024 entries", () =>
    Effect.gen(function*() {
      const cache = yield* HttpCache.makeMemory()
      for (let i = 0; i <= HttpCache.DEFAULT_CAPACITY; i++) yield* cache.set(`k${i}`, ok("x"))
      const keys = (yield* cache.entries).map(([k]) => k)
      expect(keys).toHaveLength(1024)
      expect(keys[0]).toBe("k1")
      expect(HttpCache.DEFAULT_CAPACITY).toBe(1024)
    }))

  it.effect("does not keep oversized bodies", () =>
    Effect.gen(function*() {
      const cache = yield* HttpCache.makeMemory()
      yield* cache.set("big", ok("x".repeat(300 * 1024)))
      expect(Option.isNone(yield* cache.get("big"))).toBe(true)
    }))
})

describe("HttpCache serialisation", () => {
  it.effect("round-trips live entries between caches", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      const json = yield* Effect.gen(function*() {
        const cache = yield* HttpCache.HttpCache
        yield* cache.set("GET https://a", ok("{\"a\":1}"))
        yield* cache.set("GET https://b", { status: 204, body: "" })
        return yield* HttpCache.serialize
      }).pipe(Effect.provide(HttpCache.layerMemory()))
      expect(JSON.parse(json)).toMatchObject({ format: "effect-msal/HttpCache", version: 1 })
      const [entries, logged] = yield* warnings(
        Effect.zipRight(HttpCache.deserialize(json), Effect.flatMap(HttpCache.HttpCache, (c) => c.entries)).pipe(
          Effect.provide(HttpCache.layerMemory())
        )
      )
      expect(entries.map(([k, e]) => [k, e.status, e.body, e.expiresAt])).toEqual([
        ["GET https://a", 200, "{\"a\":1}", 1_000_000 + DAY],
        ["GET https://b", 204, "", 1_000_000 + DAY]
      ])
      expect(logged).toEqual([])
    }))

  it.effect("drops entries that expired while persisted, and applies the bound", () =>
    Effect.gen(function*() {
      const entry = (storedAt: number) => ({ status: 200, body: "x", storedAt, expiresAt: storedAt + DAY })
      const json = JSON.stringify({
        format: "effect-msal/HttpCache",
        version: 1,
        entries: { old: entry(0), a: entry(DAY), b: entry(DAY + 1), c: entry(DAY + 2) }
      })
      yield* TestClock.setTime(DAY + 10)
      const entries = yield* Effect.zipRight(
        HttpCache.deserialize(json),
        Effect.flatMap(HttpCache.HttpCache, (c) => c.entries)
      )
        .pipe(Effect.provide(HttpCache.layerMemory({ capacity: 2 })))
      expect(entries.map(([k]) => k)).toEqual(["b", "c"])
    }))

  const CORRUPT: ReadonlyArray<readonly [string, string]> = [
    ["not JSON", "{{{"],
    ["empty", ""],
    ["an empty object", "{}"],
    ["a newer format", JSON.stringify({ format: "effect-msal/HttpCache", version: 2, entries: {} })],
    ["MSAL Python's dict", JSON.stringify({ _index_: [[], {}], "GET https://x hash=abc 2xx": "response" })],
    [
      "an error answer",
      JSON.stringify({
        format: "effect-msal/HttpCache",
        version: 1,
        entries: { k: { status: 500, body: "", storedAt: 0, expiresAt: 1 } }
      })
    ]
  ]
  for (const [name, json] of CORRUPT) {
    it.effect(`${name}: ignored with a warning, the cache keeps what it had`, () =>
      Effect.gen(function*() {
        const cache = yield* HttpCache.HttpCache
        yield* cache.set("kept", ok("v"))
        const [, logged] = yield* warnings(HttpCache.deserialize(json))
        expect(logged).toHaveLength(1)
        expect(logged[0]).toContain("HTTP cache could not be read")
        expect((yield* cache.entries).map(([k]) => k)).toEqual(["kept"])
      }).pipe(Effect.provide(HttpCache.layerMemory())))
  }
})

describe("HttpCache with a client", () => {
  const services = (settings?: Partial<TestAuthority.Settings>) =>
    Layer.mergeAll(
      CredentialSigner.layer(ClientCredential.secret(SECRET)),
      TokenCache.layerMemory(),
      HttpCache.layerMemory()
    ).pipe(Layer.provideMerge(TestAuthority.layerHttpClient), Layer.provideMerge(TestAuthority.layer(settings)))

  const acquireWithNewClient = (options: Partial<ConfidentialClient.Options>) =>
    Effect.scoped(
      Effect.flatMap(
        ConfidentialClient.make({ clientId: CLIENT_ID, ...options }),
        (c) => c.acquireTokenForClient({ scopes: [GRAPH] })
      )
    )
  const getCount = Effect.flatMap(TestAuthority.TestAuthority, (a) => a.requests).pipe(
    Effect.map((rs) => rs.filter((r) => r.method === "GET").length)
  )

  it.effect("new clients reuse discovery for 24 hours, then ask again", () =>
    Effect.gen(function*() {
      const options = { authority: "https://login.contoso-cloud.example/contoso" }
      yield* acquireWithNewClient(options)
      expect(yield* getCount).toBe(2)
      yield* TestClock.adjust(DAY - 1)
      yield* acquireWithNewClient(options)
      expect(yield* getCount).toBe(2)
      yield* TestClock.adjust(1)
      yield* acquireWithNewClient(options)
      expect(yield* getCount).toBe(4)
    }).pipe(Effect.provide(services())))

  it.effect("failed answers are not kept", () =>
    Effect.gen(function*() {
      const options = { authority: "https://contoso.ciamlogin.com" }
      expect((yield* Effect.flip(acquireWithNewClient(options)))._tag).toBe("AuthorityError")
      expect((yield* Effect.flip(acquireWithNewClient(options)))._tag).toBe("AuthorityError")
      expect(yield* getCount).toBe(2)
      expect(yield* Effect.flatMap(HttpCache.HttpCache, (c) => c.entries)).toEqual([])
    }).pipe(Effect.provide(services({
      getResponses: { "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration": { status: 400, body: {} } }
    }))))

  it.effect("holds no tokens and no VM metadata: only discovery documents and the IMDS location", () =>
    Effect.gen(function*() {
      const result = yield* acquireWithNewClient({
        authority: "https://login.contoso-cloud.example/contoso",
        azureRegion: "discover"
      }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      const json = yield* HttpCache.serialize
      expect(json).not.toContain(Redacted.value(result.accessToken))
      expect(json).not.toContain("subscriptionId")
      expect(json).not.toContain("11111111-1111-1111-1111-111111111111")
      expect(json).not.toContain(SECRET)
      const entries = yield* Effect.flatMap(HttpCache.HttpCache, (c) => c.entries)
      expect(entries.map(([k]) => k.split("?")[0])).toEqual([
        "GET https://login.microsoftonline.com/common/discovery/instance",
        "GET https://login.contoso-cloud.example/contoso/v2.0/.well-known/openid-configuration",
        "GET http://169.254.169.254/metadata/instance/compute"
      ])
      expect(entries[2]![1].body).toBe("{\"location\":\"westus2\"}")
    }).pipe(Effect.provide(services({ imdsLocation: "westus2" }))))
})
