import { afterAll, describe, expect, it } from "@effect/vitest"
import { Clock, Context, Deferred, Effect, Fiber, Layer, Redacted } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { RedisServer } from "./cache/redisServer.js"
import { startRedis } from "./cache/redisServer.js"
import { AUTHORITY, CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"
import { until } from "./support/poll.js"
import { makeRecorder } from "./support/recording.js"
import { eventDriven } from "./support/virtualTime.js"

/**
 * One redis-server for the file, started when it is collected (it boots while the file-store
 * tests run); each Redis test uses a key prefix of its own.
 */
const redisStarting = startRedis()
redisStarting.catch(() => undefined) // reported by the tests that use it
afterAll(() => redisStarting.then((redis) => redis.stop(), () => undefined))
const withRedis = <A, E, R>(use: (redis: RedisServer) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.promise(() => redisStarting), use)

/** A cache file in a directory of its own, removed after the file's tests. */
const dirs: Array<string> = []
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))
const cacheFile = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), `effect-msal-${prefix}-`))
  dirs.push(dir)
  return join(dir, "cache.json")
}

/** Two clients, as two instances of a service would be, each with its own store on shared storage. */
const twoInstances = (store: () => Layer.Layer<TokenCache.TokenCache, unknown>) =>
  Effect.gen(function*() {
    const authority = yield* TestAuthority.make({ latency: "300 millis" })
    const instance = () =>
      ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
        Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
        Layer.provide(store()),
        Layer.provide(TestAuthority.layerHttpClient),
        Layer.provide(Layer.succeed(TestAuthority.TestAuthority, authority))
      )
    const acquireIn = (layer: ReturnType<typeof instance>) =>
      Effect.flatMap(ConfidentialClient.ConfidentialClient, (c) => c.acquireTokenForClient({ scopes: [GRAPH] })).pipe(
        Effect.provide(layer)
      )
    const [a, b] = yield* Effect.all([acquireIn(instance()), acquireIn(instance())], { concurrency: "unbounded" })
    return { a, b, requests: (yield* authority.tokenRequests).length }
  })

describe("the grant takes the store's lock: instances sharing a store send one request", () => {
  // the authority's latency, the file lock's back-off and the client's clock run on virtual
  // time that moves on only while no file-system step is in flight (test/support/virtualTime.ts)
  it.effect("two instances on one cache file", () =>
    eventDriven(
      Effect.gen(function*() {
        const path = cacheFile("shared")
        const { a, b, requests } = yield* twoInstances(() => TokenCache.layerFile(path))
        expect(requests).toBe(1)
        expect(Redacted.value(a.accessToken)).toBe(Redacted.value(b.accessToken))
        expect([a.tokenSource, b.tokenSource].sort()).toEqual(["cache", "identity_provider"])
      }),
      "30 seconds"
    ), 30_000)

  it.live("two instances on one Redis", () =>
    withRedis((redis) =>
      Effect.gen(function*() {
        const { a, b, requests } = yield* twoInstances(() =>
          TokenCache.layerRedis({ url: redis.url, prefix: "shared:" })
        )
        expect(requests).toBe(1)
        expect(Redacted.value(a.accessToken)).toBe(Redacted.value(b.accessToken))
      })
    ), 30_000)
})

/** A store that lives until the test's scope closes (two builds: two instances). */
const build = (layer: Layer.Layer<TokenCache.TokenCache, unknown>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, TokenCache.TokenCache))

/** A client on a cache file, as one instance of a service would be; it lives until the test's scope closes. */
const clientOn = (path: string, authority: TestAuthority.Service) =>
  Effect.map(
    Layer.build(
      ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
        Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
        Layer.provide(TokenCache.layerFile(path)),
        Layer.provide(TestAuthority.layerHttpClient),
        Layer.provide(Layer.succeed(TestAuthority.TestAuthority, authority))
      )
    ),
    (context) => Context.get(context, ConfidentialClient.ConfidentialClient)
  )

describe("instances sharing a store refresh an aging token once", () => {
  it.effect("two instances on one cache file, both past refreshOn", () =>
    eventDriven(
      Effect.gen(function*() {
        const path = cacheFile("refresh")
        // refresh_in 1 (the least lifetime accepted): the first token is due for a background
        // refresh once a whole second has passed its refresh_on (the engine's rule: refresh_on < now)
        const authority = yield* TestAuthority.make({ refreshIn: 1, latency: "200 millis" })
        const a = yield* clientOn(path, authority)
        const b = yield* clientOn(path, authority)
        const first = yield* a.acquireTokenForClient({ scopes: [GRAPH] })
        // (virtual time: this sleep ends at once)
        yield* Effect.sleep(first.refreshOn!.getTime() + 1000 - (yield* Clock.currentTimeMillis))
        const recorder = yield* makeRecorder
        const [fromA, fromB] = yield* Effect.all([
          a.acquireTokenForClient({ scopes: [GRAPH] }),
          b.acquireTokenForClient({ scopes: [GRAPH] })
        ], { concurrency: "unbounded" }).pipe(Effect.provide(recorder.layer))
        expect([fromA.tokenSource, fromB.tokenSource]).toEqual(["cache", "cache"])
        // both started a background refresh, off the request path; once both have ended, under
        // the file's lock only one reached the authority, the other found the new token
        yield* until(
          "both background refreshes ended",
          Effect.sync(() =>
            recorder.spans.filter((s) => s.name === "ConfidentialClient.backgroundRefresh" && s.status._tag === "Ended")
              .length === 2
          ),
          { within: "10 seconds" }
        )
        expect((yield* authority.tokenRequests).length).toBe(2)
      }).pipe(Effect.scoped),
      "20 seconds"
    ), 20_000)
})

describe("instances sharing a store exchange a user's token once", () => {
  it.effect(
    "on-behalf-of from two instances on one cache file, at the same time",
    () =>
      eventDriven(
        Effect.gen(function*() {
          const path = cacheFile("obo")
          const authority = yield* TestAuthority.make({ latency: "200 millis" })
          const a = yield* clientOn(path, authority)
          const b = yield* clientOn(path, authority)
          const userAssertion = yield* authority.userAssertion({ audience: CLIENT_ID })
          const scopes = ["https://graph.microsoft.com/User.Read"]
          const [fromA, fromB] = yield* Effect.all([
            a.acquireTokenOnBehalfOf({ userAssertion, scopes }),
            b.acquireTokenOnBehalfOf({ userAssertion, scopes })
          ], { concurrency: "unbounded" })
          expect([fromA.tokenSource, fromB.tokenSource].sort()).toEqual(["cache", "identity_provider"])
          expect(Redacted.value(fromA.accessToken)).toBe(Redacted.value(fromB.accessToken))
          expect((yield* authority.tokenRequests).length).toBe(1)
        }).pipe(Effect.scoped),
        "20 seconds"
      ),
    20_000
  )
})

/**
 * One store holds the lock for "key" until interrupted; the other waits with a 300 ms timeout.
 * With an uninterruptible wait the timeout would only fire after the store's own 60 s lock
 * wait (past the test's timeout, and on a virtual clock past the 10 s checked here). Once the
 * holder is interrupted its lock is released.
 */
const lockWaitIsInterruptible = (layer: Layer.Layer<TokenCache.TokenCache, unknown>) =>
  Effect.gen(function*() {
    const holder = yield* build(layer)
    const waiter = yield* build(layer)
    const held = yield* Deferred.make<void>()
    const holding = yield* Effect.fork(
      holder.withLock!("key", Effect.zipRight(Deferred.succeed(held, undefined), Effect.never))
    )
    yield* Deferred.await(held)
    const started = yield* Clock.currentTimeMillis
    const waited = yield* waiter.withLock!("key", Effect.succeed("got it")).pipe(
      Effect.timeout("300 millis"),
      Effect.either
    )
    // ended by the caller's timeout, not after the store's own 60 s (on a virtual clock too)
    expect(waited._tag === "Left" && waited.left._tag).toBe("TimeoutException")
    expect((yield* Clock.currentTimeMillis) - started).toBeLessThan(10_000)
    yield* Fiber.interrupt(holding)
    expect(yield* waiter.withLock!("key", Effect.succeed("got it"))).toBe("got it")
  }).pipe(Effect.scoped)

describe("waiting for another instance's lock can be interrupted", () => {
  it.effect(
    "a caller's timeout ends the wait for a file lock (not the lock timeout)",
    () =>
      eventDriven(
        lockWaitIsInterruptible(TokenCache.layerFile(cacheFile("lockwait"), { lockTimeout: "60 seconds" })),
        "15 seconds"
      ),
    15_000
  )

  it.live(
    "a caller's timeout ends the wait for a Redis lock",
    () =>
      withRedis((redis) =>
        lockWaitIsInterruptible(TokenCache.layerRedis({ url: redis.url, prefix: "lockwait:", lockWait: "60 seconds" }))
      ),
    15_000
  )
})
