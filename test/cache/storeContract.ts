/**
 * What every `TokenCache` store promises, as one suite run against each store (memory, file,
 * Redis, and any store added later): call `storeContract` from the store's own test file.
 * Store-specific behaviour (eviction, file locks, Redis TTLs) stays in that store's tests.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, Option, Redacted, Ref } from "effect"
import type { Scope } from "effect"
import type { CacheEntry as Entry } from "effect-msal"
import { CacheEntry, TokenCache } from "effect-msal"

/** A store under test. */
export interface StoreUnderTest {
  /**
   * A fresh, empty location (a new file, a new key prefix); the function it returns opens one
   * more instance on that location, as another process would.
   */
  readonly location: () => () => Layer.Layer<TokenCache.TokenCache, unknown>
  /** Whether instances on one location share their entries (and so offer `withLock`). */
  readonly shared: boolean
  /** Per-test timeout, for stores behind a server. */
  readonly timeout?: number
}

const now = () => Math.floor(Date.now() / 1000)

const accessToken = (
  target: string,
  options: { readonly secret?: string; readonly home?: string } = {}
): Entry.AccessToken => ({
  credential_type: "AccessToken",
  secret: Redacted.make(options.secret ?? `at-${target}`),
  home_account_id: options.home ?? "",
  environment: "login.microsoftonline.com",
  client_id: "contract-client",
  realm: "contract-tenant",
  target,
  token_type: "Bearer",
  cached_at: now(),
  expires_on: now() + 3600
})

const refreshToken = (secret: string): Entry.RefreshToken => ({
  credential_type: "RefreshToken",
  secret: Redacted.make(secret),
  home_account_id: "uid.utid",
  environment: "login.microsoftonline.com",
  client_id: "contract-client",
  target: "User.Read",
  last_modification_time: now()
})

const idToken: Entry.IdToken = {
  credential_type: "IdToken",
  secret: Redacted.make("id-token"),
  home_account_id: "uid.utid",
  environment: "login.microsoftonline.com",
  realm: "contract-tenant",
  client_id: "contract-client"
}

const account: Entry.Account = {
  home_account_id: "uid.utid",
  environment: "login.microsoftonline.com",
  realm: "contract-tenant",
  local_account_id: "uid",
  username: "user@contoso.com",
  authority_type: "MSSTS"
}

const appMetadata: Entry.AppMetadata = { client_id: "contract-client", environment: "login.microsoftonline.com" }

const put = <S extends Entry.Section>(section: S, entry: Entry.Entries[S]): TokenCache.Change =>
  ({ _tag: "Put", section, entry }) as TokenCache.Change

const atKey = (target: string) => CacheEntry.keyOf("AccessToken", accessToken(target))

/** An entry as plain data: the secret revealed, so entries compare by value. */
const plain = (entry: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, Redacted.isRedacted(v) ? Redacted.value(v) : v]))

const targetsOf = (tokens: ReadonlyArray<Entry.AccessToken>) => tokens.map((t) => t.target).sort()

/** One instance, built in the test's scope. */
const open = (layer: Layer.Layer<TokenCache.TokenCache, unknown>) =>
  Effect.map(Layer.build(layer), Context.get(TokenCache.TokenCache))

/** Runs the contract against `store`. */
export const storeContract = (name: string, store: StoreUnderTest): void => {
  describe(`${name} store: the TokenCache contract`, () => {
    const timeout = store.timeout ?? 15_000
    const test = (
      title: string,
      body: (instance: () => Layer.Layer<TokenCache.TokenCache, unknown>) => Effect.Effect<void, unknown, Scope.Scope>
    ) => it.live(title, () => Effect.scoped(Effect.suspend(() => body(store.location()))), timeout)

    test("get finds an entry by its key, secret and fields intact; an unknown key is none", (instance) =>
      Effect.gen(function*() {
        const cache = yield* open(instance())
        const entry = accessToken("a", { secret: "secret-of-a" })
        yield* cache.modify([put("AccessToken", entry)])
        const found = yield* cache.get("AccessToken", atKey("a"))
        expect(Option.map(found, plain)).toEqual(Option.some(plain(entry)))
        expect(yield* cache.get("AccessToken", atKey("missing"))).toEqual(Option.none())
      }))

    test("list gives a partition's entries, or the whole section without one", (instance) =>
      Effect.gen(function*() {
        const cache = yield* open(instance())
        yield* cache.modify([
          put("AccessToken", accessToken("app-1")),
          put("AccessToken", accessToken("app-2")),
          put("AccessToken", accessToken("user-1", { home: "uid.utid" }))
        ])
        const appPartition = CacheEntry.partitionOf("AccessToken", accessToken("x"))
        const userPartition = CacheEntry.partitionOf("AccessToken", accessToken("x", { home: "uid.utid" }))
        expect(appPartition).not.toBe(userPartition)
        expect(targetsOf(yield* cache.list("AccessToken", appPartition))).toEqual(["app-1", "app-2"])
        expect(targetsOf(yield* cache.list("AccessToken", userPartition))).toEqual(["user-1"])
        expect(targetsOf(yield* cache.list("AccessToken"))).toEqual(["app-1", "app-2", "user-1"])
        expect(yield* cache.list("AccessToken", "no-such-partition")).toEqual([])
      }))

    test("modify applies its changes in order; removing a missing key is no error", (instance) =>
      Effect.gen(function*() {
        const cache = yield* open(instance())
        yield* cache.modify([
          put("AccessToken", accessToken("a")),
          { _tag: "Remove", section: "AccessToken", key: atKey("a") },
          put("AccessToken", accessToken("b")),
          { _tag: "Remove", section: "AccessToken", key: atKey("never-there") }
        ])
        expect(targetsOf(yield* cache.list("AccessToken"))).toEqual(["b"])
        yield* cache.modify([])
        expect(targetsOf(yield* cache.list("AccessToken"))).toEqual(["b"])
      }))

    test("a put under an existing key replaces the entry", (instance) =>
      Effect.gen(function*() {
        const cache = yield* open(instance())
        yield* cache.modify([put("AccessToken", accessToken("a", { secret: "first" }))])
        yield* cache.modify([put("AccessToken", accessToken("a", { secret: "second" }))])
        const all = yield* cache.list("AccessToken")
        expect(all.map((t) => Redacted.value(t.secret))).toEqual(["second"])
      }))

    test("each section keeps its own entries", (instance) =>
      Effect.gen(function*() {
        const cache = yield* open(instance())
        const at = accessToken("a")
        const rt = refreshToken("rt")
        yield* cache.modify([
          put("AccessToken", at),
          put("RefreshToken", rt),
          put("IdToken", idToken),
          put("Account", account),
          put("AppMetadata", appMetadata)
        ])
        expect((yield* cache.list("AccessToken")).map(plain)).toEqual([plain(at)])
        expect((yield* cache.list("RefreshToken")).map(plain)).toEqual([plain(rt)])
        expect((yield* cache.list("IdToken")).map(plain)).toEqual([plain(idToken)])
        expect(yield* cache.list("Account")).toEqual([account])
        expect(yield* cache.list("AppMetadata")).toEqual([appMetadata])
        const rtKey = CacheEntry.keyOf("RefreshToken", rt)
        expect(Option.map(yield* cache.get("RefreshToken", rtKey), plain)).toEqual(Option.some(plain(rt)))
        expect(yield* cache.get("AccessToken", rtKey)).toEqual(Option.none())
      }))

    test("deserialize replaces everything; serialize gives it back, unknown sections included", (instance) =>
      Effect.gen(function*() {
        const layer = instance()
        const cache = yield* open(layer)
        yield* cache.modify([put("AccessToken", accessToken("before"))])
        const token = accessToken("restored", { secret: "restored-secret" })
        const json = JSON.stringify({
          AccessToken: {
            [atKey("restored")]: {
              ...plain(token),
              cached_at: String(token.cached_at),
              expires_on: String(token.expires_on)
            }
          },
          AppMetadata: { [CacheEntry.keyOf("AppMetadata", appMetadata)]: appMetadata },
          SomethingNewer: { kept: { as: "is" } }
        })
        yield* TokenCache.deserialize(json).pipe(Effect.provideService(TokenCache.TokenCache, cache))
        expect(targetsOf(yield* cache.list("AccessToken"))).toEqual(["restored"])
        const out = JSON.parse(yield* TokenCache.serialize.pipe(Effect.provideService(TokenCache.TokenCache, cache)))
        expect(Object.values(out.AccessToken as Record<string, { secret: string }>).map((t) => t.secret)).toEqual([
          "restored-secret"
        ])
        expect(Object.values(out.AppMetadata as object)).toEqual([appMetadata])
        expect(out.SomethingNewer).toEqual({ kept: { as: "is" } })
      }))

    test(
      store.shared ? "offers withLock" : "offers no withLock (nothing to share)",
      (instance) =>
        Effect.gen(function*() {
          const cache = yield* open(instance())
          expect(cache.withLock !== undefined).toBe(store.shared)
        })
    )

    if (!store.shared) return

    // A file store serves hits from memory for up to a second before looking at the file
    // again (src/internal/fileCache.ts); a miss always looks. So the contract promises what a
    // miss sees, not how soon a hit or a listing notices another instance's change.
    test("a miss on one instance finds what another instance wrote", (instance) =>
      Effect.gen(function*() {
        const a = yield* open(instance())
        const b = yield* open(instance())
        yield* a.modify([put("AccessToken", accessToken("from-a"))])
        yield* b.modify([put("AccessToken", accessToken("from-b", { secret: "secret-from-b" }))])
        expect(Option.isSome(yield* b.get("AccessToken", atKey("from-a")))).toBe(true)
        const fromB = yield* a.get("AccessToken", atKey("from-b"))
        expect(Option.map(fromB, (t) => Redacted.value(t.secret))).toEqual(Option.some("secret-from-b"))
        // and neither write lost the other's entry from the storage
        const c = yield* open(instance())
        expect(targetsOf(yield* c.list("AccessToken"))).toEqual(["from-a", "from-b"])
      }))

    test("withLock gives the effect's success or failure", (instance) =>
      Effect.gen(function*() {
        const cache = yield* open(instance())
        expect(yield* cache.withLock!("k", Effect.succeed("value"))).toBe("value")
        expect(yield* Effect.flip(cache.withLock!("k", Effect.fail("failure")))).toBe("failure")
        // the lock was released after the failure
        expect(yield* cache.withLock!("k", Effect.succeed("again"))).toBe("again")
      }))

    test("withLock: holders of one key on two instances never overlap; other keys do not wait", (instance) =>
      Effect.gen(function*() {
        const a = yield* open(instance())
        const b = yield* open(instance())
        const inside = yield* Ref.make(0)
        const most = yield* Ref.make(0)
        const hold = Effect.gen(function*() {
          const n = yield* Ref.updateAndGet(inside, (x) => x + 1)
          yield* Ref.update(most, (m) => Math.max(m, n))
          yield* Effect.sleep("30 millis")
          yield* Ref.update(inside, (x) => x - 1)
        })
        yield* Effect.all([a, b, a, b].map((cache) => cache.withLock!("same", hold)), { concurrency: "unbounded" })
        expect(yield* Ref.get(most)).toBe(1)
        // while "same" is held on a, "other" is taken on b at once
        const held = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(
          a.withLock!("same", Effect.zipRight(Deferred.succeed(held, undefined), Effect.never))
        )
        yield* Deferred.await(held)
        expect(yield* b.withLock!("other", Effect.succeed("free")).pipe(Effect.timeout("5 seconds"))).toBe("free")
        yield* Fiber.interrupt(holder)
      }))
  })
}
