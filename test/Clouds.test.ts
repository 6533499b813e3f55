/**
 * Sovereign clouds and authority kinds sign in with the issuers the real service writes
 * (sources in docs/clouds.md): the test authority issues them, and the client accepts them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import { TokenCache } from "effect-msal"
import * as IdToken from "effect-msal/internal/idToken"
import { authority, client, GRAPH, testLayer } from "./support/harness.js"
import { ALICE, REDIRECT_URI, signIn, startSignIn } from "./support/users.js"

const TID = ALICE.tenantId

describe("sign-in in each cloud: the ID token's issuer is the cloud's, and it is accepted", () => {
  const CASES: ReadonlyArray<readonly [string, Partial<Parameters<typeof testLayer>[0]>, string]> = [
    [
      "Azure China, /organizations",
      { client: { authority: "https://login.chinacloudapi.cn/organizations" } },
      `https://login.partner.microsoftonline.cn/${TID}/v2.0`
    ],
    [
      "Azure China, by tenant id",
      { client: { authority: `https://login.chinacloudapi.cn/${TID}` } },
      `https://login.partner.microsoftonline.cn/${TID}/v2.0`
    ],
    ["Azure China, by domain", {
      client: { authority: "https://login.partner.microsoftonline.cn/contoso.onmicrosoft.com" }
    }, `https://login.partner.microsoftonline.cn/${TID}/v2.0`],
    [
      "US Government, /organizations",
      { client: { authority: "https://login.microsoftonline.us/organizations" } },
      `https://login.microsoftonline.us/${TID}/v2.0`
    ],
    [
      "public cloud alias login.windows.net",
      { client: { authority: "https://login.windows.net/common" } },
      `https://login.microsoftonline.com/${TID}/v2.0`
    ],
    [
      "CIAM on ciamlogin.com",
      { client: { authority: "https://contoso.ciamlogin.com" } },
      `https://${TID}.ciamlogin.com/${TID}/v2.0`
    ],
    [
      "CIAM custom URL domain (authority, instance discovery off)",
      {
        client: { authority: "https://login.contoso.com/contoso.onmicrosoft.com", instanceDiscovery: false },
        authority: { ciamCustomDomains: ["login.contoso.com"] }
      },
      `https://${TID}.ciamlogin.com/${TID}/v2.0`
    ],
    [
      "CIAM custom URL domain (oidcAuthority)",
      {
        client: { authority: undefined, oidcAuthority: `https://login.contoso.com/${TID}/v2.0` },
        authority: { ciamCustomDomains: ["login.contoso.com"] }
      },
      `https://${TID}.ciamlogin.com/${TID}/v2.0`
    ]
  ]
  for (const [name, layer, issuer] of CASES) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const result = yield* signIn()
        expect(result.tokenSource).toBe("identity_provider")
        expect(result.idTokenClaims?.iss).toBe(issuer)
        expect(result.account?.username).toBe(ALICE.username)
      }).pipe(Effect.provide(testLayer(layer))))
  }

  it.effect("a China authority refuses a public-cloud issuer", () =>
    Effect.gen(function*() {
      yield* (yield* authority).configure({ idTokenClaims: { iss: `https://login.microsoftonline.com/${TID}/v2.0` } })
      const { flow, response } = yield* startSignIn()
      const e = yield* Effect.flip((yield* client).acquireTokenByAuthCodeFlow({ flow, response }))
      expect(e).toMatchObject({ _tag: "IdTokenError", reason: "Issuer" })
    }).pipe(Effect.provide(testLayer({ client: { authority: "https://login.chinacloudapi.cn/organizations" } }))))
})

describe("the test authority's discovery documents name the real issuers", () => {
  const discover = (url: string) =>
    Effect.gen(function*() {
      const a = yield* authority
      const answer = yield* a.handle({ method: "GET", url, headers: {}, body: "" })
      return JSON.parse(answer.body) as Record<string, string>
    })
  const ROWS: ReadonlyArray<readonly [string, Record<string, string>]> = [
    ["https://login.chinacloudapi.cn/organizations/v2.0/.well-known/openid-configuration", {
      issuer: "https://login.partner.microsoftonline.cn/{tenantid}/v2.0",
      token_endpoint: "https://login.chinacloudapi.cn/organizations/oauth2/v2.0/token"
    }],
    ["https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration", {
      issuer: "https://login.microsoftonline.com/{tenantid}/v2.0",
      token_endpoint: "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    }],
    ["https://login.microsoftonline.com/consumers/v2.0/.well-known/openid-configuration", {
      issuer: "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
      token_endpoint: "https://login.microsoftonline.com/consumers/oauth2/v2.0/token"
    }],
    ["https://login.microsoftonline.us/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", {
      issuer: `https://login.microsoftonline.us/${TID}/v2.0`,
      token_endpoint: `https://login.microsoftonline.us/${TID}/oauth2/v2.0/token`
    }],
    ["https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi/v2.0/.well-known/openid-configuration", {
      issuer: `https://contoso.b2clogin.com/${TID}/v2.0/`,
      token_endpoint: `https://contoso.b2clogin.com/${TID}/B2C_1_susi/oauth2/v2.0/token`
    }],
    ["https://login.contoso.com/contoso.onmicrosoft.com/b2c_1_signin/v2.0/.well-known/openid-configuration", {
      issuer: `https://login.contoso.com/${TID}/v2.0/`,
      token_endpoint: `https://login.contoso.com/${TID}/b2c_1_signin/oauth2/v2.0/token`
    }],
    ["https://contoso.ciamlogin.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", {
      issuer: `https://${TID}.ciamlogin.com/${TID}/v2.0`,
      token_endpoint: `https://contoso.ciamlogin.com/${TID}/oauth2/v2.0/token`
    }],
    ["https://fs.contoso.com/adfs/.well-known/openid-configuration", {
      issuer: "https://fs.contoso.com/adfs",
      token_endpoint: "https://fs.contoso.com/adfs/oauth2/token/"
    }]
  ]
  for (const [url, expected] of ROWS) {
    it.effect(url, () =>
      Effect.gen(function*() {
        const doc = yield* discover(url)
        expect({ issuer: doc.issuer, token_endpoint: doc.token_endpoint }).toEqual(expected)
      }).pipe(Effect.provide(testLayer())))
  }
})

describe("the issuer check, row by row", () => {
  const ctx = (authorityUrl: string, extra?: Partial<IdToken.IssuerContext>): IdToken.IssuerContext => {
    const u = new URL(authorityUrl)
    return { host: u.hostname, origin: u.origin, tenant: u.pathname.split("/")[1] ?? "", ...extra }
  }
  const OTHER = "00000000-0000-0000-0000-000000000001"
  const ROWS: ReadonlyArray<readonly [string, IdToken.IssuerContext, string, string | undefined, boolean]> = [
    [
      "public v2",
      ctx("https://login.microsoftonline.com/common"),
      `https://login.microsoftonline.com/${TID}/v2.0`,
      TID,
      true
    ],
    ["public v1", ctx("https://login.microsoftonline.com/common"), `https://sts.windows.net/${TID}/`, TID, true],
    [
      "public, on an alias authority",
      ctx("https://login.microsoft.com/organizations"),
      `https://login.microsoftonline.com/${TID}/v2.0`,
      TID,
      true
    ],
    [
      "China v2 for login.chinacloudapi.cn",
      ctx("https://login.chinacloudapi.cn/organizations"),
      `https://login.partner.microsoftonline.cn/${TID}/v2.0`,
      TID,
      true
    ],
    [
      "China v1",
      ctx("https://login.chinacloudapi.cn/organizations"),
      `https://sts.chinacloudapi.cn/${TID}/`,
      TID,
      true
    ],
    [
      "US Government v2",
      ctx("https://login.microsoftonline.us/organizations"),
      `https://login.microsoftonline.us/${TID}/v2.0`,
      TID,
      true
    ],
    [
      "public issuer for a China authority",
      ctx("https://login.chinacloudapi.cn/organizations"),
      `https://login.microsoftonline.com/${TID}/v2.0`,
      TID,
      false
    ],
    [
      "China issuer for a public authority",
      ctx("https://login.microsoftonline.com/common"),
      `https://login.partner.microsoftonline.cn/${TID}/v2.0`,
      TID,
      false
    ],
    [
      "v2 host without /v2.0",
      ctx("https://login.microsoftonline.com/common"),
      `https://login.microsoftonline.com/${TID}`,
      TID,
      false
    ],
    [
      "issuer tenant is not tid",
      ctx("https://login.microsoftonline.com/common"),
      `https://login.microsoftonline.com/${OTHER}/v2.0`,
      TID,
      false
    ],
    [
      "authority by GUID, another tenant",
      ctx(`https://login.microsoftonline.com/${OTHER}`),
      `https://login.microsoftonline.com/${TID}/v2.0`,
      TID,
      false
    ],
    [
      "authority by domain, discovered GUID",
      ctx("https://login.microsoftonline.com/contoso.onmicrosoft.com", {
        issuer: `https://login.microsoftonline.com/${TID}/v2.0`,
        tenantId: TID
      }),
      `https://login.microsoftonline.com/${TID}/v2.0`,
      TID,
      true
    ],
    [
      "authority by domain, another tenant's token",
      ctx("https://login.microsoftonline.com/contoso.onmicrosoft.com", {
        issuer: `https://login.microsoftonline.com/${TID}/v2.0`,
        tenantId: TID
      }),
      `https://login.microsoftonline.com/${OTHER}/v2.0`,
      OTHER,
      false
    ],
    [
      "discovered {tenantid} template",
      ctx("https://login.contoso-cloud.example/common", {
        issuer: "https://login.contoso-cloud.example/{tenantid}/v2.0"
      }),
      `https://login.contoso-cloud.example/${TID}/v2.0`,
      TID,
      true
    ],
    [
      "discovered template without tid",
      ctx("https://login.contoso-cloud.example/common", {
        issuer: "https://login.contoso-cloud.example/{tenantid}/v2.0"
      }),
      `https://login.contoso-cloud.example/${TID}/v2.0`,
      undefined,
      false
    ],
    [
      "CIAM",
      ctx("https://contoso.ciamlogin.com/contoso.onmicrosoft.com", {
        issuer: `https://${TID}.ciamlogin.com/${TID}/v2.0`,
        tenantId: TID
      }),
      `https://${TID}.ciamlogin.com/${TID}/v2.0`,
      TID,
      true
    ],
    [
      "CIAM custom URL domain",
      ctx("https://login.contoso.com/contoso.onmicrosoft.com", {
        issuer: `https://${TID}.ciamlogin.com/${TID}/v2.0`,
        tenantId: TID
      }),
      `https://${TID}.ciamlogin.com/${TID}/v2.0`,
      TID,
      true
    ],
    [
      "CIAM, another tenant's ciamlogin issuer",
      ctx("https://login.contoso.com/contoso.onmicrosoft.com", {
        issuer: `https://${TID}.ciamlogin.com/${TID}/v2.0`,
        tenantId: TID
      }),
      `https://${OTHER}.ciamlogin.com/${OTHER}/v2.0`,
      OTHER,
      false
    ],
    [
      "CIAM without discovery issuer",
      ctx("https://contoso.ciamlogin.com/contoso.onmicrosoft.com"),
      `https://${TID}.ciamlogin.com/${TID}/v2.0`,
      TID,
      true
    ],
    [
      "B2C (trailing slash)",
      ctx("https://contoso.b2clogin.com/contoso.onmicrosoft.com", {
        issuer: `https://contoso.b2clogin.com/${TID}/v2.0/`
      }),
      `https://contoso.b2clogin.com/${TID}/v2.0/`,
      undefined,
      true
    ],
    [
      "B2C custom domain",
      ctx("https://login.contoso.com/contoso.onmicrosoft.com", { issuer: `https://login.contoso.com/${TID}/v2.0/` }),
      `https://login.contoso.com/${TID}/v2.0/`,
      undefined,
      true
    ],
    [
      "B2C, another host",
      ctx("https://login.contoso.com/contoso.onmicrosoft.com", { issuer: `https://login.contoso.com/${TID}/v2.0/` }),
      `https://evil.example/${TID}/v2.0/`,
      undefined,
      false
    ],
    [
      "AD FS",
      ctx("https://fs.contoso.com/adfs", { issuer: "https://fs.contoso.com/adfs" }),
      "https://fs.contoso.com/adfs",
      undefined,
      true
    ],
    [
      "generic OIDC",
      ctx("https://idp.example/realms/a", { issuer: "https://idp.example/realms/a" }),
      "https://idp.example/realms/a",
      undefined,
      true
    ],
    [
      "generic OIDC, another realm",
      ctx("https://idp.example/realms/a", { issuer: "https://idp.example/realms/a" }),
      "https://idp.example/realms/b",
      undefined,
      false
    ],
    [
      "not https",
      ctx("https://login.microsoftonline.com/common"),
      `http://login.microsoftonline.com/${TID}/v2.0`,
      TID,
      false
    ]
  ]
  for (const [name, context, iss, tid, ok] of ROWS) {
    it(`${name}: ${ok ? "accepted" : "refused"}`, () => {
      const claims = { iss, ...(tid === undefined ? {} : { tid }) }
      const result = IdToken.checkIssuer(claims, context)
      expect(Either.isRight(result)).toBe(ok)
      if (Either.isLeft(result)) expect(result.left).toMatchObject({ _tag: "IdTokenError", reason: "Issuer" })
    })
  }
})

describe("sign-in without API scopes (openid profile offline_access, as MSAL Python)", () => {
  it.effect("initiateAuthCodeFlow([]) signs the user in", () =>
    Effect.gen(function*() {
      const c = yield* client
      const flow = yield* c.initiateAuthCodeFlow({ scopes: [], redirectUri: REDIRECT_URI })
      expect(new URL(flow.authUri).searchParams.get("scope")).toBe("offline_access openid profile")
      expect(flow.scopes).toEqual(["offline_access", "openid", "profile"])
      const redirect = yield* (yield* authority).authorize(flow.authUri)
      const result = yield* c.acquireTokenByAuthCodeFlow({ flow, response: new URL(redirect).searchParams, scopes: [] })
      expect(result.account?.username).toBe(ALICE.username)
      const [request] = yield* (yield* authority).tokenRequests
      expect(request!.form.scope).toBe("offline_access openid profile")
      expect(result.idToken).toBeDefined()
    }).pipe(Effect.provide(testLayer())))

  it.effect("getAuthorizationRequestUrl([]) asks for response_type=code and the OIDC scopes; acquireTokenByAuthorizationCode([]) redeems", () =>
    Effect.gen(function*() {
      const c = yield* client
      const url = yield* c.getAuthorizationRequestUrl({ scopes: [], redirectUri: REDIRECT_URI })
      const q = new URL(url).searchParams
      expect(q.get("response_type")).toBe("code")
      expect(q.get("scope")).toBe("offline_access openid profile")
      const code = new URL(yield* (yield* authority).authorize(url)).searchParams.get("code")!
      const result = yield* c.acquireTokenByAuthorizationCode({ code, scopes: [], redirectUri: REDIRECT_URI })
      expect(result.account?.username).toBe(ALICE.username)
      const [request] = yield* (yield* authority).tokenRequests
      expect(request!.form).toMatchObject({ grant_type: "authorization_code", scope: "offline_access openid profile" })
    }).pipe(Effect.provide(testLayer())))
})

describe("a sign-in answered with an ID token only (Azure AD B2C asked for OIDC scopes alone)", () => {
  const B2C = "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi"

  it.effect("gives the account and ID token, an empty access token, and caches no access token", () =>
    Effect.gen(function*() {
      const c = yield* client
      const a = yield* authority
      const flow = yield* c.initiateAuthCodeFlow({ scopes: [], redirectUri: REDIRECT_URI })
      const result = yield* c.acquireTokenByAuthCodeFlow({
        flow,
        response: new URL(yield* a.authorize(flow.authUri)).searchParams,
        scopes: []
      })
      const [answer] = yield* a.tokenRequests
      expect(answer!.form).toMatchObject({ grant_type: "authorization_code", scope: "offline_access openid profile" })
      expect(Redacted.value(result.accessToken)).toBe("")
      expect(result.scopes).toEqual([])
      expect(result.idToken).toBeDefined()
      expect(result.account?.username).toBe(ALICE.username)
      expect(result.tenantId).toBe(TID)
      expect(result.expiresOn.getTime()).toBe((result.idTokenClaims!.exp as number) * 1000)
      const { entries } = yield* (yield* TokenCache.TokenCache).snapshot
      expect(entries.AccessToken).toHaveLength(0)
      expect(entries.IdToken).toHaveLength(1)
      expect(entries.RefreshToken).toHaveLength(1)
      // the refresh token then gets an access token for an API, silently
      const api = yield* c.acquireTokenSilent({
        scopes: ["https://contoso.onmicrosoft.com/api/read"],
        account: result.account!
      })
      expect(Redacted.value(api.accessToken).length).toBeGreaterThan(0)
      const requests = yield* a.tokenRequests
      expect(requests.map((r) => r.form.grant_type)).toEqual(["authorization_code", "refresh_token"])
    }).pipe(Effect.provide(testLayer({ client: { authority: B2C } }))))

  it.effect("a code redeemed for an API with an answer that has no access token is a NetworkError, nothing cached", () =>
    Effect.gen(function*() {
      const c = yield* client
      const a = yield* authority
      const flow = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: REDIRECT_URI })
      const response = new URL(yield* a.authorize(flow.authUri)).searchParams
      yield* a.enqueue({ status: 200, body: { token_type: "Bearer", id_token: "x.y.z", refresh_token: "rt" } })
      const error = yield* Effect.flip(c.acquireTokenByAuthCodeFlow({ flow, response }))
      expect(error).toMatchObject({ _tag: "NetworkError", reason: "InvalidResponse", status: 200 })
      expect(error.message).toContain("access_token")
      const { entries } = yield* (yield* TokenCache.TokenCache).snapshot
      expect([entries.AccessToken, entries.RefreshToken, entries.IdToken, entries.Account]).toEqual([[], [], [], []])
    }).pipe(
      Effect.provide(
        testLayer({ client: { authority: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi" } })
      )
    ))

  it.effect("an app-token answer without access_token is a NetworkError, and nothing is cached", () =>
    Effect.gen(function*() {
      const c = yield* client
      const a = yield* authority
      yield* a.enqueue({ status: 200, body: { token_type: "Bearer", id_token: "x.y.z", expires_in: 3600 } })
      const error = yield* Effect.flip(c.acquireTokenForClient({ scopes: [GRAPH] }))
      expect(error).toMatchObject({ _tag: "NetworkError", reason: "InvalidResponse", status: 200 })
      expect(error.message).toContain("access_token")
      expect((yield* (yield* TokenCache.TokenCache).snapshot).entries.AccessToken).toHaveLength(0)
    }).pipe(Effect.provide(testLayer())))
})
