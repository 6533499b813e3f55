import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { AUTHORITY, CLIENT_ID, SECRET } from "./support/harness.js"

/** A memory cache that counts the lookups the grants make. */
const countingLayer = (counts: { get: number; list: number }) =>
  Layer.effect(
    TokenCache.TokenCache,
    Effect.map(TokenCache.makeMemory(), (inner): TokenCache.Service => ({
      ...inner,
      get: (section, key) => Effect.suspend(() => (counts.get++, inner.get(section, key))),
      list: (section, partition) => Effect.suspend(() => (counts.list++, inner.list(section, partition)))
    }))
  )

describe("user-token cache hits are keyed lookups", () => {
  it.effect("on-behalf-of: after the first hit, a hit is one keyed lookup and no partition scan", () => {
    const counts = { get: 0, list: 0 }
    return Effect.gen(function*() {
      const client = yield* ConfidentialClient.ConfidentialClient
      const authority = yield* TestAuthority.TestAuthority
      const userAssertion = yield* authority.userAssertion({ audience: CLIENT_ID })
      const scopes = ["https://graph.microsoft.com/User.Read"]
      yield* client.acquireTokenOnBehalfOf({ userAssertion, scopes })
      expect((yield* client.acquireTokenOnBehalfOf({ userAssertion, scopes })).tokenSource).toBe("cache")
      counts.get = 0
      counts.list = 0
      for (let i = 0; i < 5; i++) {
        expect((yield* client.acquireTokenOnBehalfOf({ userAssertion, scopes })).tokenSource).toBe("cache")
      }
      expect(counts.list).toBe(0)
      // one for the access token, two for the identity (ID token, account) per hit
      expect(counts.get).toBeLessThanOrEqual(5 * 3)
      expect((yield* authority.tokenRequests).length).toBe(1)
    }).pipe(
      Effect.provide(
        ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
          Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
          Layer.provide(countingLayer(counts)),
          Layer.provide(TestAuthority.layerHttpClient),
          Layer.provideMerge(TestAuthority.layer())
        )
      )
    )
  })
})
