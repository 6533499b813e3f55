import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Redacted, TestClock } from "effect"
import type { CacheEntry as Entry } from "effect-msal"
import { CacheEntry, TokenCache } from "effect-msal"
import { makeMsal, TENANT } from "./cache/msal.js"
import { AUTHORITY, CLIENT_ID, client, GRAPH, testLayer, tokenRequestCount } from "./support/harness.js"

const acquire = (scopes: ReadonlyArray<string>) => Effect.flatMap(client, (c) => c.acquireTokenForClient({ scopes }))

/** Wall-clock seconds: msal-node reads the real clock, so our TestClock is set to it. */
const realNow = () => Math.floor(Date.now() / 1000)

const appToken = (overrides: Partial<Entry.AccessToken> = {}): Entry.AccessToken => ({
  credential_type: "AccessToken",
  secret: Redacted.make("app-token"),
  home_account_id: "",
  environment: "login.microsoftonline.com",
  client_id: CLIENT_ID,
  realm: TENANT,
  target: GRAPH,
  token_type: "Bearer",
  cached_at: 1_000,
  expires_on: 4_600,
  extended_expires_on: 4_600,
  ...overrides
})

const put = (entry: Entry.AccessToken) =>
  Effect.flatMap(TokenCache.TokenCache, (c) => c.modify([{ _tag: "Put", section: "AccessToken", entry }]))

const accessTokens = Effect.flatMap(TokenCache.TokenCache, (c) => c.list("AccessToken"))

describe("interop with @azure/msal-node 7.2.1", () => {
  it.effect("msal-node serves an app token from our cache, with no network call", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      const ours = yield* acquire([GRAPH])
      const json = yield* TokenCache.serialize
      const msal = makeMsal()
      msal.app.getTokenCache().deserialize(json)
      const result = yield* Effect.promise(() => msal.app.acquireTokenByClientCredential({ scopes: [GRAPH] }))
      expect(msal.calls).toEqual([])
      expect(result?.fromCache).toBe(true)
      expect(result?.accessToken).toBe(Redacted.value(ours.accessToken))
    }).pipe(Effect.provide(testLayer({ client: { authority: AUTHORITY } }))))

  it.effect("we serve an app token from msal-node's cache, with no request", () =>
    Effect.gen(function*() {
      const msal = makeMsal({
        token_type: "Bearer",
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: "token-from-msal-node",
        scope: GRAPH
      })
      const first = yield* Effect.promise(() => msal.app.acquireTokenByClientCredential({ scopes: [GRAPH] }))
      expect(first?.fromCache).toBe(false)
      const json = msal.app.getTokenCache().serialize()
      // what msal-node writes, which MSAL Python cannot use: a "" account id, login.windows.net, a trailing "-"
      expect(Object.keys(JSON.parse(json).AccessToken)[0]).toMatch(/^-login\.windows\.net-accesstoken-.*-$/)
      yield* TestClock.setTime(Date.now())
      yield* TokenCache.deserialize(json)
      const result = yield* acquire([GRAPH])
      expect(result.tokenSource).toBe("cache")
      expect(Redacted.value(result.accessToken)).toBe("token-from-msal-node")
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("msal-node serves a token that came from msal-node through our cache", () =>
    Effect.gen(function*() {
      const source = makeMsal({ token_type: "Bearer", expires_in: 3599, access_token: "round-trip", scope: GRAPH })
      yield* Effect.promise(() => source.app.acquireTokenByClientCredential({ scopes: [GRAPH] }))
      yield* TestClock.setTime(Date.now())
      yield* TokenCache.deserialize(source.app.getTokenCache().serialize())
      const target = makeMsal()
      const json = yield* TokenCache.serialize
      target.app.getTokenCache().deserialize(json)
      const result = yield* Effect.promise(() => target.app.acquireTokenByClientCredential({ scopes: [GRAPH] }))
      expect(target.calls).toEqual([])
      expect(result?.accessToken).toBe("round-trip")
    }).pipe(Effect.provide(TokenCache.layerMemory())))

  it.effect("a token our cache wrote for MSAL Python (null account id) is served to msal-node once written by default", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      yield* put(appToken({ home_account_id: null, cached_at: realNow(), expires_on: realNow() + 3600 }))
      const json = JSON.parse(yield* TokenCache.serialize)
      const entry = Object.values(json.AccessToken)[0] as Record<string, unknown>
      expect(entry.home_account_id).toBe("")
      const msal = makeMsal()
      msal.app.getTokenCache().deserialize(JSON.stringify(json))
      const result = yield* Effect.promise(() => msal.app.acquireTokenByClientCredential({ scopes: [GRAPH] }))
      expect(msal.calls).toEqual([])
      expect(result?.accessToken).toBe("app-token")
    }).pipe(Effect.provide(TokenCache.layerMemory())))
})

/** A cache as MSAL Python 1.x writes it for a client-credential token (PROTOCOL §5.2). */
const pythonCache = (now: number) =>
  JSON.stringify(
    {
      AccessToken: {
        [`-login.microsoftonline.com-accesstoken-${CLIENT_ID}-${TENANT}-${GRAPH}`]: {
          credential_type: "AccessToken",
          secret: "token-from-python",
          home_account_id: null,
          environment: "login.microsoftonline.com",
          client_id: CLIENT_ID,
          target: GRAPH,
          realm: TENANT,
          token_type: "Bearer",
          cached_at: String(now),
          expires_on: String(now + 3599),
          extended_expires_on: String(now + 3599)
        }
      },
      AppMetadata: {
        [`appmetadata-login.microsoftonline.com-${CLIENT_ID}`]: {
          client_id: CLIENT_ID,
          environment: "login.microsoftonline.com"
        }
      }
    },
    null,
    4
  )

describe("interop with MSAL Python", () => {
  it.effect("we serve an app token from MSAL Python's cache, with no request", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(5_000_000)
      yield* TokenCache.deserialize(pythonCache(5_000))
      const result = yield* acquire([GRAPH])
      expect(result.tokenSource).toBe("cache")
      expect(Redacted.value(result.accessToken)).toBe("token-from-python")
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("format msal-python writes what MSAL Python looks up: null account id, login.microsoftonline.com, its key", () =>
    Effect.gen(function*() {
      yield* put(appToken({ environment: "login.windows.net" }))
      const json = JSON.parse(yield* TokenCache.serializeWith({ format: "msal-python" }))
      const key = `-login.microsoftonline.com-accesstoken-${CLIENT_ID}-${TENANT}-${GRAPH}`
      expect(Object.keys(json.AccessToken)).toEqual([key])
      expect(json.AccessToken[key]).toMatchObject({
        home_account_id: null,
        environment: "login.microsoftonline.com",
        cached_at: "1000",
        expires_on: "4600"
      })
      // and the other way round, the default format turns MSAL Python's null back into ""
      yield* TokenCache.deserialize(JSON.stringify(json))
      const node = JSON.parse(yield* TokenCache.serialize)
      expect((Object.values(node.AccessToken)[0] as Record<string, unknown>).home_account_id).toBe("")
    }).pipe(Effect.provide(TokenCache.layerMemory())))

  it.effect("MSAL Python's cache passes through us to msal-node", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      yield* TokenCache.deserialize(pythonCache(realNow()))
      const msal = makeMsal()
      const json = yield* TokenCache.serialize
      msal.app.getTokenCache().deserialize(json)
      const result = yield* Effect.promise(() => msal.app.acquireTokenByClientCredential({ scopes: [GRAPH] }))
      expect(msal.calls).toEqual([])
      expect(result?.accessToken).toBe("token-from-python")
    }).pipe(Effect.provide(TokenCache.layerMemory())))
})

describe("user and on-behalf-of entries", () => {
  const home = "uid.utid"
  const oboWire = (hashField: "userAssertionHash" | "user_assertion_hash" | undefined) => ({
    home_account_id: home,
    environment: "login.windows.net",
    credential_type: "AccessToken",
    client_id: CLIENT_ID,
    secret: "obo-token",
    realm: TENANT,
    target: "api://downstream/read",
    cached_at: "1000",
    expires_on: "4600",
    extended_expires_on: "4600",
    token_type: "Bearer",
    ...(hashField === undefined ? {} : { [hashField]: "aGFzaA-_x" })
  })

  it.effect("msal-node's camelCase userAssertionHash becomes user_assertion_hash, and is written both ways back", () =>
    Effect.gen(function*() {
      yield* TokenCache.deserialize(JSON.stringify({ AccessToken: { "k-": oboWire("userAssertionHash") } }))
      const [entry] = yield* accessTokens
      expect(entry?.user_assertion_hash).toBe("aGFzaA-_x")
      expect(entry?.userAssertionHash).toBeUndefined()
      const key = CacheEntry.keyOf("AccessToken", entry!)
      expect(key.endsWith("-aGFzaA-_x")).toBe(true)
      const cache = yield* TokenCache.TokenCache
      expect(Option.isSome(yield* cache.get("AccessToken", key))).toBe(true)
      const node = Object.values(JSON.parse(yield* TokenCache.serialize).AccessToken)[0] as Record<string, unknown>
      expect(node.userAssertionHash).toBe("aGFzaA-_x")
      expect(node.user_assertion_hash).toBe("aGFzaA-_x")
      const python = Object.values(
        JSON.parse(yield* TokenCache.serializeWith({ format: "msal-python" })).AccessToken
      )[0] as Record<string, unknown>
      expect(python.userAssertionHash).toBeUndefined()
      expect(python.user_assertion_hash).toBe("aGFzaA-_x")
      expect(python.environment).toBe("login.microsoftonline.com")
    }).pipe(Effect.provide(TokenCache.layerMemory())))

  it.effect("the snake_case spelling of other MSALs, and none at all (MSAL Python), are read too", () =>
    Effect.gen(function*() {
      yield* TokenCache.deserialize(JSON.stringify({
        AccessToken: { a: oboWire("user_assertion_hash"), b: { ...oboWire(undefined), target: "api://other/read" } }
      }))
      const entries = yield* accessTokens
      expect(entries.map((e) => e.user_assertion_hash)).toEqual(["aGFzaA-_x", undefined])
      expect(entries.map((e) => e.home_account_id)).toEqual([home, home])
    }).pipe(Effect.provide(TokenCache.layerMemory())))

  it.effect("refresh tokens, ID tokens, accounts and app metadata of msal-node and MSAL Python are read and kept", () =>
    Effect.gen(function*() {
      const node = {
        Account: {
          [`${home}-login.windows.net-utid`]: {
            home_account_id: home,
            environment: "login.windows.net",
            realm: "utid",
            local_account_id: "oid",
            username: "user@contoso.com",
            authority_type: "MSSTS",
            name: "A User",
            client_info: "eyJ1aWQiOiJ1aWQiLCJ1dGlkIjoidXRpZCJ9",
            tenantProfiles: ["{\"tenantId\":\"utid\"}"]
          }
        },
        IdToken: {
          [`${home}-login.windows.net-idtoken-${CLIENT_ID}-utid--`]: {
            home_account_id: home,
            environment: "login.windows.net",
            credential_type: "IdToken",
            client_id: CLIENT_ID,
            secret: "id.token.value",
            realm: "utid"
          }
        },
        RefreshToken: {
          [`${home}-login.windows.net-refreshtoken-${CLIENT_ID}--`]: {
            home_account_id: home,
            environment: "login.windows.net",
            credential_type: "RefreshToken",
            client_id: CLIENT_ID,
            secret: "refresh-token"
          }
        },
        AppMetadata: {
          [`appmetadata-login.windows.net-${CLIENT_ID}`]: { client_id: CLIENT_ID, environment: "login.windows.net" }
        }
      }
      yield* TokenCache.deserialize(JSON.stringify(node))
      const cache = yield* TokenCache.TokenCache
      const snapshot = yield* cache.snapshot
      expect(snapshot.entries.Account).toHaveLength(1)
      expect(snapshot.entries.IdToken).toHaveLength(1)
      expect(snapshot.entries.RefreshToken).toHaveLength(1)
      expect(snapshot.entries.AppMetadata).toHaveLength(1)
      expect(snapshot.unknown).toEqual({})
      const again = JSON.parse(yield* TokenCache.serialize)
      expect(Object.values(again.Account)[0]).toEqual(Object.values(node.Account)[0])
      // MSAL Python finds the account under login.microsoftonline.com
      const python = JSON.parse(yield* TokenCache.serializeWith({ format: "msal-python" }))
      expect(Object.keys(python.Account)).toEqual([`${home}-login.microsoftonline.com-utid`])
      expect(Object.keys(python.RefreshToken)).toEqual([
        `${home}-login.microsoftonline.com-refreshtoken-${CLIENT_ID}--`
      ])
    }).pipe(Effect.provide(TokenCache.layerMemory())))
})

describe("serialize and deserialize", () => {
  it.effect("unknown sections, entries and fields survive a round trip", () =>
    Effect.gen(function*() {
      const input = {
        AccessToken: { "an-entry": { foo: "bar" } },
        customized: "whatever",
        AppMetadata: {
          [`appmetadata-login.microsoftonline.com-${CLIENT_ID}`]: {
            client_id: CLIENT_ID,
            environment: "login.microsoftonline.com",
            x_extra: { nested: [1, 2] }
          }
        }
      }
      yield* TokenCache.deserialize(JSON.stringify(input))
      expect(JSON.parse(yield* TokenCache.serialize)).toEqual(input)
      expect(JSON.parse(yield* TokenCache.serializeWith({ format: "msal-python" }))).toEqual(input)
    }).pipe(Effect.provide(TokenCache.layerMemory())))

  it.effect("empty, blank and null input is an empty cache", () =>
    Effect.gen(function*() {
      for (const input of ["", "  \n", "null", "{}"]) {
        yield* put(appToken())
        yield* TokenCache.deserialize(input)
        expect(yield* accessTokens).toEqual([])
        expect(JSON.parse(yield* TokenCache.serialize)).toEqual({})
      }
    }).pipe(Effect.provide(TokenCache.layerMemory())))

  it.effect("malformed input fails with CacheError and loses nothing already in memory", () =>
    Effect.gen(function*() {
      yield* put(appToken())
      const before = yield* TokenCache.serialize
      for (const input of ["{", "[]", "42", "\"x\"", "{\"AccessToken\": []}", "{\"AccessToken\": \"x\"}"]) {
        const exit = yield* Effect.exit(TokenCache.deserialize(input))
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          expect(error?._tag).toBe("CacheError")
          expect(error?.reason).toBe("Malformed")
        }
        expect(yield* TokenCache.serialize).toBe(before)
      }
    }).pipe(Effect.provide(TokenCache.layerMemory())))

  it.effect("epoch times written as numbers are read", () =>
    Effect.gen(function*() {
      const wire = JSON.parse(
        JSON.stringify({ AccessToken: { k: { ...oboLike(), cached_at: 1000, expires_on: 4600 } } })
      )
      yield* TokenCache.deserialize(JSON.stringify(wire))
      const [entry] = yield* accessTokens
      expect(entry?.expires_on).toBe(4600)
      expect(entry?.cached_at).toBe(1000)
    }).pipe(Effect.provide(TokenCache.layerMemory())))

  it.effect("no secret appears when an entry is logged or printed", () =>
    Effect.gen(function*() {
      yield* put(appToken({ secret: Redacted.make("do-not-print") }))
      const [entry] = yield* accessTokens
      expect(String(entry?.secret)).not.toContain("do-not-print")
      expect(JSON.stringify(entry)).not.toContain("do-not-print")
    }).pipe(Effect.provide(TokenCache.layerMemory())))
})

const oboLike = () => ({
  credential_type: "AccessToken",
  secret: "s",
  home_account_id: "",
  environment: "login.microsoftonline.com",
  client_id: CLIENT_ID,
  realm: TENANT,
  target: GRAPH
})
