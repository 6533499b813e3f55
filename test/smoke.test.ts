import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { client, GRAPH, testLayer, tokenRequestCount } from "./support/harness.js"

describe("smoke", () => {
  it.effect("gets a token then serves it from cache", () =>
    Effect.gen(function*() {
      const c = yield* client
      const a = yield* c.acquireTokenForClient({ scopes: [GRAPH] })
      const b = yield* c.acquireTokenForClient({ scopes: [GRAPH] })
      expect(a.tokenSource).toBe("identity_provider")
      expect(b.tokenSource).toBe("cache")
      expect(Redacted.value(a.accessToken)).toBe(Redacted.value(b.accessToken))
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer())))
})
