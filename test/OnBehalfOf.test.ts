import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import { inspect } from "node:util"
import { TokenCache } from "effect-msal"
import { authority, BY_TENANT_ID, CLIENT_ID, client, testLayer, tokenRequestCount } from "./support/harness.js"
import { ALICE, BOB, homeOf, sha256b64url, tokenForms, tokenRequests } from "./support/users.js"

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
const DOWNSTREAM = ["https://graph.microsoft.com/User.Read"]

/** The token a front end sent to this API for a user. */
const assertionFor = (user = ALICE.username, expiresIn?: number) =>
  Effect.flatMap(
    authority,
    (a) => a.userAssertion({ audience: CLIENT_ID, user, ...(expiresIn === undefined ? {} : { expiresIn }) })
  )

const obo = (
  userAssertion: string | Redacted.Redacted<string>,
  scopes: ReadonlyArray<string> = DOWNSTREAM,
  claims?: string
) =>
  Effect.flatMap(
    client,
    (c) => c.acquireTokenOnBehalfOf({ userAssertion, scopes, ...(claims === undefined ? {} : { claims }) })
  )

const snapshot = Effect.flatMap(TokenCache.TokenCache, (c) => c.snapshot)

describe("acquireTokenOnBehalfOf", () => {
  it.effect("sends the jwt-bearer request with the reserved scopes and caches a user token set (C10, D-C11)", () =>
    Effect.gen(function*() {
      const assertion = yield* assertionFor()
      const result = yield* obo(assertion, ["User.Read"])
      const [request] = yield* tokenRequests
      expect(request!.form).toEqual({
        client_id: CLIENT_ID,
        grant_type: JWT_BEARER,
        assertion,
        requested_token_use: "on_behalf_of",
        scope: "User.Read offline_access openid profile",
        client_info: "1",
        client_secret: expect.any(String)
      })
      expect(request!.headers["x-client-current-telemetry"]).toBe("4|523,0|")
      expect(request!.headers["x-anchormailbox"]).toBeUndefined()
      expect(result.tokenSource).toBe("identity_provider")
      expect(result.account?.homeAccountId).toBe(homeOf(ALICE))
      const s = yield* snapshot
      const hash = sha256b64url(assertion)
      expect(s.entries.AccessToken).toHaveLength(1)
      expect(s.entries.AccessToken[0]).toMatchObject({ home_account_id: homeOf(ALICE), user_assertion_hash: hash })
      expect(s.entries.RefreshToken).toHaveLength(1)
      expect(s.entries.RefreshToken[0]).toMatchObject({ home_account_id: homeOf(ALICE), user_assertion_hash: hash })
      expect(s.entries.IdToken[0]).toMatchObject({ home_account_id: homeOf(ALICE) })
      expect(s.entries.Account[0]).toMatchObject({ home_account_id: homeOf(ALICE), username: ALICE.username })
      expect(s.entries.Account[0]!.account_source).toBeUndefined()
      expect(s.entries.AppMetadata[0]).toMatchObject({ client_id: CLIENT_ID })
      // the hash is the one msal-node writes: base64url, unpadded
      expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/)
    }).pipe(Effect.provide(testLayer())))

  it.effect("the same assertion and scopes again are served from the cache", () =>
    Effect.gen(function*() {
      const assertion = yield* assertionFor()
      const first = yield* obo(assertion)
      const second = yield* obo(assertion)
      const subset = yield* obo(Redacted.make(assertion), ["https://graph.microsoft.com/user.read"])
      expect(second.tokenSource).toBe("cache")
      expect(subset.tokenSource).toBe("cache")
      expect(Redacted.value(second.accessToken)).toBe(Redacted.value(first.accessToken))
      expect(second.account).toEqual(first.account)
      expect(second.idTokenClaims?.oid).toBe(ALICE.objectId)
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("another assertion or other scopes get their own token", () =>
    Effect.gen(function*() {
      const alice = yield* assertionFor()
      const bob = yield* assertionFor(BOB.username)
      const a = yield* obo(alice)
      const b = yield* obo(bob)
      expect(b.tokenSource).toBe("identity_provider")
      expect(b.account?.username).toBe(BOB.username)
      expect(Redacted.value(b.accessToken)).not.toBe(Redacted.value(a.accessToken))
      // a new assertion of the same user is another cache entry
      yield* TestClock.adjust("1 second")
      const alice2 = yield* assertionFor()
      expect(alice2).not.toBe(alice)
      expect((yield* obo(alice2)).tokenSource).toBe("identity_provider")
      // other scopes for the same assertion
      expect((yield* obo(alice, ["https://graph.microsoft.com/Mail.Read"])).tokenSource).toBe("identity_provider")
      expect(yield* tokenRequestCount).toBe(4)
      expect((yield* obo(alice)).tokenSource).toBe("cache")
      expect((yield* obo(bob)).tokenSource).toBe("cache")
      expect(yield* tokenRequestCount).toBe(4)
    }).pipe(Effect.provide(testLayer())))

  it.effect("after the access token's expiry, the refresh token of the exchange is redeemed instead of the assertion", () =>
    Effect.gen(function*() {
      const assertion = yield* assertionFor(ALICE.username, 7200)
      yield* obo(assertion)
      const rt = (yield* snapshot).entries.RefreshToken[0]!
      // the assertion is still valid, the access token has less than five minutes left
      yield* TestClock.adjust("57 minutes")
      const refreshed = yield* obo(assertion)
      expect(refreshed.tokenSource).toBe("identity_provider")
      const forms = yield* tokenForms
      expect(forms).toHaveLength(2)
      expect(forms[1]).toMatchObject({ grant_type: "refresh_token", refresh_token: Redacted.value(rt.secret) })
      expect(forms[1]!.assertion).toBeUndefined()
      const requests = yield* tokenRequests
      expect(requests[1]!.headers["x-client-current-telemetry"]).toBe("4|523,3|")
      expect(requests[1]!.headers["x-anchormailbox"]).toBe(`Oid:${ALICE.objectId}@${ALICE.tenantId}`)
      // the rotated refresh token replaced the old one, still bound to the assertion
      const s = yield* snapshot
      expect(s.entries.RefreshToken).toHaveLength(1)
      expect(Redacted.value(s.entries.RefreshToken[0]!.secret)).not.toBe(Redacted.value(rt.secret))
      expect(s.entries.RefreshToken[0]!.user_assertion_hash).toBe(sha256b64url(assertion))
      expect(s.entries.AccessToken).toHaveLength(1)
      expect((yield* obo(assertion)).tokenSource).toBe("cache")
      expect(yield* tokenRequestCount).toBe(2)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a refused refresh token falls back to the assertion", () =>
    Effect.gen(function*() {
      const assertion = yield* assertionFor(ALICE.username, 7200)
      yield* obo(assertion)
      yield* TestClock.adjust("1 hour")
      yield* (yield* authority).enqueue({ status: 400, body: { error: "invalid_grant", error_description: "revoked" } })
      const result = yield* obo(assertion)
      expect(result.tokenSource).toBe("identity_provider")
      expect((yield* tokenForms).map((f) => f.grant_type)).toEqual([JWT_BEARER, "refresh_token", JWT_BEARER])
    }).pipe(Effect.provide(testLayer())))

  it.effect("without offline_access there is no refresh token: the assertion is sent again", () =>
    Effect.gen(function*() {
      const assertion = yield* assertionFor(ALICE.username, 7200)
      yield* obo(assertion)
      expect((yield* tokenForms)[0]!.scope).toBe("https://graph.microsoft.com/User.Read openid profile")
      expect((yield* snapshot).entries.RefreshToken).toHaveLength(0)
      yield* TestClock.adjust("1 hour")
      expect((yield* obo(assertion)).tokenSource).toBe("identity_provider")
      expect((yield* tokenForms).map((f) => f.grant_type)).toEqual([JWT_BEARER, JWT_BEARER])
    }).pipe(Effect.provide(testLayer({ client: { excludeScopes: ["offline_access"] } }))))

  it.effect("an aging token is refreshed, and served when the refresh fails", () =>
    Effect.gen(function*() {
      const assertion = yield* assertionFor()
      const first = yield* obo(assertion)
      yield* TestClock.adjust("1 second")
      yield* (yield* authority).enqueue(
        { status: 400, body: { error: "invalid_grant" } },
        { status: 400, body: { error: "invalid_grant" } }
      )
      yield* TestClock.adjust("1 second")
      const fallback = yield* obo(assertion)
      expect(fallback.tokenSource).toBe("cache")
      expect(Redacted.value(fallback.accessToken)).toBe(Redacted.value(first.accessToken))
      const requests = yield* tokenRequests
      expect(requests.map((r) => r.headers["x-client-current-telemetry"])).toEqual(["4|523,0|", "4|523,4|", "4|523,0|"])
      // identical failing requests are replayed for a minute: the next refresh goes out after that
      yield* TestClock.adjust("61 seconds")
      const refreshed = yield* obo(assertion)
      expect(refreshed.tokenSource).toBe("identity_provider")
      expect((yield* tokenForms).at(-1)!.grant_type).toBe("refresh_token")
    }).pipe(Effect.provide(testLayer({ authority: { refreshIn: 1 } }))))

  it.effect("an expired or not-yet-valid assertion is refused before any request, and its cached tokens are not served", () =>
    Effect.gen(function*() {
      const assertion = yield* assertionFor(ALICE.username, 600)
      expect((yield* obo(assertion)).tokenSource).toBe("identity_provider")
      // the access token (one hour) outlives the assertion (ten minutes)
      yield* TestClock.adjust("11 minutes")
      for (const scopes of [DOWNSTREAM, ["https://graph.microsoft.com/Mail.Read"]]) {
        const e = yield* Effect.flip(obo(assertion, scopes))
        expect(e).toMatchObject({ _tag: "InvalidRequest", field: "userAssertion" })
        for (const text of [JSON.stringify(e), String(e), inspect(e)]) expect(text).not.toContain(assertion)
      }
      expect(yield* tokenRequestCount).toBe(1)
      // thirty days later, still refused, still nothing sent
      yield* TestClock.adjust("30 days")
      expect(yield* Effect.flip(obo(assertion))).toMatchObject({ _tag: "InvalidRequest", field: "userAssertion" })
      expect(yield* tokenRequestCount).toBe(1)
      // not valid yet: nbf ten minutes ahead
      const future = yield* (yield* authority).userAssertion({
        audience: CLIENT_ID,
        user: ALICE.username,
        notBefore: 600
      })
      expect(yield* Effect.flip(obo(future))).toMatchObject({ _tag: "InvalidRequest", field: "userAssertion" })
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("concurrent identical calls share one request", () =>
    Effect.gen(function*() {
      const assertion = yield* assertionFor()
      const fibers = yield* Effect.forEach([1, 2, 3, 4, 5], () => Effect.fork(obo(assertion)))
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.joinAll(fibers)
      expect(yield* tokenRequestCount).toBe(1)
      expect(new Set(results.map((r) => Redacted.value(r.accessToken))).size).toBe(1)
    }).pipe(Effect.provide(testLayer({ client: { authority: BY_TENANT_ID }, authority: { latency: "1 second" } }))))

  it.effect("a claims challenge bypasses the cache", () =>
    Effect.gen(function*() {
      const assertion = yield* assertionFor()
      yield* obo(assertion)
      const claims = "{\"access_token\":{\"acrs\":{\"essential\":true,\"value\":\"c1\"}}}"
      const result = yield* obo(assertion, DOWNSTREAM, claims)
      expect(result.tokenSource).toBe("identity_provider")
      const requests = yield* tokenRequests
      expect(requests[1]!.form.claims).toBe(claims)
      expect(requests[1]!.headers["x-client-current-telemetry"]).toBe("4|523,1|")
    }).pipe(Effect.provide(testLayer())))

  it.effect("the authority's refusal is a ServerError that does not contain the assertion", () =>
    Effect.gen(function*() {
      // an assertion the authority refuses although it looks valid to us (here: revoked)
      const assertion = yield* assertionFor(ALICE.username, 3600)
      yield* (yield* authority).enqueue({
        status: 400,
        body: {
          error: "invalid_grant",
          error_description: "AADSTS50013: Assertion failed signature validation.",
          error_codes: [50013]
        }
      })
      const e = yield* Effect.flip(obo(assertion))
      expect(e).toMatchObject({ _tag: "ServerError", error: "invalid_grant", errorCodes: [50013] })
      for (const text of [JSON.stringify(e), String(e), inspect(e)]) expect(text).not.toContain(assertion)
      const wrongAudience = yield* (yield* authority).userAssertion({ audience: "another-api" })
      expect(yield* Effect.flip(obo(wrongAudience))).toMatchObject({ errorCodes: [500131] })
      expect((yield* snapshot).entries.AccessToken).toHaveLength(0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("rejects misuse before any request (D-C13, C12)", () =>
    Effect.gen(function*() {
      const assertion = yield* assertionFor()
      const c = yield* client
      for (const scopes of [["openid"], ["profile", "User.Read"], ["offline_access"], [], [""]]) {
        expect(yield* Effect.flip(obo(assertion, scopes))).toMatchObject({ _tag: "InvalidRequest", field: "scopes" })
      }
      expect(yield* Effect.flip(c.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: "User.Read" as never })))
        .toMatchObject({ _tag: "InvalidRequest" })
      expect(yield* Effect.flip(obo(""))).toMatchObject({ _tag: "InvalidRequest", field: "userAssertion" })
      expect(yield* Effect.flip(obo(Redacted.make("")))).toMatchObject({
        _tag: "InvalidRequest",
        field: "userAssertion"
      })
      expect(yield* Effect.flip(c.acquireTokenOnBehalfOf(undefined as never))).toMatchObject({ _tag: "InvalidRequest" })
      expect(yield* tokenRequestCount).toBe(0)
      // C12: the client id is allowed as a scope
      yield* obo(assertion, [CLIENT_ID])
      expect((yield* tokenForms)[0]!.scope).toBe(`${CLIENT_ID} offline_access openid profile`)
    }).pipe(Effect.provide(testLayer())))

  it.effect("excludeScopes must be a list without openid (D-C13)", () =>
    Effect.gen(function*() {
      for (const excludeScopes of ["x" as never, ["openid"], [1 as never]]) {
        const e = yield* Effect.flip(Effect.scoped(Layer.build(testLayer({ client: { excludeScopes } }))))
        expect(e).toMatchObject({ _tag: "InvalidRequest", field: "excludeScopes" })
      }
    }))
})

describe("long-running on-behalf-of sessions", () => {
  it.effect("start from a valid user token, go on after it expires by the session key, and never with acquireTokenOnBehalfOf", () =>
    Effect.gen(function*() {
      const c = yield* client
      const assertion = yield* assertionFor(ALICE.username, 600)
      const { result, sessionKey } = yield* c.initiateLongRunningOnBehalfOf({
        userAssertion: assertion,
        scopes: DOWNSTREAM
      })
      expect(result.tokenSource).toBe("identity_provider")
      expect(sessionKey).toBe(sha256b64url(assertion))
      expect((yield* tokenForms)[0]).toMatchObject({ grant_type: JWT_BEARER, assertion })
      // served from the cache by its key
      expect((yield* c.acquireTokenInLongRunningProcess({ sessionKey, scopes: DOWNSTREAM })).tokenSource).toBe("cache")
      // a day later: the user's token and the access token have expired; the session goes on by its refresh token
      yield* TestClock.adjust("1 day")
      expect(yield* Effect.flip(obo(assertion))).toMatchObject({ _tag: "InvalidRequest", field: "userAssertion" })
      const later = yield* c.acquireTokenInLongRunningProcess({ sessionKey, scopes: DOWNSTREAM })
      expect(later.tokenSource).toBe("identity_provider")
      const forms = yield* tokenForms
      expect(forms).toHaveLength(2)
      expect(forms[1]).toMatchObject({ grant_type: "refresh_token" })
      expect(forms[1]!.assertion).toBeUndefined()
    }).pipe(Effect.provide(testLayer())))

  it.effect("refuses an expired or opaque user token at the start, and an unknown or malformed session key", () =>
    Effect.gen(function*() {
      const c = yield* client
      const expired = yield* assertionFor(ALICE.username, 60)
      yield* TestClock.adjust("2 minutes")
      expect(yield* Effect.flip(c.initiateLongRunningOnBehalfOf({ userAssertion: expired, scopes: DOWNSTREAM })))
        .toMatchObject({ _tag: "InvalidRequest", field: "userAssertion" })
      expect(yield* Effect.flip(c.initiateLongRunningOnBehalfOf({ userAssertion: "opaque-token", scopes: DOWNSTREAM })))
        .toMatchObject({ _tag: "InvalidRequest", field: "userAssertion" })
      expect(yield* Effect.flip(c.acquireTokenInLongRunningProcess({ sessionKey: "x".repeat(40), scopes: DOWNSTREAM })))
        .toMatchObject({ _tag: "TokenNotFound" })
      for (const sessionKey of ["short", "has spaces in it, sixteen+", 42 as never]) {
        expect(yield* Effect.flip(c.acquireTokenInLongRunningProcess({ sessionKey, scopes: DOWNSTREAM })))
          .toMatchObject({ _tag: "InvalidRequest", field: "sessionKey" })
      }
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a caller's own session key; a refused refresh token is returned as it is", () =>
    Effect.gen(function*() {
      const c = yield* client
      const assertion = yield* assertionFor(ALICE.username, 600)
      const sessionKey = "report-job-2026-12-04-alice"
      expect(
        (yield* c.initiateLongRunningOnBehalfOf({ userAssertion: assertion, scopes: DOWNSTREAM, sessionKey }))
          .sessionKey
      )
        .toBe(sessionKey)
      yield* TestClock.adjust("2 hours")
      yield* (yield* authority).enqueue({ status: 400, body: { error: "invalid_grant", error_codes: [50173] } })
      expect(yield* Effect.flip(c.acquireTokenInLongRunningProcess({ sessionKey, scopes: DOWNSTREAM })))
        .toMatchObject({ _tag: "ServerError", error: "invalid_grant" })
      expect((yield* tokenForms).at(-1)).toMatchObject({ grant_type: "refresh_token" })
    }).pipe(Effect.provide(testLayer())))
})
