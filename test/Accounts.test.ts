import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted, Schema } from "effect"
import type { CacheEntry } from "effect-msal"
import { AuthenticationResult, TokenCache } from "effect-msal"
import * as UserTokens from "../src/internal/protocol/entries.js"
import { authority, CLIENT_ID, client, GRAPH, testLayer } from "./support/harness.js"
import { ALICE, BOB, homeOf, makeClient, REDIRECT_URI, sharedLayer, signIn } from "./support/users.js"

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url")
const idToken = (claims: Record<string, unknown>) => `${b64url({ alg: "none" })}.${b64url(claims)}.`
const snapshot = Effect.flatMap(TokenCache.TokenCache, (c) => c.snapshot)

/** The unified-cache JSON of the entries written for one token response (MSAL Python's TokenCache.add). */
const serialized = (set: UserTokens.TokenSet) =>
  Effect.gen(function*() {
    const cache = yield* TokenCache.makeMemory()
    yield* cache.modify(UserTokens.userTokenChanges(set).changes)
    return JSON.parse(yield* Effect.provideService(TokenCache.serialize, TokenCache.TokenCache, cache)) as Record<
      string,
      Record<string, Record<string, unknown>>
    >
  })

describe("user token sets in the unified cache", () => {
  it.effect("T1: the five entries, their keys and fields", () =>
    Effect.gen(function*() {
      const json = yield* serialized({
        clientId: "my_client_id",
        endpoints: {
          tokenEndpoint: "https://login.example.com/contoso/v2/token",
          authorizationEndpoint: "https://login.example.com/contoso/v2/authorize",
          environment: "login.example.com",
          realm: "contoso",
          kind: "Entra",
          form: "Aad",
          aliases: []
        },
        scopes: ["s2", "s1", "s3"],
        token: {
          access_token: Redacted.make("an access token"),
          token_type: "some type",
          expires_in: 3600,
          refresh_token: Redacted.make("a refresh token"),
          id_token: Redacted.make(idToken({ oid: "object1234", preferred_username: "John Doe" })),
          client_info: b64url({ uid: "uid", utid: "utid" })
        },
        idTokenClaims: { oid: "object1234", preferred_username: "John Doe" },
        requestedAtMillis: 1_000_000,
        appMetadata: Option.none()
      })
      expect(json.AccessToken).toEqual({
        "uid.utid-login.example.com-accesstoken-my_client_id-contoso-s1 s2 s3": {
          credential_type: "AccessToken",
          secret: "an access token",
          home_account_id: "uid.utid",
          environment: "login.example.com",
          client_id: "my_client_id",
          realm: "contoso",
          target: "s1 s2 s3",
          token_type: "some type",
          cached_at: "1000",
          expires_on: "4600",
          extended_expires_on: "4600"
        }
      })
      expect(json.RefreshToken).toEqual({
        "uid.utid-login.example.com-refreshtoken-my_client_id--s1 s2 s3": {
          credential_type: "RefreshToken",
          secret: "a refresh token",
          home_account_id: "uid.utid",
          environment: "login.example.com",
          client_id: "my_client_id",
          target: "s1 s2 s3",
          last_modification_time: "1000"
        }
      })
      expect(json.Account).toEqual({
        "uid.utid-login.example.com-contoso": {
          home_account_id: "uid.utid",
          environment: "login.example.com",
          realm: "contoso",
          local_account_id: "object1234",
          username: "John Doe",
          authority_type: "MSSTS"
        }
      })
      expect(Object.keys(json.IdToken!)).toEqual(["uid.utid-login.example.com-idtoken-my_client_id-contoso-"])
      expect(json.IdToken!["uid.utid-login.example.com-idtoken-my_client_id-contoso-"]).toMatchObject({
        credential_type: "IdToken",
        home_account_id: "uid.utid",
        realm: "contoso",
        client_id: "my_client_id"
      })
      expect(json.AppMetadata).toEqual({
        "appmetadata-login.example.com-my_client_id": { client_id: "my_client_id", environment: "login.example.com" }
      })
    }))

  it.effect("T2: AD FS without client_info: the account is the ID token's sub", () =>
    Effect.gen(function*() {
      const claims = { sub: "subject", upn: "JaneDoe@example.com" }
      const json = yield* serialized({
        clientId: "my_client_id",
        endpoints: {
          tokenEndpoint: "https://fs.msidlab8.com/adfs/oauth2/token",
          authorizationEndpoint: "https://fs.msidlab8.com/adfs/oauth2/authorize",
          environment: "fs.msidlab8.com",
          realm: "adfs",
          kind: "Adfs",
          form: "Adfs",
          aliases: []
        },
        scopes: ["s1"],
        token: { access_token: Redacted.make("AT"), expires_in: 3600, id_token: Redacted.make(idToken(claims)) },
        idTokenClaims: claims,
        requestedAtMillis: 0,
        appMetadata: Option.none()
      })
      expect(json.Account).toEqual({
        "subject-fs.msidlab8.com-adfs": {
          home_account_id: "subject",
          environment: "fs.msidlab8.com",
          realm: "adfs",
          local_account_id: "subject",
          username: "JaneDoe@example.com",
          authority_type: "ADFS"
        }
      })
      expect(Object.keys(json.AccessToken!)).toEqual(["subject-fs.msidlab8.com-accesstoken-my_client_id-adfs-s1"])
      expect(Object.keys(json.IdToken!)).toEqual(["subject-fs.msidlab8.com-idtoken-my_client_id-adfs-"])
    }))

  it.effect("T5 and D-T9: refresh_in gives refresh_on; no expires_in means 600 s; foci gives family_id", () =>
    Effect.gen(function*() {
      const written = UserTokens.userTokenChanges({
        clientId: "c",
        endpoints: {
          tokenEndpoint: "https://login.microsoftonline.com/t/oauth2/v2.0/token",
          authorizationEndpoint: "",
          environment: "login.microsoftonline.com",
          realm: "t",
          kind: "Entra",
          form: "Aad",
          aliases: []
        },
        scopes: ["s"],
        token: {
          access_token: Redacted.make("AT"),
          refresh_in: 1800,
          refresh_token: Redacted.make("RT"),
          foci: "1",
          client_info: b64url({ uid: "u", utid: "t" })
        },
        idTokenClaims: undefined,
        requestedAtMillis: 1_000_000,
        appMetadata: Option.some({ client_id: "c", environment: "login.microsoftonline.com", extra: "kept" })
      })
      expect(written.accessToken?.refresh_on).toBe(2800)
      expect(written.accessToken?.expires_on).toBe(1600)
      expect(written.refreshToken?.family_id).toBe("1")
      expect(written.idToken).toBeUndefined()
      const app = written.changes.find((c) => c._tag === "Put" && c.section === "AppMetadata")
      expect(app).toMatchObject({ entry: { client_id: "c", family_id: "1", extra: "kept" } })
    }))

  it("client_info: base64url or padded base64; anything else is ignored", () => {
    expect(UserTokens.parseClientInfo(b64url({ uid: "a", utid: "b" }))).toEqual({ uid: "a", utid: "b" })
    expect(UserTokens.parseClientInfo(Buffer.from(JSON.stringify({ uid: "a", utid: "b" })).toString("base64")))
      .toEqual({ uid: "a", utid: "b" })
    for (const bad of [undefined, "", "!!!", b64url({ uid: "a" }), b64url("x"), b64url({ uid: 1, utid: "b" })]) {
      expect(UserTokens.parseClientInfo(bad)).toBeUndefined()
    }
  })
})

describe("getAccounts", () => {
  it.effect("lists one account per home account, filtered by user name case-insensitively", () =>
    Effect.gen(function*() {
      const c = yield* client
      expect(yield* c.getAccounts()).toEqual([])
      const alice = yield* signIn()
      const bob = yield* signIn({ loginHint: BOB.username })
      const all = yield* c.getAccounts()
      expect(all).toHaveLength(2)
      expect(all).toContainEqual(alice.account)
      expect(all).toContainEqual(bob.account)
      expect(yield* c.getAccounts({ username: ALICE.username.toUpperCase() })).toEqual([alice.account])
      expect(yield* c.getAccounts({ username: "nobody@contoso.onmicrosoft.com" })).toEqual([])
      // accounts can be kept in a session and given back
      const decoded = Schema.decodeUnknownSync(AuthenticationResult.Account)(
        JSON.parse(JSON.stringify(Schema.encodeSync(AuthenticationResult.Account)(alice.account!)))
      )
      expect((yield* c.acquireTokenSilent({ scopes: ["User.Read"], account: decoded })).tokenSource).toBe("cache")
      expect(yield* Effect.flip(c.getAccounts({ username: 42 as never }))).toMatchObject({ _tag: "InvalidRequest" })
    }).pipe(Effect.provide(testLayer())))

  it.scoped("C20: one account for a user signed in to two tenants (home, and a guest in another)", () =>
    Effect.gen(function*() {
      const a = yield* authority
      const contoso = yield* makeClient()
      // a second organization the user is a guest in: its tenant id is what discovery answers
      const fabrikam = yield* makeClient({ authority: "https://login.microsoftonline.com/fabrikam.onmicrosoft.com" })
      const results = []
      for (const c of [contoso, fabrikam]) {
        const flow = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: REDIRECT_URI })
        results.push(
          yield* c.acquireTokenByAuthCodeFlow({
            flow,
            response: new URL(yield* a.authorize(flow.authUri)).searchParams
          })
        )
      }
      const [home, guest] = results
      // Entra names the tenant signed in to in tid (and iss), the home tenant in client_info
      expect(home!.tenantId).toBe(ALICE.tenantId)
      expect(guest!.tenantId).not.toBe(ALICE.tenantId)
      expect(guest!.tenantId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      expect(guest!.idTokenClaims?.iss).toBe(`https://login.microsoftonline.com/${guest!.tenantId}/v2.0`)
      expect(guest!.account?.homeAccountId).toBe(homeOf(ALICE))
      expect(guest!.account?.localAccountId).not.toBe(ALICE.objectId)
      const entries = (yield* snapshot).entries.Account
      expect(entries.map((e) => e.realm).sort()).toEqual([ALICE.tenantId, guest!.tenantId].sort())
      const accounts = yield* contoso.getAccounts()
      expect(accounts).toHaveLength(1)
      expect(accounts[0]).toMatchObject({
        homeAccountId: homeOf(ALICE),
        environment: "login.microsoftonline.com",
        username: ALICE.username
      })
      // each tenant's tokens stay its own: silent for the guest tenant is served from its realm
      const silent = yield* fabrikam.acquireTokenSilent({ scopes: ["User.Read"], account: guest!.account! })
      expect(silent.tokenSource).toBe("cache")
      expect(silent.tenantId).toBe(guest!.tenantId)
    }).pipe(Effect.provide(sharedLayer())))

  it.effect("accounts of another cloud or of an unknown authority type are not listed", () =>
    Effect.gen(function*() {
      const cache = yield* TokenCache.TokenCache
      const account = (environment: string, authority_type: string): CacheEntry.Account => ({
        home_account_id: `${environment}.x`,
        environment,
        realm: "r",
        username: "u",
        local_account_id: "l",
        authority_type
      })
      yield* cache.modify([
        { _tag: "Put", section: "Account", entry: account("login.chinacloudapi.cn", "MSSTS") },
        { _tag: "Put", section: "Account", entry: account("login.windows.net", "MSA") },
        { _tag: "Put", section: "Account", entry: account("login.windows.net", "ADFS") }
      ])
      const accounts = yield* (yield* client).getAccounts()
      expect(accounts.map((a) => a.homeAccountId)).toEqual(["login.windows.net.x"])
    }).pipe(Effect.provide(testLayer())))

  it.effect("without client_info the account is the ID token's sub", () =>
    Effect.gen(function*() {
      const result = yield* signIn()
      expect(result.account?.homeAccountId).toBe(result.idTokenClaims?.sub)
      expect(result.account?.localAccountId).toBe(ALICE.objectId)
      expect((yield* (yield* authority).tokenRequests)[0]!.headers["x-anchormailbox"]).toBeUndefined()
      const [account] = yield* (yield* client).getAccounts()
      expect(account).toEqual(result.account)
      expect((yield* (yield* client).acquireTokenSilent({ scopes: ["Mail.Read"], account: account! })).tokenSource)
        .toBe("identity_provider")
    }).pipe(Effect.provide(testLayer({ authority: { clientInfo: false } }))))
})

describe("removeAccount", () => {
  it.scoped("removes the account's tokens and entries, and nothing else", () =>
    Effect.gen(function*() {
      const a = yield* authority
      const mine = yield* makeClient()
      const other = yield* makeClient({ clientId: "other-app" })
      const signInWith = (c: typeof mine, user: string) =>
        Effect.gen(function*() {
          const flow = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: REDIRECT_URI })
          return yield* c.acquireTokenByAuthCodeFlow({
            flow,
            response: new URL(yield* a.authorize(flow.authUri, { user })).searchParams
          })
        })
      const alice = yield* signInWith(mine, ALICE.username)
      yield* signInWith(mine, BOB.username)
      yield* signInWith(other, ALICE.username)
      yield* mine.acquireTokenForClient({ scopes: [GRAPH] })
      const assertion = yield* a.userAssertion({ audience: CLIENT_ID })
      yield* mine.acquireTokenOnBehalfOf({
        userAssertion: assertion,
        scopes: ["https://graph.microsoft.com/User.Read"]
      })
      const before = yield* snapshot
      expect(before.entries.AccessToken).toHaveLength(5)
      expect(before.entries.RefreshToken).toHaveLength(4)

      yield* mine.removeAccount(alice.account!)
      const after = yield* snapshot
      const homes = (entries: ReadonlyArray<{ readonly home_account_id?: string | null | undefined }>) =>
        entries.map((e) => e.home_account_id ?? "").sort()
      // every access token of Alice's, whatever the client, the on-behalf-of one included
      expect(homes(after.entries.AccessToken)).toEqual(["", homeOf(BOB)].sort())
      // this client's refresh tokens only: the other app keeps Alice's
      expect(after.entries.RefreshToken.map((rt) => [rt.client_id, rt.home_account_id]).sort()).toEqual(
        [[CLIENT_ID, homeOf(BOB)], ["other-app", homeOf(ALICE)]].sort()
      )
      expect(homes(after.entries.IdToken)).toEqual([homeOf(BOB)])
      expect(homes(after.entries.Account)).toEqual([homeOf(BOB)])
      expect(yield* mine.getAccounts()).toHaveLength(1)
      expect(yield* Effect.flip(mine.acquireTokenSilent({ scopes: ["User.Read"], account: alice.account! })))
        .toMatchObject({ _tag: "TokenNotFound" })
      expect(yield* Effect.flip(mine.removeAccount({} as never))).toMatchObject({ _tag: "InvalidRequest" })
    }).pipe(Effect.provide(sharedLayer())))
})
