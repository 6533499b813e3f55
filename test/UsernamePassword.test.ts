import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TokenCache } from "effect-msal"
import { authority, CLIENT_ID, client, GRAPH, testLayer, tokenRequestCount } from "./support/harness.js"
import { ALICE, CAROL, homeOf, tokenRequests } from "./support/users.js"

const ropc = (
  username: string,
  password: string | Redacted.Redacted<string>,
  scopes: ReadonlyArray<string> = ["User.Read"]
) => Effect.flatMap(client, (c) => c.acquireTokenByUsernamePassword({ username, password, scopes }))

const userRealmRequests = Effect.map(
  Effect.flatMap(authority, (a) => a.requests),
  (rs) => rs.filter((r) => r.path.startsWith("/common/userrealm/"))
)

describe("acquireTokenByUsernamePassword (deprecated)", () => {
  it.effect("discovers the user realm, then sends the password grant with a upn routing hint (C18)", () =>
    Effect.gen(function*() {
      const result = yield* ropc(ALICE.username, ALICE.password!)
      const [realm] = yield* userRealmRequests
      expect(realm!.method).toBe("GET")
      expect(realm!.url).toBe(
        `https://login.microsoftonline.com/common/userrealm/${encodeURIComponent(ALICE.username)}?api-version=1.0`
      )
      expect(realm!.headers.accept).toBe("application/json")
      const [request] = yield* tokenRequests
      expect(request!.form).toEqual({
        client_id: CLIENT_ID,
        grant_type: "password",
        username: ALICE.username,
        password: ALICE.password,
        scope: "User.Read offline_access openid profile",
        client_info: "1",
        client_secret: expect.any(String)
      })
      expect(request!.headers["x-anchormailbox"]).toBe(`upn:${ALICE.username}`)
      expect(request!.headers["x-client-current-telemetry"]).toBe("4|301,0|")
      expect(result.account?.homeAccountId).toBe(homeOf(ALICE))
      const s = yield* (yield* TokenCache.TokenCache).snapshot
      expect(s.entries.Account[0]).toMatchObject({ account_source: "password", username: ALICE.username })
    }).pipe(Effect.provide(testLayer())))

  it.effect("a federated account is refused locally, without sending the password", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(ropc(CAROL.username, "whatever"))
      expect(e).toMatchObject({ _tag: "InvalidRequest", field: "username" })
      expect(e.message).toContain("federated")
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a wrong password is the authority's invalid_grant, and never echoed", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(ropc(ALICE.username, Redacted.make("wrong-Passw0rd")))
      expect(e).toMatchObject({ _tag: "ServerError", error: "invalid_grant", errorCodes: [50126] })
      expect(JSON.stringify(e)).not.toContain("wrong-Passw0rd")
      expect(String(e)).not.toContain("wrong-Passw0rd")
    }).pipe(Effect.provide(testLayer())))

  it.effect("a realm without user-realm discovery (404) is skipped from then on", () =>
    Effect.gen(function*() {
      yield* ropc(ALICE.username, ALICE.password!)
      yield* ropc(ALICE.username, ALICE.password!, ["Mail.Read"])
      expect(yield* userRealmRequests).toHaveLength(1)
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer({
      authority: {
        getResponses: { [`/common/userrealm/${encodeURIComponent(ALICE.username)}`]: { status: 404, body: "" } }
      }
    }))))

  it.effect("bad input is refused before any request", () =>
    Effect.gen(function*() {
      const c = yield* client
      for (
        const request of [
          { username: "", password: "p", scopes: ["User.Read"] },
          { username: ALICE.username, password: "", scopes: ["User.Read"] },
          { username: ALICE.username, password: "p", scopes: ["openid"] },
          { username: 1 as never, password: "p", scopes: ["User.Read"] }
        ]
      ) {
        expect(yield* Effect.flip(c.acquireTokenByUsernamePassword(request))).toMatchObject({ _tag: "InvalidRequest" })
      }
      expect(yield* (yield* authority).requests).toHaveLength(0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("C7: removeTokensForClient keeps the user's token", () =>
    Effect.gen(function*() {
      const c = yield* client
      yield* c.acquireTokenForClient({ scopes: [GRAPH] })
      const user = yield* ropc(ALICE.username, ALICE.password!)
      const cache = yield* TokenCache.TokenCache
      expect((yield* cache.snapshot).entries.AccessToken).toHaveLength(2)
      yield* c.removeTokensForClient()
      const left = (yield* cache.snapshot).entries.AccessToken
      expect(left).toHaveLength(1)
      expect(Redacted.value(left[0]!.secret)).toBe(Redacted.value(user.accessToken))
    }).pipe(Effect.provide(testLayer())))
})
