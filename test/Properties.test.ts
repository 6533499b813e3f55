import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Redacted, Schema } from "effect"
import { CacheEntry, TokenCache } from "effect-msal"
import * as Scopes from "../src/internal/scopes.js"
import * as Serialization from "../src/internal/serialization.js"

const scope = fc.stringMatching(/^[A-Za-z0-9:/._-]{1,40}$/)
const scopeList = fc.array(scope, { minLength: 1, maxLength: 8 })

describe("scope normalisation", () => {
  it.prop("sorted, unique, the same set, and independent of order", [scopeList], ([scopes]) => {
    const normal = Either.getOrThrow(Scopes.normalize(scopes))
    expect([...normal]).toEqual([...new Set(scopes)].sort())
    const reversed = Either.getOrThrow(Scopes.normalize([...scopes].reverse()))
    expect(reversed).toEqual(normal)
    expect(Either.getOrThrow(Scopes.normalize(normal))).toEqual(normal)
  })

  it.prop(
    "anything with an empty or blank scope is rejected",
    [scopeList, fc.constantFrom("", " ", "a b", "\t")],
    ([scopes, bad]) => {
      const result = Scopes.normalize([...scopes, bad])
      expect(Either.isLeft(result) && result.left._tag).toBe("InvalidRequest")
    }
  )

  it.prop("a list is a subset of its own target, case-insensitively", [scopeList], ([scopes]) => {
    const normal = Either.getOrThrow(Scopes.normalize(scopes))
    expect(Scopes.isSubset(normal.map((s) => s.toUpperCase()), normal.join(" "))).toBe(true)
  })
})

const epoch = fc.integer({ min: 0, max: 4_000_000_000 })
const word = fc.stringMatching(/^[a-z0-9.]{1,20}$/)
const accessToken: fc.Arbitrary<CacheEntry.AccessToken> = fc.record({
  credential_type: fc.constant("AccessToken" as const),
  secret: fc.stringMatching(/^\S+$/).map((s) => Redacted.make(s)),
  home_account_id: fc.constantFrom("", "uid.utid"),
  environment: fc.constantFrom("login.microsoftonline.com", "login.windows.net", "login.microsoftonline.us"),
  client_id: fc.uuid(),
  realm: word,
  target: scopeList.map((s) => [...new Set(s)].sort().join(" ")),
  token_type: fc.constant("Bearer"),
  cached_at: epoch,
  expires_on: epoch,
  extended_expires_on: epoch
})

const plain = (e: CacheEntry.AccessToken) => ({ ...e, secret: Redacted.value(e.secret) })

describe("cache keys", () => {
  it.prop("the key ignores case and folds host aliases", [accessToken], ([e]) => {
    const key = CacheEntry.keyOf("AccessToken", e)
    const shouted = {
      ...e,
      realm: e.realm.toUpperCase(),
      target: e.target.toUpperCase(),
      environment: e.environment.toUpperCase()
    }
    expect(CacheEntry.keyOf("AccessToken", shouted)).toBe(key)
    if (e.environment === "login.microsoftonline.com") {
      expect(CacheEntry.keyOf("AccessToken", { ...e, environment: "sts.windows.net" })).toBe(key)
    }
  })

  it.prop("tokens differing in client, realm, account, scopes or user assertion have different keys", [
    accessToken,
    accessToken
  ], ([a, b]) => {
    const same = a.client_id === b.client_id && a.realm === b.realm &&
      a.target.toLowerCase() === b.target.toLowerCase() &&
      a.home_account_id === b.home_account_id &&
      (a.environment === b.environment ||
        (a.environment !== "login.microsoftonline.us" && b.environment !== "login.microsoftonline.us"))
    expect(CacheEntry.keyOf("AccessToken", a) === CacheEntry.keyOf("AccessToken", b)).toBe(same)
    expect(CacheEntry.keyOf("AccessToken", { ...a, user_assertion_hash: "abc" })).not.toBe(
      CacheEntry.keyOf("AccessToken", { ...a, user_assertion_hash: "ABC" })
    )
  })

  it.prop(
    "tokens that differ only in scopes share a partition; other tenants do not",
    [accessToken, scopeList],
    ([e, other]) => {
      const sibling = { ...e, target: [...new Set(other)].sort().join(" ") }
      expect(CacheEntry.partitionOf("AccessToken", sibling)).toBe(CacheEntry.partitionOf("AccessToken", e))
      expect(CacheEntry.partitionOf("AccessToken", { ...e, realm: `${e.realm}x` })).not.toBe(
        CacheEntry.partitionOf("AccessToken", e)
      )
    }
  )
})

describe("cache entries", () => {
  it.prop("an access token survives encode → JSON → decode", [accessToken], ([e]) => {
    const schema = CacheEntry.AccessToken
    const wire = JSON.parse(JSON.stringify(Schema.encodeSync(schema)(e)))
    expect(typeof wire.expires_on).toBe("string")
    expect(typeof wire.secret).toBe("string")
    expect(plain(Schema.decodeUnknownSync(schema)(wire))).toEqual(plain(e))
  })

  it.effect.prop("a cache survives serialize → deserialize, unknown fields included", [
    fc.array(accessToken, { maxLength: 20 })
  ], ([entries]) =>
    Effect.gen(function*() {
      const cache = yield* TokenCache.TokenCache
      yield* cache.modify(
        entries.map((entry) => ({
          _tag: "Put" as const,
          section: "AccessToken" as const,
          entry: { ...entry, x_extra: { n: 1 } }
        }))
      )
      const json = yield* TokenCache.serialize
      const before = (yield* cache.list("AccessToken")).map(plain)
      yield* TokenCache.deserialize(json)
      const after = (yield* cache.list("AccessToken")).map(plain)
      expect(after).toEqual(before)
      expect(yield* TokenCache.serialize).toBe(json)
    }).pipe(Effect.provide(TokenCache.layerMemory())), { fastCheck: { numRuns: 50 } })
})

describe("the hand-written access-token decoder", () => {
  const wire = fc.record({
    credential_type: fc.constant("AccessToken"),
    secret: fc.string(),
    home_account_id: fc.oneof(fc.constant(null), fc.constant(""), fc.string(), fc.constant(undefined)),
    environment: fc.string(),
    client_id: fc.string(),
    realm: fc.string(),
    target: fc.string(),
    token_type: fc.option(fc.string(), { nil: undefined }),
    cached_at: fc.oneof(
      fc.integer({ min: -1e12, max: 1e12 }).map(String),
      fc.constantFrom("", "x", "1.5", " 7", "1e3")
    ),
    expires_on: fc.integer({ min: 0, max: 4e9 }).map(String),
    extended_expires_on: fc.option(fc.oneof(fc.integer({ min: 0, max: 4e9 }).map(String), fc.constant("-")), {
      nil: undefined
    }),
    refresh_on: fc.option(fc.integer({ min: 0, max: 4e9 }).map(String), { nil: undefined }),
    x_extra: fc.option(fc.jsonValue(), { nil: undefined })
  }, {
    requiredKeys: [
      "credential_type",
      "secret",
      "environment",
      "client_id",
      "realm",
      "target",
      "cached_at",
      "expires_on"
    ]
  })

  it.prop("agrees with the Schema decoder on every input", [wire], ([raw]) => {
    const json = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>
    const fast = Serialization.decodeEntry("AccessToken", json)
    const slow = Schema.decodeUnknownEither(CacheEntry.AccessToken)(json)
    expect(Either.isRight(fast)).toBe(Either.isRight(slow))
    if (Either.isRight(fast) && Either.isRight(slow)) {
      expect(plain(fast.right)).toEqual(plain(slow.right))
    }
  }, { fastCheck: { numRuns: 500 } })
})

describe("the hand-written access-token encoder", () => {
  it.prop(
    "agrees with the Schema encoder",
    [accessToken, fc.option(fc.jsonValue(), { nil: undefined })],
    ([entry, extra]) => {
      const withExtra = extra === undefined ? entry : { ...entry, x_extra: extra, refresh_on: 5, key_id: "k" }
      const fast = Serialization.encodeEntry("AccessToken", withExtra, "msal-node")
      const slow = Schema.encodeSync(CacheEntry.AccessToken)(withExtra)
      expect(JSON.parse(JSON.stringify(fast))).toEqual(JSON.parse(JSON.stringify(slow)))
    },
    { fastCheck: { numRuns: 300 } }
  )
})

describe("the in-place access-token decoder", () => {
  it.prop("decodes what the copying decoder decodes, the same way", [accessToken], ([e]) => {
    const wire = JSON.stringify(Serialization.encodeEntry("AccessToken", e))
    const copied = Serialization.decodeEntry("AccessToken", JSON.parse(wire))
    const inPlace = Serialization.decodeEntry("AccessToken", JSON.parse(wire), true, new Map())
    expect(Either.isRight(inPlace)).toBe(Either.isRight(copied))
    if (Either.isRight(inPlace) && Either.isRight(copied)) expect(plain(inPlace.right)).toEqual(plain(copied.right))
  })
})
