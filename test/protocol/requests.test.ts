import { describe, expect, it } from "@effect/vitest"
import { Either, Option, Redacted } from "effect"
import { checkLifetime } from "../../src/internal/protocol/assertion.js"
import { accessTokenEntry, tenantOf, userTokenChanges } from "../../src/internal/protocol/entries.js"
import * as TokenRequest from "../../src/internal/protocol/tokenRequest.js"

const jwt = (claims: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${
    Buffer.from(JSON.stringify(claims)).toString("base64url")
  }.`

const endpoints = {
  environment: "login.microsoftonline.com",
  realm: "common",
  tokenEndpoint: "https://login.microsoftonline.com/common/oauth2/v2.0/token"
} as never

describe("request builders: the grant fields as plain data", () => {
  it("client credentials, on-behalf-of, refresh token, code and password", () => {
    expect(TokenRequest.clientCredentials(["https://graph.microsoft.com/.default"], undefined)).toEqual({
      grant_type: "client_credentials",
      scope: "https://graph.microsoft.com/.default",
      claims: undefined
    })
    const a = Redacted.make("user-jwt")
    expect(TokenRequest.onBehalfOf(a, ["User.Read", "openid"], "{}")).toEqual({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion: a,
      requested_token_use: "on_behalf_of",
      scope: "User.Read openid",
      claims: "{}"
    })
    expect(TokenRequest.refreshToken(a, ["a"], undefined)).toMatchObject({
      grant_type: "refresh_token",
      refresh_token: a
    })
    expect(
      TokenRequest.authorizationCode({
        code: a,
        redirectUri: "https://x/cb",
        scopes: ["a"],
        claims: undefined,
        codeVerifier: "v"
      })
    )
      .toMatchObject({ grant_type: "authorization_code", code: a, redirect_uri: "https://x/cb", code_verifier: "v" })
    expect(TokenRequest.password("u", a, ["a"], undefined)).toMatchObject({
      grant_type: "password",
      username: "u",
      password: a
    })
  })

  it("the form and the headers of a request", () => {
    const request: TokenRequest.TokenRequest = {
      endpoint: "https://x/token",
      clientId: "cid",
      grant: TokenRequest.clientCredentials(["s"], undefined),
      auth: { client_secret: Redacted.make("sec") },
      headers: { "x-client-sku": "sku" },
      correlationId: "corr",
      apiId: 730,
      reason: TokenRequest.RefreshReason.Absent
    }
    expect(TokenRequest.formOf(request)).toEqual([
      ["client_id", "cid"],
      ["grant_type", "client_credentials"],
      ["scope", "s"],
      ["client_info", "1"],
      ["client_secret", "sec"]
    ])
    expect(TokenRequest.headersOf(request)).toEqual({
      "x-client-sku": "sku",
      accept: "application/json",
      "client-request-id": "corr",
      "x-client-current-telemetry": "4|730,2|"
    })
  })
})

describe("entries: one access-token builder for app and user tokens", () => {
  it("counts every time from when the request was sent", () => {
    const at = accessTokenEntry(
      { clientId: "c", endpoints, scopes: ["b", "a"], homeAccountId: "" },
      { access_token: Redacted.make("x"), expires_in: 3600, refresh_in: 1800 },
      1_000_000
    )
    expect(at).toMatchObject({
      cached_at: 1000,
      expires_on: 4600,
      extended_expires_on: 4600,
      refresh_on: 2800,
      target: "a b",
      realm: "common"
    })
  })

  it("a user's tenantId is the ID token's tid, not the authority's segment", () => {
    expect(tenantOf({ tid: "72f988bf-86f1-41af-91ab-2d7cd011db47" }, "utid", "common")).toBe(
      "72f988bf-86f1-41af-91ab-2d7cd011db47"
    )
    expect(tenantOf(undefined, "utid", "common")).toBe("utid")
    expect(tenantOf(undefined, undefined, "adfs")).toBe("adfs")
    const written = userTokenChanges({
      clientId: "c",
      endpoints,
      scopes: ["openid"],
      token: {
        access_token: Redacted.make("x"),
        expires_in: 3600,
        client_info: Buffer.from(JSON.stringify({ uid: "u", utid: "home-tenant" })).toString("base64url")
      },
      idTokenClaims: { tid: "guid-tenant", oid: "u", preferred_username: "a@b" },
      requestedAtMillis: 0,
      appMetadata: Option.none()
    })
    expect(written.account?.tenantId).toBe("guid-tenant")
    expect(written.accessToken?.realm).toBe("common")
  })
})

describe("on-behalf-of assertions: their own lifetime", () => {
  const now = 1_700_000_000
  it("valid, expired, not yet valid, opaque", () => {
    expect(checkLifetime(jwt({ exp: now + 60, nbf: now - 10 }), now)).toEqual(
      Either.right({ _tag: "Valid", exp: now + 60, nbf: now - 10 })
    )
    expect(Either.getLeft(checkLifetime(jwt({ exp: now }), now))).toMatchObject({
      value: { _tag: "InvalidRequest", field: "userAssertion" }
    })
    expect(Either.getLeft(checkLifetime(jwt({ exp: now + 600, nbf: now + 600 }), now))).toMatchObject({
      value: { _tag: "InvalidRequest" }
    })
    // within the two minutes of clock skew
    expect(Either.isRight(checkLifetime(jwt({ exp: now + 600, nbf: now + 100 }), now))).toBe(true)
    expect(checkLifetime("opaque-token", now)).toEqual(Either.right({ _tag: "Unknown" }))
    expect(checkLifetime(jwt({ exp: "tomorrow" }), now)).toEqual(Either.right({ _tag: "Unknown" }))
  })
})
