/**
 * The cache-hit fast path (a hit of a request shape seen before, served in the asking fiber's
 * step when the store is the in-memory one and no tracer is installed) decides exactly as the
 * full path does. Each test warms a shape, then checks one rule on the next calls.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, MetricLabel, Redacted, TestClock } from "effect"
import { CacheEntry, ClientCredential, ConfidentialClient, CredentialSigner, Metrics, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import {
  AUTHORITY,
  authority,
  CLIENT_ID,
  client,
  GRAPH,
  SECRET,
  testLayer,
  tokenRequestCount
} from "./support/harness.js"
import { ALICE, BOB, signIn } from "./support/users.js"

const appToken = (request: ConfidentialClient.ClientCredentialsRequest) =>
  Effect.flatMap(client, (c) => c.acquireTokenForClient(request))

describe("the cache-hit fast path", () => {
  it.effect("reads the expiry from the Clock service (TestClock): served until 5 minutes before expires_on", () =>
    Effect.gen(function*() {
      const first = yield* appToken({ scopes: [GRAPH] })
      yield* TestClock.adjust("3299 seconds") // 300 s left of 3599
      const second = yield* appToken({ scopes: [GRAPH] })
      expect(second.tokenSource).toBe("cache")
      expect(Redacted.value(second.accessToken)).toBe(Redacted.value(first.accessToken))
      yield* TestClock.adjust("1 second") // 299 s left: not served
      const third = yield* appToken({ scopes: [GRAPH] })
      expect(third.tokenSource).toBe("identity_provider")
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer())))

  it.effect("one Effect value run again later looks the cache up again", () =>
    Effect.gen(function*() {
      const c = yield* client
      const once = c.acquireTokenForClient({ scopes: [GRAPH] })
      expect((yield* once).tokenSource).toBe("identity_provider")
      expect((yield* once).tokenSource).toBe("cache")
      yield* TestClock.adjust("3300 seconds")
      expect((yield* once).tokenSource).toBe("identity_provider")
    }).pipe(Effect.provide(testLayer())))

  it.effect("serves what the store holds now: a token removed from it is fetched again", () =>
    Effect.gen(function*() {
      yield* appToken({ scopes: [GRAPH] })
      expect((yield* appToken({ scopes: [GRAPH] })).tokenSource).toBe("cache")
      const cache = yield* TokenCache.TokenCache
      const snapshot = yield* cache.snapshot
      yield* cache.modify(
        snapshot.entries.AccessToken.map((e) => ({
          _tag: "Remove" as const,
          section: "AccessToken" as const,
          key: CacheEntry.keyOf("AccessToken", e)
        }))
      )
      expect((yield* appToken({ scopes: [GRAPH] })).tokenSource).toBe("identity_provider")
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer())))

  it.effect("claims bypass the cache even for a shape served before", () =>
    Effect.gen(function*() {
      yield* appToken({ scopes: [GRAPH] })
      yield* appToken({ scopes: [GRAPH] })
      const challenged = yield* appToken({ scopes: [GRAPH], claims: `{"access_token":{"xms_cc":{"values":["cp1"]}}}` })
      expect(challenged.tokenSource).toBe("identity_provider")
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer())))

  it.effect("an invalid request still fails after a valid one of nearly the same shape was served", () =>
    Effect.gen(function*() {
      yield* appToken({ scopes: ["https://a.example/.default", "https://b.example/.default"] })
      yield* appToken({ scopes: ["https://a.example/.default", "https://b.example/.default"] })
      for (
        const scopes of [["https://a.example/.default https://b.example/.default"], [], [
          "https://a.example/.default",
          5
        ]]
      ) {
        const e = yield* Effect.flip(appToken({ scopes: scopes as Array<string> }))
        expect(e._tag).toBe("InvalidRequest")
      }
      const e = yield* Effect.flip(appToken(null as unknown as ConfidentialClient.ClientCredentialsRequest))
      expect(e._tag).toBe("InvalidRequest")
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a request changed after it was served is looked up by its new content", () =>
    Effect.gen(function*() {
      const scopes = [GRAPH]
      const request = { scopes }
      yield* appToken(request)
      scopes[0] = "https://vault.azure.net/.default"
      const other = yield* appToken(request)
      expect(other.tokenSource).toBe("identity_provider")
      expect(other.scopes).toEqual(["https://vault.azure.net/.default"])
      const tenant = yield* appToken({ scopes: [GRAPH], tenant: "fabrikam.onmicrosoft.com" })
      expect(tenant.tokenSource).toBe("identity_provider")
      expect(yield* tokenRequestCount).toBe(3)
    }).pipe(Effect.provide(testLayer())))

  it.effect("counts each hit, with the fiber's metric labels", () =>
    Effect.gen(function*() {
      const labelled = Metrics.cacheHits.pipe(
        Metric.tagged("grant", "client_credentials"),
        Metric.tagged("fast-path-test", "yes")
      )
      const before = yield* Metrics.totals
      yield* appToken({ scopes: [GRAPH] })
      yield* appToken({ scopes: [GRAPH] })
      yield* Effect.labelMetrics(appToken({ scopes: [GRAPH] }), [MetricLabel.make("fast-path-test", "yes")])
      const after = yield* Metrics.totals
      expect(after.cacheHits - before.cacheHits).toBe(2)
      expect((yield* Metric.value(labelled)).count).toBe(1)
    }).pipe(Effect.provide(testLayer())))
})

describe("a store that is not the in-memory one is asked at every hit", () => {
  it.effect("hooks that replace the cache's content underneath: the new token is served", () =>
    Effect.gen(function*() {
      let external = ""
      const hooks = Layer.succeed(TokenCache.CacheHooks, {
        beforeAccess: (access) => external === "" ? Effect.void : access.deserialize(external),
        afterAccess: (access) =>
          access.changed ? Effect.map(access.serialize(), (json) => void (external = json)) : Effect.void
      })
      const layer = ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
        Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
        Layer.provide(TokenCache.layerHooks().pipe(Layer.provide(hooks))),
        Layer.provide(TestAuthority.layerHttpClient),
        Layer.provideMerge(TestAuthority.layer())
      )
      yield* Effect.gen(function*() {
        const first = yield* appToken({ scopes: [GRAPH] })
        expect((yield* appToken({ scopes: [GRAPH] })).tokenSource).toBe("cache")
        // another process wrote a newer token for the same key
        const token = Redacted.value(first.accessToken)
        external = external.replaceAll(token, "written-by-another-process")
        const served = yield* appToken({ scopes: [GRAPH] })
        expect(served.tokenSource).toBe("cache")
        expect(Redacted.value(served.accessToken)).toBe("written-by-another-process")
      }).pipe(Effect.provide(layer))
    }))
})

describe("the on-behalf-of fast path", () => {
  const DOWNSTREAM = ["https://graph.microsoft.com/User.Read"]
  const assertionFor = (user: string, expiresIn = 3600) =>
    Effect.flatMap(authority, (a) => a.userAssertion({ audience: CLIENT_ID, user, expiresIn }))
  const obo = (userAssertion: string | Redacted.Redacted<string>, scopes: ReadonlyArray<string> = DOWNSTREAM) =>
    Effect.flatMap(client, (c) => c.acquireTokenOnBehalfOf({ userAssertion, scopes }))

  it.effect("a hit is the full path's result (ID token claims, account) and is served per user", () =>
    Effect.gen(function*() {
      const alice = yield* assertionFor(ALICE.username)
      const bob = yield* assertionFor(BOB.username)
      const first = yield* obo(alice)
      const full = yield* obo(alice) // the first hit: full path, shape remembered
      const fast = yield* obo(alice)
      expect(first.tokenSource).toBe("identity_provider")
      expect(full.tokenSource).toBe("cache")
      expect(fast).toEqual(full)
      expect(fast.account?.username).toBe(ALICE.username)
      expect(fast.idTokenClaims).toBeDefined()
      const other = yield* obo(Redacted.make(bob))
      expect(other.tokenSource).toBe("identity_provider")
      expect(other.account?.username).toBe(BOB.username)
      expect(Redacted.value((yield* obo(Redacted.make(alice))).accessToken)).toBe(Redacted.value(first.accessToken))
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer())))

  it.effect("an assertion that expired since it was served is refused, not served from the cache", () =>
    Effect.gen(function*() {
      const alice = yield* assertionFor(ALICE.username, 600)
      yield* obo(alice)
      yield* obo(alice)
      expect((yield* obo(alice)).tokenSource).toBe("cache")
      yield* TestClock.adjust("601 seconds")
      const e = yield* Effect.flip(obo(alice))
      expect(e).toMatchObject({ _tag: "InvalidRequest", field: "userAssertion" })
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("the five-minute rule holds on the fast path (TestClock)", () =>
    Effect.gen(function*() {
      const alice = yield* assertionFor(ALICE.username, 86_400)
      yield* obo(alice)
      yield* obo(alice)
      yield* TestClock.adjust("3299 seconds")
      expect((yield* obo(alice)).tokenSource).toBe("cache")
      yield* TestClock.adjust("1 second")
      expect((yield* obo(alice)).tokenSource).toBe("identity_provider")
    }).pipe(Effect.provide(testLayer())))
})

describe("the silent fast path", () => {
  const silent = (request: ConfidentialClient.SilentRequest) =>
    Effect.flatMap(client, (c) => c.acquireTokenSilent(request))

  it.effect("a hit is the full path's result; a changed account object or forceRefresh is not served from the memo", () =>
    Effect.gen(function*() {
      const first = yield* signIn({ scopes: ["User.Read"] })
      const account = first.account!
      const full = yield* silent({ account, scopes: ["User.Read"] }) // the first hit: full path, shape remembered
      const fast = yield* silent({ account, scopes: ["User.Read"] })
      expect(full.tokenSource).toBe("cache")
      expect(fast).toEqual(full)
      const requests = yield* tokenRequestCount
      const forced = yield* silent({ account, scopes: ["User.Read"], forceRefresh: true })
      expect(forced.tokenSource).toBe("identity_provider")
      expect(yield* tokenRequestCount).toBe(requests + 1)
      // the same object now names another account: validated again, not served from the memo
      const changed = account as { homeAccountId: string }
      const home = changed.homeAccountId
      changed.homeAccountId = "someone.else"
      const e = yield* Effect.flip(silent({ account, scopes: ["User.Read"] }))
      expect(e._tag).toBe("TokenNotFound")
      changed.homeAccountId = home
      yield* TestClock.adjust("3300 seconds") // the five-minute rule on the fast path
      expect((yield* silent({ account, scopes: ["User.Read"] })).tokenSource).toBe("identity_provider")
    }).pipe(Effect.provide(testLayer())))
})
