/**
 * A Redis that stops answering (SIGSTOP) never holds a token call past the client's timeout:
 * every store operation gives up after the store's `timeout` (3 seconds by default).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Fiber, Layer, Option, TestClock } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { accessToken, liveFor } from "./cache/entries.js"
import type { RedisServer } from "./cache/redisServer.js"
import { startRedis } from "./cache/redisServer.js"
import { AUTHORITY, CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
}, 30_000)
afterAll(async () => {
  server?.resume()
  await server?.stop()
})

const token = accessToken("x", { secret: "s", ...liveFor() })

/** How an effect ended: "success", its failure's tag, or "Error" for a plain Error. */
const outcomeOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.match(exit, {
    onFailure: (cause) =>
      Option.match(Cause.failureOption(cause), {
        onNone: () => Cause.pretty(cause),
        onSome: (e) => e instanceof Error && !("_tag" in e) ? "Error" : String((e as { _tag: string })._tag)
      }),
    onSuccess: () => "success"
  })

/** How an effect ended, and after how long (real time). */
const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const exit = yield* Effect.exit(Effect.timeout(effect, "20 seconds"))
    return { outcome: outcomeOf(exit), millis: Date.now() - start }
  })

/** Every operation of the store. */
const operations = (
  store: TokenCache.Service
): Record<"get" | "list" | "modify" | "snapshot" | "withLock", Effect.Effect<unknown, Error>> => ({
  get: store.get("AccessToken", "k"),
  list: store.list("AccessToken"),
  modify: store.modify([{ _tag: "Put", section: "AccessToken", entry: token }]),
  snapshot: store.snapshot,
  // a lock that cannot be had is given up on (the effect then runs unlocked)
  withLock: store.withLock!("k", Effect.fail(new Error("ran unlocked")))
})

/** A Redis client whose commands are never answered. */
const silent: TokenCache.RedisClient = {
  hget: () => new Promise(() => undefined),
  evalsha: () => new Promise(() => undefined),
  eval: () => new Promise(() => undefined)
}

describe("a Redis that never answers", () => {
  it.effect("by default every operation gives up after 3 seconds, not before: CacheError, and withLock runs unlocked", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      const store = Context.get(
        yield* Layer.build(TokenCache.layerRedis({ client: silent, prefix: "silent:" })),
        TokenCache.TokenCache
      )
      const bounded = operations(store)
      const running = yield* Effect.forEach(
        Object.entries(bounded),
        ([name, op]) => Effect.map(Effect.fork(op), (fiber) => [name, fiber] as const)
      )
      const outcomes = Effect.map(
        Effect.forEach(
          running,
          ([name, fiber]) =>
            Effect.map(Fiber.poll(fiber), (exit) => [
              name,
              Option.match(exit, { onNone: () => "running", onSome: outcomeOf })
            ])
        ),
        Object.fromEntries
      )
      yield* TestClock.adjust("2999 millis")
      expect(yield* outcomes).toEqual({
        get: "running",
        list: "running",
        modify: "running",
        snapshot: "running",
        withLock: "running"
      })
      yield* TestClock.adjust("1 millis")
      // the lock attempt is abandoned (a client without a command timeout of its own never
      // settles it) and the effect runs without the lock
      expect(yield* outcomes).toEqual({
        get: "CacheError",
        list: "CacheError",
        modify: "CacheError",
        snapshot: "CacheError",
        withLock: "Error"
      })
    }).pipe(Effect.scoped))
})

/**
 * A client that answers the lock's attempt with `attempt` and records the lock calls (an
 * attempt has the key, the token and the TTL; a release the key and the token).
 */
const recordingLocks = (attempt: () => Promise<unknown>) => {
  const calls: Array<{ readonly op: "attempt" | "release"; readonly token: string }> = []
  const client: TokenCache.RedisClient = {
    hget: () => Promise.resolve(null),
    evalsha: (_sha: string, _keys: number, ...args: Array<string | number>) => {
      if (args.length === 3) {
        calls.push({ op: "attempt", token: String(args[1]) })
        return attempt()
      }
      calls.push({ op: "release", token: String(args[1]) })
      return Promise.resolve(1)
    },
    eval: () => Promise.resolve(null)
  }
  return { client, calls }
}

/** Waits (live time, at most 2 s) until `condition` holds. */
const until = (condition: () => boolean) =>
  Effect.promise(async () => {
    for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
  })

describe("a lock attempt that is abandoned", () => {
  it.live("when the caller is interrupted while Redis has not answered, a release with the lock's token follows", () =>
    Effect.gen(function*() {
      const { calls, client } = recordingLocks(() => new Promise(() => undefined))
      const store = Context.get(
        yield* Layer.build(TokenCache.layerRedis({ client, prefix: "abandoned:" })),
        TokenCache.TokenCache
      )
      const holder = yield* Effect.fork(store.withLock!("k", Effect.never))
      yield* until(() => calls.length === 1)
      yield* Fiber.interrupt(holder)
      yield* until(() => calls.length === 2)
      expect(calls.map((c) => c.op)).toEqual(["attempt", "release"])
      expect(calls[1]!.token).toBe(calls[0]!.token)
    }).pipe(Effect.scoped))

  it.live("when the store's timeout passes, the effect runs unlocked and a release with the lock's token follows", () =>
    Effect.gen(function*() {
      const { calls, client } = recordingLocks(() => new Promise(() => undefined))
      const store = Context.get(
        yield* Layer.build(TokenCache.layerRedis({ client, prefix: "abandoned:", timeout: "50 millis" })),
        TokenCache.TokenCache
      )
      expect(yield* store.withLock!("k", Effect.succeed("ran"))).toBe("ran")
      yield* until(() => calls.length === 2)
      expect(calls.map((c) => c.op)).toEqual(["attempt", "release"])
      expect(calls[1]!.token).toBe(calls[0]!.token)
    }).pipe(Effect.scoped))
})

describe("a stopped Redis", () => {
  it.live(
    "token calls for cached and new scopes fail with CacheError within the client's timeout; they work again after SIGCONT",
    () =>
      Effect.gen(function*() {
        // a short store timeout (the default's is checked above): the test waits for it
        const store = Context.get(
          yield* Layer.build(TokenCache.layerRedis({ url: server.url, prefix: "stuck:", timeout: "300 millis" })),
          TokenCache.TokenCache
        )
        const client = Context.get(
          yield* Layer.build(
            ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, timeout: "5 seconds" }).pipe(
              Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
              Layer.provide(Layer.succeed(TokenCache.TokenCache, store)),
              Layer.provide(TestAuthority.layerHttpClient)
            )
          ),
          ConfidentialClient.ConfidentialClient
        )
        yield* client.acquireTokenForClient({ scopes: [GRAPH] })
        server.pause()
        const results = yield* Effect.all({
          cached: timed(client.acquireTokenForClient({ scopes: [GRAPH] })),
          fresh: timed(client.acquireTokenForClient({ scopes: ["https://vault.azure.net/.default"] })),
          ...Object.fromEntries(Object.entries(operations(store)).map(([name, op]) => [name, timed(op)]))
        }, { concurrency: "unbounded" })
        server.resume()
        for (const [name, r] of Object.entries(results)) {
          expect([name, r.outcome]).toEqual([name, name === "withLock" ? "Error" : "CacheError"])
          expect([name, r.millis < 5_000]).toEqual([name, true])
        }
        const again = yield* client.acquireTokenForClient({ scopes: ["https://vault.azure.net/.default"] })
        expect(again.tokenSource).toBe("identity_provider")
      }).pipe(Effect.scoped, Effect.provide(TestAuthority.layer())),
    60_000
  )
})
