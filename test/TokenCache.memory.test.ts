import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { CacheEntry, TokenCache } from "effect-msal"
import { makeStore } from "../src/internal/memoryCache.js"
import { accessToken, get, keyOf, put, targets } from "./cache/entries.js"

const token = (target: string, expiresOn?: number) => accessToken(target, { expiresOn })

describe("bounded in-memory cache", () => {
  it("documents its default bound", () => {
    expect(TokenCache.DEFAULT_MAX_ENTRIES).toBe(100_000)
    expect(makeStore().maxEntries).toBe(100_000)
    expect(makeStore({ maxEntries: 0 }).maxEntries).toBe(1)
    expect(makeStore({ maxEntries: Number.NaN }).maxEntries).toBe(100_000)
  })

  it.effect("keeps at most maxEntries, dropping the least recently written", () =>
    Effect.gen(function*() {
      yield* put(token("a"), token("b"), token("c"), token("d"), token("e"))
      expect(yield* targets).toEqual(["c", "d", "e"])
    }).pipe(Effect.provide(TokenCache.layerMemory({ maxEntries: 3 }))))

  it.effect("a get that finds an entry counts as a use", () =>
    Effect.gen(function*() {
      yield* put(token("a"), token("b"), token("c"))
      expect(Option.isSome(yield* get("a"))).toBe(true)
      yield* put(token("d"))
      expect(yield* targets).toEqual(["a", "c", "d"])
    }).pipe(Effect.provide(TokenCache.layerMemory({ maxEntries: 3 }))))

  it.effect("rewriting an entry counts as a use and does not grow the cache", () =>
    Effect.gen(function*() {
      yield* put(token("a"), token("b"), token("c"))
      yield* put(token("a", 20_000))
      yield* put(token("d"))
      expect(yield* targets).toEqual(["a", "c", "d"])
    }).pipe(Effect.provide(TokenCache.layerMemory({ maxEntries: 3 }))))

  it.effect("expired access tokens are evicted before the least recently used", () =>
    Effect.gen(function*() {
      yield* put(token("old"), token("expiring", 100), token("recent"))
      yield* get("old")
      yield* TestClock.setTime(200_000) // 200 s: "expiring" has expired, the others have not
      yield* put(token("new"))
      expect(yield* targets).toEqual(["new", "old", "recent"])
    }).pipe(Effect.provide(TokenCache.layerMemory({ maxEntries: 3 }))))

  it.effect("every expired token goes in one sweep when the bound is hit", () =>
    Effect.gen(function*() {
      yield* put(token("x1", 50), token("x2", 60), token("live"), token("x3", 70))
      yield* TestClock.setTime(100_000)
      yield* put(token("new"))
      expect(yield* targets).toEqual(["live", "new"])
    }).pipe(Effect.provide(TokenCache.layerMemory({ maxEntries: 4 }))))

  it.effect("an expired access token met by get or list is purged", () =>
    Effect.gen(function*() {
      yield* put(token("a", 100), token("b", 100), token("c"))
      yield* TestClock.setTime(101_000)
      expect(Option.isNone(yield* get("a"))).toBe(true)
      const cache = yield* TokenCache.TokenCache
      expect((yield* cache.snapshot).entries.AccessToken.map((t) => t.target)).toEqual(["b", "c"])
      const partition = CacheEntry.partitionOf("AccessToken", token("c"))
      expect((yield* cache.list("AccessToken", partition)).map((t) => t.target)).toEqual(["c"])
      expect((yield* cache.snapshot).entries.AccessToken.map((t) => t.target)).toEqual(["c"])
    }).pipe(Effect.provide(TokenCache.layerMemory())))

  it.effect("other sections count towards the bound and are evicted by recency", () =>
    Effect.gen(function*() {
      const cache = yield* TokenCache.TokenCache
      yield* cache.modify([{
        _tag: "Put",
        section: "AppMetadata",
        entry: { client_id: "client", environment: "login.microsoftonline.com" }
      }])
      yield* put(token("a"), token("b"))
      const snapshot = yield* cache.snapshot
      expect(snapshot.entries.AppMetadata).toEqual([])
      expect(snapshot.entries.AccessToken.map((t) => t.target)).toEqual(["a", "b"])
    }).pipe(Effect.provide(TokenCache.layerMemory({ maxEntries: 2 }))))

  it.effect("a restore larger than the bound keeps the last entries", () =>
    Effect.gen(function*() {
      const entries = Array.from({ length: 10 }, (_, i) => token(`t${i}`))
      const cache = yield* TokenCache.TokenCache
      yield* cache.restore({
        entries: { AccessToken: entries, RefreshToken: [], IdToken: [], Account: [], AppMetadata: [] },
        unknown: {}
      })
      expect(yield* targets).toEqual(["t7", "t8", "t9"])
    }).pipe(Effect.provide(TokenCache.layerMemory({ maxEntries: 3 }))))

  it.effect("removal and partitions stay consistent under eviction", () =>
    Effect.gen(function*() {
      const cache = yield* TokenCache.TokenCache
      for (let i = 0; i < 50; i++) yield* put(token(`t${i}`))
      yield* cache.modify([{ _tag: "Remove", section: "AccessToken", key: keyOf("t49") }])
      const partition = CacheEntry.partitionOf("AccessToken", token("x"))
      expect((yield* cache.list("AccessToken", partition)).map((t) => t.target).sort()).toEqual(
        ["t45", "t46", "t47", "t48"]
      )
    }).pipe(Effect.provide(TokenCache.layerMemory({ maxEntries: 5 }))))

  it("get stays O(1): a store of 100,000 tokens answers by key without scanning", () => {
    const store = makeStore({ maxEntries: 200_000 })
    for (let i = 0; i < 100_000; i++) store.put("AccessToken", token(`scope${i}`), 0)
    expect(store.size).toBe(100_000)
    expect(store.get("AccessToken", keyOf("scope12345"), 0)?.target).toBe("scope12345")
    expect(store.get("AccessToken", keyOf("missing"), 0)).toBeUndefined()
  })
})
