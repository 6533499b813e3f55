/** A Redis that stops answering (SIGSTOP) never holds a token call past the client's timeout. */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Layer, Option } from "effect"
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

/** How an effect ended, and after how long (real time). */
const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const exit = yield* Effect.exit(Effect.timeout(effect, "20 seconds"))
    const outcome = Exit.match(exit, {
      onFailure: (cause) =>
        Option.match(Cause.failureOption(cause), {
          onNone: () => Cause.pretty(cause),
          onSome: (e) => e instanceof Error && !("_tag" in e) ? "Error" : String((e as { _tag: string })._tag)
        }),
      onSuccess: () => "success"
    })
    return { outcome, millis: Date.now() - start }
  })

describe("a stopped Redis", () => {
  it.live(
    "token calls for cached and new scopes fail with CacheError within the client's timeout; they work again after SIGCONT",
    () =>
      Effect.gen(function*() {
        const store = Context.get(
          yield* Layer.build(TokenCache.layerRedis({ url: server.url, prefix: "stuck:" })),
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
          get: timed(store.get("AccessToken", "k")),
          list: timed(store.list("AccessToken")),
          modify: timed(store.modify([{ _tag: "Put", section: "AccessToken", entry: token }])),
          snapshot: timed(store.snapshot),
          // a lock that cannot be had is given up on (the effect then runs unlocked)
          withLock: timed(store.withLock!("k", Effect.fail(new Error("ran unlocked"))))
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
