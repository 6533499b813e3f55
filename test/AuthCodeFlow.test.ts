import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schema, TestClock } from "effect"
import { inspect } from "node:util"
import { AuthCodeFlow, type ConfidentialClient, TokenCache } from "effect-msal"
import { authority, AUTHORITY, CLIENT_ID, client, testLayer, tokenRequestCount } from "./support/harness.js"
import {
  ALICE,
  BOB,
  homeOf,
  makeClient,
  payloadOf,
  REDIRECT_URI,
  sha256b64url,
  sha256hex,
  sharedLayer,
  signIn,
  startSignIn,
  tokenForms,
  tokenRequests
} from "./support/users.js"

const cacheSizes = Effect.map(
  Effect.flatMap(TokenCache.TokenCache, (c) => c.snapshot),
  (s) => ({
    AccessToken: s.entries.AccessToken.length,
    RefreshToken: s.entries.RefreshToken.length,
    IdToken: s.entries.IdToken.length,
    Account: s.entries.Account.length,
    AppMetadata: s.entries.AppMetadata.length
  })
)
const EMPTY = { AccessToken: 0, RefreshToken: 0, IdToken: 0, Account: 0, AppMetadata: 0 }

/** Redeems a redirect and returns the failure. */
const redeemFailure = (
  flow: AuthCodeFlow.AuthCodeFlow | Record<string, unknown>,
  response: URLSearchParams | Record<string, unknown>,
  scopes?: ReadonlyArray<string>
) =>
  Effect.flatMap(client, (c) =>
    Effect.flip(
      c.acquireTokenByAuthCodeFlow({
        flow: flow as AuthCodeFlow.AuthCodeFlow,
        response,
        ...(scopes === undefined ? {} : { scopes })
      })
    ))

describe("initiateAuthCodeFlow", () => {
  it.effect("builds the authorize URL with PKCE S256, a hashed nonce and a random state (D-C24)", () =>
    Effect.gen(function*() {
      const c = yield* client
      const flow = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: REDIRECT_URI })
      const url = new URL(flow.authUri)
      // the authorization endpoint of the discovery document: the tenant id's (Entra answers a domain so)
      expect(`${url.origin}${url.pathname}`).toBe(
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/authorize"
      )
      const q = Object.fromEntries(url.searchParams)
      const verifier = Redacted.value(flow.codeVerifier)
      expect(q).toEqual({
        client_id: CLIENT_ID,
        response_type: "code",
        redirect_uri: REDIRECT_URI,
        scope: "User.Read offline_access openid profile",
        state: flow.state,
        code_challenge: sha256b64url(verifier),
        code_challenge_method: "S256",
        nonce: sha256hex(flow.nonce),
        client_info: "1"
      })
      expect([...url.searchParams.keys()].slice(0, 8)).toEqual([
        "client_id",
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce"
      ])
      expect(verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/)
      expect(flow.state.length).toBeGreaterThanOrEqual(16)
      expect(flow.scopes).toEqual(["User.Read", "offline_access", "openid", "profile"])
      expect(flow.redirectUri).toBe(REDIRECT_URI)
      expect(flow.createdAt.getTime()).toBe(0)
      const other = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"] })
      expect(other.state).not.toBe(flow.state)
      expect(Redacted.value(other.codeVerifier)).not.toBe(verifier)
      expect(other.nonce).not.toBe(flow.nonce)
      expect(new URL(other.authUri).searchParams.has("redirect_uri")).toBe(false)
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("sends the optional parameters and the routing hint; keeps a given state", () =>
    Effect.gen(function*() {
      const c = yield* client
      const claims = JSON.stringify({ id_token: { acrs: { essential: true, value: "c1" } } })
      const flow = yield* c.initiateAuthCodeFlow({
        scopes: ["User.Read", "Mail.Read"],
        redirectUri: REDIRECT_URI,
        state: "my-state",
        prompt: "select_account",
        loginHint: "alice@contoso.onmicrosoft.com",
        domainHint: "contoso.com",
        claims,
        maxAge: 3600,
        responseMode: "form_post"
      })
      const q = new URL(flow.authUri).searchParams
      expect(flow.state).toBe("my-state")
      expect(q.get("state")).toBe("my-state")
      expect(q.get("scope")).toBe("Mail.Read User.Read offline_access openid profile")
      expect(q.get("prompt")).toBe("select_account")
      expect(q.get("login_hint")).toBe("alice@contoso.onmicrosoft.com")
      expect(q.get("domain_hint")).toBe("contoso.com")
      expect(q.get("claims")).toBe(claims)
      expect(q.get("max_age")).toBe("3600")
      expect(q.get("response_mode")).toBe("form_post")
      expect(q.get("X-AnchorMailbox")).toBe("UPN:alice@contoso.onmicrosoft.com")
      expect(flow.maxAge).toBe(3600)
      expect(flow.claims).toBe(claims)
    }).pipe(Effect.provide(testLayer())))

  it.effect("merges client capabilities into claims", () =>
    Effect.gen(function*() {
      const c = yield* client
      const flow = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"] })
      expect(new URL(flow.authUri).searchParams.get("claims")).toBe(
        "{\"access_token\": {\"xms_cc\": {\"values\": [\"CP1\"]}}}"
      )
    }).pipe(Effect.provide(testLayer({ client: { clientCapabilities: ["CP1"] } }))))

  it.effect("rejects bad input before anything else", () =>
    Effect.gen(function*() {
      const c = yield* client
      const bad = [
        { scopes: ["openid"] },
        { scopes: "User.Read" as unknown as Array<string> },
        { scopes: ["User.Read"], redirectUri: "not a url" },
        { scopes: ["User.Read"], redirectUri: "javascript:alert(1)" },
        { scopes: ["User.Read"], state: "" },
        { scopes: ["User.Read"], maxAge: -1 },
        { scopes: ["User.Read"], maxAge: 1.5 },
        { scopes: ["User.Read"], responseMode: "fragment" as "query" },
        { scopes: ["User.Read"], claims: "not json" }
      ]
      for (const request of bad) {
        const e = yield* Effect.flip(c.initiateAuthCodeFlow(request))
        expect(e._tag).toBe("InvalidRequest")
      }
      expect((yield* Effect.flip(c.initiateAuthCodeFlow(null as never)))._tag).toBe("InvalidRequest")
    }).pipe(Effect.provide(testLayer())))

  it.effect("the flow round-trips through JSON, but prints and logs without its verifier", () =>
    Effect.gen(function*() {
      const c = yield* client
      const flow = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: REDIRECT_URI, maxAge: 60 })
      const verifier = Redacted.value(flow.codeVerifier)
      const json = Schema.encodeSync(AuthCodeFlow.Json)(flow)
      expect(JSON.parse(json).codeVerifier).toBe(verifier)
      expect(typeof JSON.parse(json).createdAt).toBe("number")
      const back = Schema.decodeUnknownSync(AuthCodeFlow.Json)(json)
      expect(Redacted.value(back.codeVerifier)).toBe(verifier)
      expect({ ...back, codeVerifier: null }).toEqual({ ...flow, codeVerifier: null })
      for (const text of [inspect(flow, { depth: 5 }), JSON.stringify(flow), String(flow.codeVerifier)]) {
        expect(text).not.toContain(verifier)
      }
      // a flow decoded in another worker completes the sign-in
      const redirect = yield* (yield* authority).authorize(back.authUri)
      const result = yield* c.acquireTokenByAuthCodeFlow({ flow: back, response: new URL(redirect).searchParams })
      expect(result.tokenSource).toBe("identity_provider")
    }).pipe(Effect.provide(testLayer())))
})

describe("acquireTokenByAuthCodeFlow", () => {
  it.effect("redeems the code with the verifier and redirect URI, and caches the five entries", () =>
    Effect.gen(function*() {
      const { flow, response } = yield* startSignIn()
      const c = yield* client
      const result = yield* c.acquireTokenByAuthCodeFlow({ flow, response })
      const [request] = yield* tokenRequests
      expect(request!.form).toEqual({
        client_id: CLIENT_ID,
        grant_type: "authorization_code",
        code: response.get("code"),
        redirect_uri: REDIRECT_URI,
        scope: "User.Read offline_access openid profile",
        code_verifier: Redacted.value(flow.codeVerifier),
        client_info: "1",
        client_secret: expect.any(String)
      })
      // C22 and C18: telemetry and the routing hint from client_info
      expect(request!.headers["x-client-current-telemetry"]).toBe("4|832,0|")
      expect(request!.headers["x-anchormailbox"]).toBe(`Oid:${ALICE.objectId}@${ALICE.tenantId}`)
      expect(result.tokenSource).toBe("identity_provider")
      expect(result.account).toEqual({
        homeAccountId: homeOf(ALICE),
        environment: "login.microsoftonline.com",
        // the ID token's tid, not the authority's path segment (msal-node and MSAL Python report the tid)
        tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        username: ALICE.username,
        localAccountId: ALICE.objectId
      })
      expect(result.idTokenClaims?.preferred_username).toBe(ALICE.username)
      expect(result.idTokenClaims?.nonce).toBe(sha256hex(flow.nonce))
      expect(payloadOf(Redacted.value(result.idToken!)).aud).toBe(CLIENT_ID)
      expect(result.scopes).toEqual(["User.Read", "openid", "profile"])
      expect(yield* cacheSizes).toEqual({ AccessToken: 1, RefreshToken: 1, IdToken: 1, Account: 1, AppMetadata: 1 })
      const snapshot = yield* (yield* TokenCache.TokenCache).snapshot
      expect(snapshot.entries.Account[0]).toMatchObject({
        home_account_id: homeOf(ALICE),
        // the discovered token endpoint's tenant, as MSAL Python writes it
        realm: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        authority_type: "MSSTS",
        account_source: "authorization_code"
      })
      // the same code cannot be redeemed twice
      const again = yield* Effect.flip(c.acquireTokenByAuthCodeFlow({ flow, response }))
      expect(again._tag).toBe("ServerError")
      expect(again._tag === "ServerError" && again.errorCodes).toEqual([54005])
    }).pipe(Effect.provide(testLayer())))

  it.effect("accepts the redirect as a record and redeems for a subset of the flow's scopes", () =>
    Effect.gen(function*() {
      const { flow, response } = yield* startSignIn({ scopes: ["User.Read", "Mail.Read"] })
      const result = yield* (yield* client).acquireTokenByAuthCodeFlow({
        flow,
        response: Object.fromEntries(response),
        scopes: ["Mail.Read"]
      })
      expect(result.scopes).toContain("Mail.Read")
      expect(result.scopes).not.toContain("User.Read")
      expect((yield* tokenForms)[0]!.scope).toBe("Mail.Read offline_access openid profile")
    }).pipe(Effect.provide(testLayer())))

  it.effect("sends the flow's claims challenge again, merged with the capabilities (D-C24)", () =>
    Effect.gen(function*() {
      const claims = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1\"}}}"
      yield* signIn({ claims })
      expect((yield* tokenForms)[0]!.claims).toBe(
        "{\"access_token\": {\"nbf\": {\"essential\": true, \"value\": \"1\"}, \"xms_cc\": {\"values\": [\"CP1\"]}}}"
      )
    }).pipe(Effect.provide(testLayer({ client: { clientCapabilities: ["CP1"] } }))))

  it.effect("fails closed in MSAL Python's order, sending nothing (L4)", () =>
    Effect.gen(function*() {
      const { flow, response } = yield* startSignIn({ scopes: ["User.Read"] })
      const code = response.get("code")!
      // state missing from the flow
      const missing = yield* redeemFailure({}, { code: "foo" })
      expect(missing).toMatchObject({ _tag: "AuthCodeFlowError", reason: "StateMissing" })
      // state mismatch, and a redirect without state
      expect(yield* redeemFailure({ ...flow, state: "1" }, { state: "2", code })).toMatchObject({
        reason: "StateMismatch"
      })
      expect(yield* redeemFailure(flow, { code })).toMatchObject({ reason: "StateMismatch" })
      // the state check comes before the scope check
      expect(yield* redeemFailure(flow, { state: "other", code }, ["Mail.Read"])).toMatchObject({
        reason: "StateMismatch"
      })
      // a scope the flow did not request
      expect(yield* redeemFailure(flow, { state: flow.state, code }, ["Mail.Read"])).toMatchObject({
        reason: "ScopeNotInFlow"
      })
      // the scope check comes before the error check
      expect(yield* redeemFailure(flow, { state: flow.state, error: "foo" }, ["bar"])).toMatchObject({
        reason: "ScopeNotInFlow"
      })
      // an error on the redirect: only error, error_description and error_uri are kept
      const denied = yield* redeemFailure(flow, {
        state: flow.state,
        error: "foo",
        error_uri: "bar",
        access_token: "fake",
        code
      })
      expect(denied).toMatchObject({
        _tag: "AuthCodeFlowError",
        reason: "AuthorizationError",
        error: "foo",
        errorUri: "bar"
      })
      expect(denied._tag === "AuthCodeFlowError" && denied.errorDescription).toBeUndefined()
      expect(JSON.stringify(denied)).not.toContain("fake")
      // neither code nor error
      expect(yield* redeemFailure(flow, { state: flow.state })).toMatchObject({ reason: "CodeMissing" })
      expect(yield* redeemFailure(flow, { state: flow.state, code: "" })).toMatchObject({ reason: "CodeMissing" })
      expect(yield* tokenRequestCount).toBe(0)
      expect(yield* cacheSizes).toEqual(EMPTY)
    }).pipe(Effect.provide(testLayer())))

  it.effect("an error redirect from the authority is an AuthorizationError with its description", () =>
    Effect.gen(function*() {
      const { flow, response } = yield* startSignIn({}, {
        error: "access_denied",
        errorDescription: "AADSTS65004: declined"
      })
      const e = yield* redeemFailure(flow, response)
      expect(e).toMatchObject({
        _tag: "AuthCodeFlowError",
        reason: "AuthorizationError",
        error: "access_denied",
        errorDescription: "AADSTS65004: declined"
      })
    }).pipe(Effect.provide(testLayer())))

  it.effect("rejects malformed input: not an object, a malformed flow, a repeated parameter, one that is not text", () =>
    Effect.gen(function*() {
      const { flow, response } = yield* startSignIn()
      const code = response.get("code")!
      expect(yield* redeemFailure("flow" as never, { state: "s", code })).toMatchObject({
        _tag: "InvalidRequest",
        field: "flow"
      })
      expect(yield* redeemFailure({ state: flow.state }, { state: flow.state, code })).toMatchObject({
        _tag: "InvalidRequest"
      })
      const twice = new URLSearchParams(response)
      twice.append("state", "evil")
      expect(yield* redeemFailure(flow, twice)).toMatchObject({ _tag: "InvalidRequest", field: "response" })
      expect(yield* redeemFailure(flow, { state: [flow.state, "x"], code })).toMatchObject({ _tag: "InvalidRequest" })
      expect(yield* redeemFailure(flow, "state=x" as never)).toMatchObject({ _tag: "InvalidRequest" })
      // a parameter that is not text is refused, not dropped: an `error` object must not let the code through
      for (const error of [{}, { code: "access_denied" }, 1, null, true]) {
        expect(yield* redeemFailure(flow, { state: flow.state, code, error })).toMatchObject({
          _tag: "InvalidRequest",
          field: "response",
          description: "the redirect's parameter error is not a string"
        })
      }
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("an expired flow fails with FlowExpired (default 10 minutes)", () =>
    Effect.gen(function*() {
      const { flow, response } = yield* startSignIn()
      yield* TestClock.adjust("10 minutes")
      yield* TestClock.adjust("1 second")
      expect(yield* redeemFailure(flow, response)).toMatchObject({ _tag: "AuthCodeFlowError", reason: "FlowExpired" })
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("the flow lifetime is configurable and a flow at its limit still works", () =>
    Effect.gen(function*() {
      const { flow, response } = yield* startSignIn()
      yield* TestClock.adjust("2 minutes")
      const result = yield* (yield* client).acquireTokenByAuthCodeFlow({ flow, response })
      expect(result.tokenSource).toBe("identity_provider")
      const second = yield* startSignIn()
      yield* TestClock.adjust("121 seconds")
      expect(yield* redeemFailure(second.flow, second.response)).toMatchObject({ reason: "FlowExpired" })
    }).pipe(Effect.provide(testLayer({ client: { authCodeFlowLifetime: "2 minutes" } }))))

  it.effect("a bad flow lifetime fails the layer", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(
        Effect.scoped(Layer.build(testLayer({ client: { authCodeFlowLifetime: "0 seconds" } })))
      )
      expect(e).toMatchObject({ _tag: "InvalidRequest", field: "authCodeFlowLifetime" })
    }))

  it.effect("the authority checks PKCE: a flow with another verifier is refused", () =>
    Effect.gen(function*() {
      const { flow, response } = yield* startSignIn()
      const forged = { ...flow, codeVerifier: Redacted.make("x".repeat(43)) }
      const e = yield* redeemFailure(forged, response)
      expect(e).toMatchObject({ _tag: "ServerError", error: "invalid_grant", errorCodes: [50148] })
      for (const text of [JSON.stringify(e), String(e), e.message]) {
        expect(text).not.toContain(response.get("code")!)
        expect(text).not.toContain("x".repeat(43))
      }
      expect(yield* cacheSizes).toEqual(EMPTY)
    }).pipe(Effect.provide(testLayer())))

  describe("ID token checks (before anything is cached)", () => {
    const failsWith = (
      idTokenClaims: Record<string, unknown>,
      expected: Record<string, unknown>,
      request?: Partial<ConfidentialClient.AuthCodeFlowRequest>,
      before?: Effect.Effect<void>
    ) =>
      Effect.gen(function*() {
        if (before !== undefined) yield* before
        yield* (yield* authority).configure({ idTokenClaims })
        const { flow, response } = yield* startSignIn(request)
        const e = yield* redeemFailure(flow, response)
        expect(e).toMatchObject(expected)
        expect(yield* cacheSizes).toEqual(EMPTY)
      }).pipe(Effect.provide(testLayer()))

    it.effect("nonce", () =>
      failsWith({ nonce: sha256hex("another nonce") }, { _tag: "AuthCodeFlowError", reason: "NonceMismatch" }))
    it.effect("no nonce", () => failsWith({ nonce: undefined }, { _tag: "AuthCodeFlowError", reason: "NonceMismatch" }))
    it.effect("audience", () => failsWith({ aud: "another-app" }, { _tag: "IdTokenError", reason: "Audience" }))
    it.effect("audience list without the client", () =>
      failsWith({ aud: ["a", "b"] }, { _tag: "IdTokenError", reason: "Audience" }))
    it.effect("issuer on another host", () =>
      failsWith({ iss: `https://evil.example/${ALICE.tenantId}/v2.0` }, { _tag: "IdTokenError", reason: "Issuer" }))
    it.effect("issuer of another tenant than tid", () =>
      failsWith({ iss: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0" }, {
        _tag: "IdTokenError",
        reason: "Issuer"
      }))
    it.effect("no issuer", () => failsWith({ iss: undefined }, { _tag: "IdTokenError", reason: "Issuer" }))
    it.effect("expired", () =>
      failsWith({ exp: 1000 }, { _tag: "IdTokenError", reason: "Expired" }, {}, TestClock.adjust("1 hour")))
    it.effect("not yet valid", () => failsWith({ nbf: 3600 }, { _tag: "IdTokenError", reason: "NotYetValid" }))
    it.effect("auth_time older than maxAge", () =>
      failsWith(
        { auth_time: 0 },
        { _tag: "AuthCodeFlowError", reason: "MaxAgeExceeded" },
        { maxAge: 60 },
        TestClock.adjust("10 minutes")
      ))
    it.effect("no auth_time with maxAge", () =>
      failsWith({ auth_time: undefined }, { _tag: "AuthCodeFlowError", reason: "MaxAgeExceeded" }, { maxAge: 60 }))
    it.effect("auth_time not a number", () =>
      failsWith({ auth_time: "yesterday" }, { _tag: "IdTokenError", reason: "AuthTime" }, { maxAge: 60 }))

    it.effect("accepts a v1 issuer on an alias host, and skew within 120 s", () =>
      Effect.gen(function*() {
        yield* TestClock.adjust("1 hour")
        yield* (yield* authority).configure({
          idTokenClaims: { iss: `https://sts.windows.net/${ALICE.tenantId}/`, exp: 3600 - 100, nbf: 3600 + 100 }
        })
        const result = yield* signIn({ maxAge: 0 })
        expect(result.tokenSource).toBe("identity_provider")
      }).pipe(Effect.provide(testLayer())))

    it.effect("a response without an ID token is refused", () =>
      Effect.gen(function*() {
        const { flow, response } = yield* startSignIn()
        yield* (yield* authority).enqueue({
          status: 200,
          body: { access_token: "at", token_type: "Bearer", expires_in: 3600 }
        })
        expect(yield* redeemFailure(flow, response)).toMatchObject({ _tag: "IdTokenError", reason: "Malformed" })
        expect(yield* cacheSizes).toEqual(EMPTY)
      }).pipe(Effect.provide(testLayer())))

    it.effect("an ID token that is not a JWT is refused", () =>
      Effect.gen(function*() {
        const { flow, response } = yield* startSignIn()
        yield* (yield* authority).enqueue({
          status: 200,
          body: { access_token: "at", id_token: "garbage", expires_in: 3600 }
        })
        const e = yield* redeemFailure(flow, response)
        expect(e).toMatchObject({ _tag: "IdTokenError", reason: "Malformed" })
        expect(JSON.stringify(e)).not.toContain("garbage")
      }).pipe(Effect.provide(testLayer())))
  })

  it.effect("a tenant given by GUID must be the issuer's: an ID token of another tenant is refused", () =>
    Effect.gen(function*() {
      const { flow, response } = yield* startSignIn()
      expect(yield* redeemFailure(flow, response)).toMatchObject({ _tag: "IdTokenError", reason: "Issuer" })
    }).pipe(
      Effect.provide(
        testLayer({
          client: { authority: `https://login.microsoftonline.com/${ALICE.tenantId}` },
          authority: {
            idTokenClaims: {
              iss: "https://login.microsoftonline.com/00000000-0000-0000-0000-0000000000aa/v2.0",
              tid: "00000000-0000-0000-0000-0000000000aa"
            }
          }
        })
      )
    ))

  it.effect("a guest's sign-in to another tenant: the ID token names that tenant, the account stays the home one", () =>
    Effect.gen(function*() {
      const result = yield* signIn()
      expect(result.tenantId).toBe("00000000-0000-0000-0000-0000000000aa")
      expect(result.idTokenClaims?.tid).toBe("00000000-0000-0000-0000-0000000000aa")
      expect(result.account?.homeAccountId).toBe(`${ALICE.objectId}.${ALICE.tenantId}`)
    }).pipe(
      Effect.provide(
        testLayer({ client: { authority: "https://login.microsoftonline.com/00000000-0000-0000-0000-0000000000aa" } })
      )
    ))

  it.effect("signs in with the authority's own tenant id", () =>
    Effect.gen(function*() {
      const result = yield* signIn()
      expect(result.account?.tenantId).toBe(ALICE.tenantId)
    }).pipe(
      Effect.provide(testLayer({ client: { authority: `https://login.microsoftonline.com/${ALICE.tenantId}` } }))
    ))

  it.effect("the login hint picks the user", () =>
    Effect.gen(function*() {
      const result = yield* signIn({ loginHint: BOB.username })
      expect(result.account?.username).toBe(BOB.username)
    }).pipe(Effect.provide(testLayer())))
})

describe("deprecated code and URL helpers", () => {
  it.effect("getAuthorizationRequestUrl has no PKCE and a raw nonce; acquireTokenByAuthorizationCode checks it", () =>
    Effect.gen(function*() {
      const c = yield* client
      const url = yield* c.getAuthorizationRequestUrl({
        scopes: ["User.Read"],
        redirectUri: REDIRECT_URI,
        state: "s1",
        nonce: "n1",
        loginHint: ALICE.username,
        prompt: "login",
        domainHint: "contoso.com"
      })
      const q = new URL(url).searchParams
      expect([...q.keys()]).toEqual([
        "client_id",
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "login_hint",
        "prompt",
        "domain_hint"
      ])
      expect(q.get("nonce")).toBe("n1")
      expect(q.has("code_challenge")).toBe(false)
      const redirect = new URL(yield* (yield* authority).authorize(url))
      expect(redirect.searchParams.get("state")).toBe("s1")
      expect(redirect.searchParams.has("client_info")).toBe(false)
      const code = redirect.searchParams.get("code")!
      const result = yield* c.acquireTokenByAuthorizationCode({
        code: Redacted.make(code),
        scopes: ["User.Read"],
        redirectUri: REDIRECT_URI,
        nonce: "n1"
      })
      expect(result.account?.username).toBe(ALICE.username)
      const [request] = yield* tokenRequests
      expect(request!.headers["x-client-current-telemetry"]).toBe("4|832,0|")
      expect(request!.form).toMatchObject({ grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI })
      expect(request!.form.code_verifier).toBeUndefined()
    }).pipe(Effect.provide(testLayer())))

  it.effect("acquireTokenByAuthorizationCode fails with IdTokenError Nonce on a nonce mismatch", () =>
    Effect.gen(function*() {
      const c = yield* client
      const url = yield* c.getAuthorizationRequestUrl({ scopes: ["User.Read"], redirectUri: REDIRECT_URI, nonce: "n1" })
      const code = new URL(yield* (yield* authority).authorize(url)).searchParams.get("code")!
      const e = yield* Effect.flip(
        c.acquireTokenByAuthorizationCode({ code, scopes: ["User.Read"], redirectUri: REDIRECT_URI, nonce: "n2" })
      )
      expect(e).toMatchObject({ _tag: "IdTokenError", reason: "Nonce" })
      expect(yield* cacheSizes).toEqual(EMPTY)
      const empty = yield* Effect.flip(c.acquireTokenByAuthorizationCode({ code: "", scopes: ["User.Read"] }))
      expect(empty).toMatchObject({ _tag: "InvalidRequest", field: "code" })
    }).pipe(Effect.provide(testLayer())))
})

describe("the authorize endpoint of the test authority", () => {
  it.effect("serves a sign-in page whose form redirects with a code, and refuses bad requests", () =>
    Effect.gen(function*() {
      const a = yield* authority
      const c = yield* client
      const flow = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: REDIRECT_URI })
      const page = yield* a.handle({ method: "GET", url: flow.authUri, headers: {}, body: "" })
      expect(page.status).toBe(200)
      expect(page.body).toContain(`value="${ALICE.username}" checked`)
      expect(page.body).toContain(`name="state" value="${flow.state}"`)
      const form = new URLSearchParams(Object.fromEntries(new URL(flow.authUri).searchParams))
      form.set("login", BOB.username)
      form.set("consent", "accept")
      const posted = yield* a.handle({
        method: "POST",
        url: `${AUTHORITY}/oauth2/v2.0/authorize`,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString()
      })
      expect(posted.status).toBe(302)
      const location = new URL(posted.headers.location!)
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI)
      const result = yield* c.acquireTokenByAuthCodeFlow({ flow, response: location.searchParams })
      expect(result.account?.username).toBe(BOB.username)
      const bad = yield* a.handle({
        method: "GET",
        url: `${AUTHORITY}/oauth2/v2.0/authorize?response_type=code`,
        headers: {},
        body: ""
      })
      expect(bad.status).toBe(400)
    }).pipe(Effect.provide(testLayer())))
})

describe("several clients", () => {
  it.scoped("a code issued to one client cannot be redeemed by another", () =>
    Effect.gen(function*() {
      const a = yield* authority
      const mine = yield* makeClient()
      const other = yield* makeClient({ clientId: "other-app" })
      const flow = yield* other.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: REDIRECT_URI })
      const redirect = new URL(yield* a.authorize(flow.authUri)).searchParams
      const e = yield* Effect.flip(mine.acquireTokenByAuthCodeFlow({ flow, response: redirect }))
      expect(e).toMatchObject({ _tag: "ServerError", error: "invalid_grant" })
      const ok = yield* other.acquireTokenByAuthCodeFlow({ flow, response: redirect })
      expect(ok.account?.username).toBe(ALICE.username)
    }).pipe(Effect.provide(sharedLayer())))
})
