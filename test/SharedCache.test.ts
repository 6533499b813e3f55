import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TestAuthority, TokenCache } from "effect-msal"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startRedis } from "./cache/redisServer.js"
import { AUTHORITY, CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"

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
  it.live("two instances on one cache file", () =>
    Effect.gen(function*() {
      const path = join(mkdtempSync(join(tmpdir(), "effect-msal-shared-")), "cache.json")
      const { a, b, requests } = yield* twoInstances(() => TokenCache.layerFile(path))
      expect(requests).toBe(1)
      expect(Redacted.value(a.accessToken)).toBe(Redacted.value(b.accessToken))
      expect([a.tokenSource, b.tokenSource].sort()).toEqual(["cache", "identity_provider"])
    }), 30_000)

  it.live("two instances on one Redis", () =>
    Effect.acquireUseRelease(
      Effect.promise(() => startRedis()),
      (redis) =>
        Effect.gen(function*() {
          const { a, b, requests } = yield* twoInstances(() => TokenCache.layerRedis({ url: redis.url }))
          expect(requests).toBe(1)
          expect(Redacted.value(a.accessToken)).toBe(Redacted.value(b.accessToken))
        }),
      (redis) => Effect.promise(() => redis.stop())
    ), 30_000)
})
