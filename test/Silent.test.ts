import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Redacted, TestClock } from "effect"
import type { CacheEntry } from "effect-msal"
import { TokenCache } from "effect-msal"
import { authority, CLIENT_ID, client, testLayer, tokenRequestCount } from "./support/harness.js"
import {
  ALICE,
  homeOf,
  makeClient,
  sharedLayer,
  signIn,
  startSignIn,
  tokenForms,
  tokenRequests
} from "./support/users.js"

const ENV = "login.microsoftonline.com"
const REALM = "contoso.onmicrosoft.com"

const cache = TokenCache.TokenCache
const snapshot = Effect.flatMap(cache, (c) => c.snapshot)
const silent = (request: Parameters<import("effect-msal").ConfidentialClient.Service["acquireTokenSilent"]>[0]) =>
  Effect.flatMap(client, (c) => c.acquireTokenSilent(request))
const lastTelemetry = Effect.map(tokenRequests, (rs) => rs.at(-1)?.headers["x-client-current-telemetry"])

/** Cache entries for an account, as another MSAL would have written them. */
const seed = (options: {
  readonly home: string
  readonly environment?: string
  readonly scopes?: string
  readonly expiresIn?: number
  readonly refreshIn?: number
  readonly rt?: string
  readonly withAccessToken?: boolean
}) =>
  Effect.flatMap(cache, (c) => {
    const environment = options.environment ?? ENV
    const target = options.scopes ?? "s1 s2"
    const at: CacheEntry.AccessToken = {
      credential_type: "AccessToken",
      secret: Redacted.make("cached AT"),
      home_account_id: options.home,
      environment,
      client_id: CLIENT_ID,
      realm: REALM,
      target,
      token_type: "Bearer",
      cached_at: 0,
      expires_on: options.expiresIn ?? 3600,
      extended_expires_on: options.expiresIn ?? 3600,
      ...(options.refreshIn === undefined ? {} : { refresh_on: options.refreshIn })
    }
    const rt: CacheEntry.RefreshToken = {
      credential_type: "RefreshToken",
      secret: Redacted.make(options.rt ?? "an RT"),
      home_account_id: options.home,
      environment,
      client_id: CLIENT_ID,
      target,
      last_modification_time: 0
    }
    const account: CacheEntry.Account = {
      home_account_id: options.home,
      environment,
      realm: REALM,
      local_account_id: options.home.split(".")[0]!,
      username: "john@contoso.example",
      authority_type: "MSSTS"
    }
    return c.modify([
      ...(options.withAccessToken === false
        ? []
        : [{ _tag: "Put" as const, section: "AccessToken" as const, entry: at }]),
      { _tag: "Put", section: "RefreshToken", entry: rt },
      { _tag: "Put", section: "Account", entry: account }
    ])
  })

const accountFor = (home: string, environment = ENV) => ({
  homeAccountId: home,
  environment,
  tenantId: REALM,
  username: "john@contoso.example",
  localAccountId: home.split(".")[0]!
})

const scripted = (body: Record<string, unknown>, status = 200) =>
  Effect.flatMap(authority, (a) => a.enqueue({ status, body }))

describe("acquireTokenSilent from the cache", () => {
  it.effect("serves the signed-in account's token, and a cached superset, without a request", () =>
    Effect.gen(function*() {
      const first = yield* signIn({ scopes: ["User.Read", "Mail.Read"] })
      const same = yield* silent({ scopes: ["User.Read", "Mail.Read"], account: first.account! })
      const subset = yield* silent({ scopes: ["mail.read"], account: first.account! })
      expect(same.tokenSource).toBe("cache")
      expect(subset.tokenSource).toBe("cache")
      expect(Redacted.value(subset.accessToken)).toBe(Redacted.value(first.accessToken))
      expect(same.account).toEqual(first.account)
      expect(same.idTokenClaims?.oid).toBe(ALICE.objectId)
      expect(Redacted.value(same.idToken!)).toBe(Redacted.value(first.idToken!))
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("rejects bad input with no I/O (D-C14)", () =>
    Effect.gen(function*() {
      const first = yield* signIn()
      const account = first.account!
      for (
        const request of [
          { scopes: ["User.Read"], account: undefined as never },
          { scopes: ["User.Read"], account: { homeAccountId: "" } as never },
          { scopes: ["openid"], account },
          { scopes: "User.Read" as never, account },
          { scopes: ["User.Read"], account, forceRefresh: "yes" as never },
          { scopes: ["User.Read"], account, claims: "{" }
        ]
      ) {
        expect(yield* Effect.flip(silent(request))).toMatchObject({ _tag: "InvalidRequest" })
      }
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("an unknown account, or one whose tokens are gone, is TokenNotFound (C16)", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(silent({ scopes: ["s1"], account: accountFor("nobody.tenant") }))).toMatchObject({
        _tag: "TokenNotFound"
      })
      yield* seed({ home: "my_uid.my_utid", expiresIn: -99 })
      const c = yield* cache
      yield* c.restore({
        entries: { AccessToken: [], RefreshToken: [], IdToken: [], Account: [], AppMetadata: [] },
        unknown: {}
      })
      expect(yield* Effect.flip(silent({ scopes: ["cache_miss"], account: accountFor("my_uid.my_utid") })))
        .toMatchObject({
          _tag: "TokenNotFound"
        })
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(Effect.provide(testLayer())))
})

describe("acquireTokenSilent with a refresh token", () => {
  it.effect("redeems the account's refresh token for new scopes; the rotated token replaces the old (L2)", () =>
    Effect.gen(function*() {
      const first = yield* signIn()
      const before = (yield* snapshot).entries.RefreshToken
      expect(before).toHaveLength(1)
      const oldKey = before[0]!
      yield* TestClock.adjust("10 seconds")
      const result = yield* silent({ scopes: ["Calendars.Read"], account: first.account! })
      expect(result.tokenSource).toBe("identity_provider")
      expect(result.scopes).toContain("Calendars.Read")
      expect(result.account).toEqual(first.account)
      const [, request] = yield* tokenRequests
      expect(request!.form).toEqual({
        client_id: CLIENT_ID,
        grant_type: "refresh_token",
        refresh_token: Redacted.value(before[0]!.secret),
        scope: "Calendars.Read offline_access openid profile",
        client_info: "1",
        client_secret: expect.any(String)
      })
      expect(request!.headers["x-client-current-telemetry"]).toBe("4|84,2|")
      expect(request!.headers["x-anchormailbox"]).toBe(`Oid:${ALICE.objectId}@${ALICE.tenantId}`)
      const after = yield* snapshot
      expect(after.entries.RefreshToken).toHaveLength(1)
      const rotated = after.entries.RefreshToken[0]!
      expect(rotated.target).toBe(oldKey.target)
      expect(Redacted.value(rotated.secret)).not.toBe(Redacted.value(before[0]!.secret))
      expect(rotated.last_modification_time).toBe(10)
      expect(after.entries.AccessToken).toHaveLength(2)
      expect(after.entries.Account).toHaveLength(1)
      // the next refresh uses the rotated token
      yield* silent({ scopes: ["Files.Read"], account: first.account! })
      expect((yield* tokenForms)[2]!.refresh_token).toBe(Redacted.value(rotated.secret))
    }).pipe(Effect.provide(testLayer())))

  it.effect("without rotation the refresh token stays, with a new modification time", () =>
    Effect.gen(function*() {
      const first = yield* signIn()
      const before = (yield* snapshot).entries.RefreshToken[0]!
      yield* TestClock.adjust("5 seconds")
      yield* silent({ scopes: ["Calendars.Read"], account: first.account! })
      const after = (yield* snapshot).entries.RefreshToken
      expect(after).toHaveLength(1)
      expect(Redacted.value(after[0]!.secret)).toBe(Redacted.value(before.secret))
      expect(after[0]!.last_modification_time).toBe(5)
    }).pipe(Effect.provide(testLayer({ authority: { rotateRefreshTokens: false } }))))

  it.effect("refresh reasons: expired (3), absent after expiry (2), forced (1), claims (1)", () =>
    Effect.gen(function*() {
      const first = yield* signIn()
      const account = first.account!
      yield* TestClock.adjust("56 minutes") // less than five minutes left
      expect((yield* silent({ scopes: ["User.Read"], account })).tokenSource).toBe("identity_provider")
      expect(yield* lastTelemetry).toBe("4|84,3|")
      yield* TestClock.adjust("2 hours") // gone from the cache
      expect((yield* silent({ scopes: ["User.Read"], account })).tokenSource).toBe("identity_provider")
      expect(yield* lastTelemetry).toBe("4|84,2|")
      expect((yield* silent({ scopes: ["User.Read"], account, forceRefresh: true })).tokenSource).toBe(
        "identity_provider"
      )
      expect(yield* lastTelemetry).toBe("4|84,1|")
      const claims = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1\"}}}"
      expect((yield* silent({ scopes: ["User.Read"], account, claims })).tokenSource).toBe("identity_provider")
      expect(yield* lastTelemetry).toBe("4|84,1|")
      expect((yield* tokenForms).at(-1)!.claims).toBe(claims)
      expect((yield* silent({ scopes: ["User.Read"], account })).tokenSource).toBe("cache")
    }).pipe(Effect.provide(testLayer())))

  it.effect("a refused refresh is a ServerError with its suberror classification; the token is kept (C16)", () =>
    Effect.gen(function*() {
      yield* seed({ home: "my_uid.my_utid", expiresIn: -99 })
      const account = accountFor("my_uid.my_utid")
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["xyz", "xyz"],
        ["basic_action", "basic_action"],
        ["client_mismatch", ""],
        ["token_expired", ""]
      ]
      for (const [suberror, classification] of cases) {
        yield* scripted({ error: "invalid_grant", suberror, error_description: "xyz" }, 400)
        const e = yield* Effect.flip(silent({ scopes: ["s1"], account }))
        expect(e).toMatchObject({ _tag: "ServerError", error: "invalid_grant", suberror, errorDescription: "xyz" })
        expect(e._tag === "ServerError" && e.classification).toBe(classification)
        yield* TestClock.adjust("61 seconds") // past the replay of identical 400s
      }
      yield* scripted({ error: "invalid_grant", error_description: "xyz" }, 400)
      const plain = yield* Effect.flip(silent({ scopes: ["s1"], account }))
      expect(plain._tag === "ServerError" && plain.classification).toBeUndefined()
      expect((yield* snapshot).entries.RefreshToken).toHaveLength(1)
      expect(JSON.stringify(plain)).not.toContain("an RT")
    }).pipe(Effect.provide(testLayer())))

  it.effect("C17: refresh_in — served, refreshed, or kept when the refresh fails", () =>
    Effect.gen(function*() {
      const account = accountFor("uid.utid")
      // 900 s left, refresh in 450: served from the cache, no request
      yield* seed({ home: "uid.utid", expiresIn: 900, refreshIn: 450 })
      const fresh = yield* silent({ scopes: ["s1"], account })
      expect(fresh.tokenSource).toBe("cache")
      expect(fresh.refreshOn?.getTime()).toBe(450_000)
      expect(yield* tokenRequestCount).toBe(0)
      // past refresh_on: refreshed with reason 4
      yield* seed({ home: "uid.utid", expiresIn: 3599, refreshIn: -1 })
      yield* scripted({ access_token: "new AT", refresh_in: 123, expires_in: 3599 })
      const refreshed = yield* silent({ scopes: ["s1"], account })
      expect(yield* lastTelemetry).toBe("4|84,4|")
      expect(refreshed.tokenSource).toBe("identity_provider")
      expect(Redacted.value(refreshed.accessToken)).toBe("new AT")
      expect(refreshed.refreshOn?.getTime()).toBe(123_000)
      expect(refreshed.account?.homeAccountId).toBe("uid.utid")
      // the answer had no client_info: the token is still the account's
      expect((yield* silent({ scopes: ["s1"], account })).tokenSource).toBe("cache")
    }).pipe(Effect.provide(testLayer())))

  it.effect("C17: an aging token is returned when the refresh is refused", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("100 seconds")
      yield* seed({ home: "uid.utid", expiresIn: 3599, refreshIn: 99 })
      yield* scripted({ error: "invalid_grant" }, 400)
      const kept = yield* silent({ scopes: ["s1"], account: accountFor("uid.utid") })
      expect(kept.tokenSource).toBe("cache")
      expect(Redacted.value(kept.accessToken)).toBe("cached AT")
      expect(kept.refreshOn?.getTime()).toBe(99_000)
      expect(yield* tokenRequestCount).toBe(1)
    }).pipe(Effect.provide(testLayer())))

  it.effect("C17: an expired token is not a fallback: the error is returned, or the new token", () =>
    Effect.gen(function*() {
      const account = accountFor("uid.utid")
      yield* seed({ home: "uid.utid", expiresIn: 60, refreshIn: -900 })
      yield* scripted({ error: "invalid_grant" }, 400)
      expect(yield* Effect.flip(silent({ scopes: ["s1"], account }))).toMatchObject({ _tag: "ServerError" })
      expect(yield* lastTelemetry).toBe("4|84,3|")
      yield* scripted({ access_token: "new AT", expires_in: 3599 })
      yield* TestClock.adjust("1 second")
      const ok = yield* silent({ scopes: ["s1", "s2"], account })
      expect(ok.tokenSource).toBe("identity_provider")
      expect(Redacted.value(ok.accessToken)).toBe("new AT")
    }).pipe(Effect.provide(testLayer())))

  it.effect("an aging token is returned when the authority cannot be reached", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("100 seconds")
      yield* seed({ home: "uid.utid", expiresIn: 3599, refreshIn: 50 })
      yield* (yield* authority).enqueue({ status: 200, fault: "disconnect" })
      const kept = yield* silent({ scopes: ["s1"], account: accountFor("uid.utid") })
      expect(kept.tokenSource).toBe("cache")
    }).pipe(Effect.provide(testLayer({ client: { retry: false } }))))

  it.effect("C18: the routing hint of a refresh is Oid:<uid>@<utid>", () =>
    Effect.gen(function*() {
      yield* seed({ home: "foo.bar", withAccessToken: false })
      yield* scripted({ access_token: "AT", expires_in: 3600 })
      yield* silent({ scopes: ["s1"], account: accountFor("foo.bar") })
      expect((yield* tokenRequests)[0]!.headers["x-anchormailbox"]).toBe("Oid:foo@bar")
    }).pipe(Effect.provide(testLayer())))

  it.effect("C19: tokens cached under an alias host are found and refreshed", () =>
    Effect.gen(function*() {
      yield* seed({ home: "uid.utid", environment: "sts.windows.net", rt: "alias RT" })
      const c = yield* client
      const [account] = yield* c.getAccounts()
      expect(account!.environment).toBe("sts.windows.net")
      expect((yield* c.acquireTokenSilent({ scopes: ["s1"], account: account! })).tokenSource).toBe("cache")
      yield* scripted({ access_token: "AT", expires_in: 3600 })
      const refreshed = yield* c.acquireTokenSilent({ scopes: ["s3"], account: account! })
      expect(refreshed.tokenSource).toBe("identity_provider")
      const [request] = yield* tokenRequests
      // the entries were written under the domain (as earlier versions wrote them) and are still
      // found; the refresh goes to the discovered endpoint, the domain's tenant id
      expect(request!.url).toBe(`https://${ENV}/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token`)
      expect(request!.form.refresh_token).toBe("alias RT")
    }).pipe(Effect.provide(testLayer())))

  it.effect("concurrent refreshes for one account and scopes share one request", () =>
    Effect.gen(function*() {
      const first = yield* signIn()
      yield* (yield* authority).configure({ latency: "1 second" })
      const fibers = yield* Effect.forEach(
        [1, 2, 3, 4],
        () => Effect.fork(silent({ scopes: ["Calendars.Read"], account: first.account! }))
      )
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.joinAll(fibers)
      expect(yield* tokenRequestCount).toBe(2)
      expect(new Set(results.map((r) => Redacted.value(r.accessToken))).size).toBe(1)
    }).pipe(Effect.provide(testLayer())))
})

describe("family refresh tokens (C21)", () => {
  const FAMILY_APP = "family-app-x"

  it.scoped("MSAL Python's FOCI order", () =>
    Effect.gen(function*() {
      const a = yield* authority
      const x = yield* makeClient({ clientId: FAMILY_APP })
      const flow = yield* x.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: "https://x.example/cb" })
      const signedIn = yield* x.acquireTokenByAuthCodeFlow({
        flow,
        response: new URL(yield* a.authorize(flow.authUri)).searchParams
      })
      const account = signedIn.account!
      const frt = (yield* snapshot).entries.RefreshToken[0]!
      expect(frt.family_id).toBe("1")
      expect((yield* snapshot).entries.AppMetadata[0]).toMatchObject({ client_id: FAMILY_APP, family_id: "1" })

      // an unknown app outside the family tries the family token, is refused, and keeps it
      const outsider = yield* makeClient({ clientId: "outsider" })
      const refused = yield* Effect.flip(outsider.acquireTokenSilent({ scopes: ["User.Read"], account }))
      expect(refused).toMatchObject({ _tag: "ServerError", suberror: "client_mismatch" })
      expect((yield* tokenForms).at(-1)).toMatchObject({
        client_id: "outsider",
        refresh_token: Redacted.value(frt.secret)
      })
      expect((yield* snapshot).entries.RefreshToken).toHaveLength(1)

      // an unknown app of the family redeems it and joins the family
      const member = yield* makeClient({ clientId: "family-app-y" })
      const joined = yield* member.acquireTokenSilent({ scopes: ["User.Read"], account })
      expect(joined.tokenSource).toBe("identity_provider")
      const apps = (yield* snapshot).entries.AppMetadata
      expect(apps.find((m) => m.client_id === "family-app-y")).toMatchObject({ family_id: "1" })
      // the family token was rotated in place
      const rts = (yield* snapshot).entries.RefreshToken
      expect(rts).toHaveLength(1)
      expect(rts[0]!.client_id).toBe(FAMILY_APP)

      // app X gets the refusal back
      yield* a.enqueue({ status: 400, body: { error: "invalid_grant", error_description: "revoked" } })
      expect(yield* Effect.flip(x.acquireTokenSilent({ scopes: ["Mail.Read"], account }))).toMatchObject({
        _tag: "ServerError",
        error: "invalid_grant"
      })
      expect((yield* tokenRequests).filter((r) => r.form.client_id === FAMILY_APP)).toHaveLength(2) // tried once, not twice

      // removeAccount on app X removes the account's tokens, the family token included
      yield* x.removeAccount(account)
      const left = yield* snapshot
      expect(left.entries.AccessToken).toHaveLength(0)
      expect(left.entries.RefreshToken).toHaveLength(0)
      expect(left.entries.IdToken).toHaveLength(0)
      expect(left.entries.Account).toHaveLength(0)
    }).pipe(Effect.provide(sharedLayer({ familyClients: [FAMILY_APP, "family-app-y"] }))))

  it.scoped("an app outside the family stops trying family tokens at client_mismatch", () =>
    Effect.gen(function*() {
      const a = yield* authority
      let account: import("effect-msal").AuthenticationResult.Account | undefined
      for (const clientId of [FAMILY_APP, "family-app-y"]) {
        const member = yield* makeClient({ clientId })
        const flow = yield* member.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: "https://x.example/cb" })
        const result = yield* member.acquireTokenByAuthCodeFlow({
          flow,
          response: new URL(yield* a.authorize(flow.authUri)).searchParams
        })
        account = result.account
      }
      expect((yield* snapshot).entries.RefreshToken.filter((rt) => rt.family_id === "1")).toHaveLength(2)
      const outsider = yield* makeClient({ clientId: "outsider" })
      expect(yield* Effect.flip(outsider.acquireTokenSilent({ scopes: ["User.Read"], account: account! })))
        .toMatchObject({ _tag: "ServerError", suberror: "client_mismatch" })
      expect((yield* tokenForms).filter((f) => f.client_id === "outsider")).toHaveLength(1)
    }).pipe(Effect.provide(sharedLayer({ familyClients: [FAMILY_APP, "family-app-y"] }))))

  it.scoped("a known app outside the family uses only its own refresh token", () =>
    Effect.gen(function*() {
      const a = yield* authority
      const orphan = yield* makeClient({ clientId: "orphan" })
      const x = yield* makeClient({ clientId: FAMILY_APP })
      const signInWith = (c: typeof x) =>
        Effect.gen(function*() {
          const flow = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: "https://x.example/cb" })
          return yield* c.acquireTokenByAuthCodeFlow({
            flow,
            response: new URL(yield* a.authorize(flow.authUri)).searchParams
          })
        })
      const mine = yield* signInWith(orphan)
      yield* TestClock.adjust("1 minute")
      yield* signInWith(x) // a newer family token of the same account
      const own = (yield* snapshot).entries.RefreshToken.find((rt) => rt.client_id === "orphan")!
      yield* orphan.acquireTokenSilent({ scopes: ["Mail.Read"], account: mine.account! })
      const refreshes = (yield* tokenForms).filter((f) => f.grant_type === "refresh_token")
      expect(refreshes).toEqual([
        expect.objectContaining({ client_id: "orphan", refresh_token: Redacted.value(own.secret) })
      ])
    }).pipe(Effect.provide(sharedLayer({ familyClients: [FAMILY_APP] }))))
})

describe("acquireTokenByRefreshToken", () => {
  it.effect("migrates a refresh token into the cache, with the account (C22, L3)", () =>
    Effect.gen(function*() {
      const { flow, response } = yield* startSignIn()
      yield* (yield* client).acquireTokenByAuthCodeFlow({ flow, response })
      const rt = Redacted.value((yield* snapshot).entries.RefreshToken[0]!.secret)
      const c = yield* cache
      yield* c.restore({
        entries: { AccessToken: [], RefreshToken: [], IdToken: [], Account: [], AppMetadata: [] },
        unknown: {}
      })
      const result = yield* (yield* client).acquireTokenByRefreshToken({ refreshToken: rt, scopes: ["User.Read"] })
      expect(result.tokenSource).toBe("identity_provider")
      expect(result.account?.homeAccountId).toBe(homeOf(ALICE))
      const [, request] = yield* tokenRequests
      expect(request!.headers["x-client-current-telemetry"]).toBe("4|85,1|")
      expect(request!.form).toMatchObject({
        grant_type: "refresh_token",
        refresh_token: rt,
        scope: "User.Read offline_access openid profile"
      })
      const s = yield* snapshot
      expect(s.entries.RefreshToken).toHaveLength(1)
      expect(Redacted.value(s.entries.RefreshToken[0]!.secret)).not.toBe(rt)
      expect(s.entries.Account).toHaveLength(1)
      expect(s.entries.Account[0]!.account_source).toBeUndefined()
      const [account] = yield* (yield* client).getAccounts()
      expect((yield* silent({ scopes: ["User.Read"], account: account! })).tokenSource).toBe("cache")
    }).pipe(Effect.provide(testLayer())))

  it.effect("a refused refresh token is a ServerError and removes nothing", () =>
    Effect.gen(function*() {
      yield* signIn()
      const before = yield* snapshot
      const e = yield* Effect.flip(
        (yield* client).acquireTokenByRefreshToken({
          refreshToken: Redacted.make("not a refresh token"),
          scopes: ["User.Read"]
        })
      )
      expect(e).toMatchObject({ _tag: "ServerError", error: "invalid_grant" })
      expect(JSON.stringify(e)).not.toContain("not a refresh token")
      expect((yield* snapshot).entries.RefreshToken).toEqual(before.entries.RefreshToken)
      expect(
        yield* Effect.flip((yield* client).acquireTokenByRefreshToken({ refreshToken: "", scopes: ["User.Read"] }))
      )
        .toMatchObject({ _tag: "InvalidRequest", field: "refreshToken" })
    }).pipe(Effect.provide(testLayer())))
})
