import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted, Ref } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, MsalError, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { AUTHORITY, CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"

/** MSAL's cache-plugin pattern: load the serialised cache before each access, save it after a change. */
const pluginHooks = (store: Ref.Ref<string>, seen: Array<string>) =>
  Layer.succeed(TokenCache.CacheHooks, {
    beforeAccess: (access) =>
      Effect.gen(function*() {
        seen.push(`before ${access.kind} ${access.section ?? "*"}`)
        const json = yield* Ref.get(store)
        if (json !== "") yield* access.deserialize(json)
      }),
    afterAccess: (access) =>
      Effect.gen(function*() {
        seen.push(`after ${access.kind} ${access.section ?? "*"} ${access.changed}`)
        if (access.changed) yield* Ref.set(store, yield* access.serialize())
      })
  })

const clientOn = (store: Ref.Ref<string>, seen: Array<string>) =>
  ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
    Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
    Layer.provide(TokenCache.layerHooks().pipe(Layer.provide(pluginHooks(store, seen)))),
    Layer.provide(TestAuthority.layerHttpClient)
  )

const acquire = Effect.flatMap(
  ConfidentialClient.ConfidentialClient,
  (c) => c.acquireTokenForClient({ scopes: [GRAPH] })
)

describe("cache hooks", () => {
  it.effect("a plugin-style store shares tokens between two clients", () =>
    Effect.gen(function*() {
      const store = yield* Ref.make("")
      const seen: Array<string> = []
      const first = yield* Effect.provide(acquire, clientOn(store, seen))
      expect(first.tokenSource).toBe("identity_provider")
      const saved = JSON.parse(yield* Ref.get(store))
      expect(Object.keys(saved.AccessToken)).toHaveLength(1)
      expect(seen).toContain("after write * true")
      expect(seen[0]).toBe("before read AccessToken")
      const second = yield* Effect.provide(acquire, clientOn(store, []))
      expect(second.tokenSource).toBe("cache")
      expect(Redacted.value(second.accessToken)).toBe(Redacted.value(first.accessToken))
      const authority = yield* TestAuthority.TestAuthority
      expect((yield* authority.tokenRequests).length).toBe(1)
    }).pipe(Effect.provide(TestAuthority.layer())))

  it.effect("reads are reported unchanged; a failing hook fails the access with its CacheError", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const failing = Layer.succeed(TokenCache.CacheHooks, {
        beforeAccess: (access) =>
          access.kind === "write"
            ? Effect.fail(new MsalError.CacheError({ reason: "Io", description: "store offline" }))
            : Effect.sync(() => seen.push("before")),
        afterAccess: (access) => Effect.sync(() => seen.push(`after ${access.changed}`))
      })
      const run = Effect.gen(function*() {
        const cache = yield* TokenCache.TokenCache
        yield* cache.get("AccessToken", "k")
        yield* cache.list("AccessToken")
        expect(seen).toEqual(["before", "after false", "before", "after false"])
        const exit = yield* Effect.exit(cache.modify([]))
        expect(Exit.isFailure(exit)).toBe(true)
      })
      yield* Effect.provide(run, TokenCache.layerHooks().pipe(Layer.provide(failing)))
    }))
})
