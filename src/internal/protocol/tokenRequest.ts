import * as Redacted from "effect/Redacted"
import type { ClientAuthFields } from "../../CredentialSigner.js"
import { SKU, VERSION } from "../version.js"

/**
 * Telemetry API ids sent in `x-client-current-telemetry`, as MSAL Python numbers its public
 * methods (msal/telemetry.py, `ACQUIRE_TOKEN_FOR_CLIENT_ID = "730"` and its neighbours).
 * @internal
 */
export const ApiId = {
  acquireTokenForClient: 730,
  acquireTokenOnBehalfOf: 523,
  acquireTokenByAuthorizationCode: 832,
  acquireTokenSilent: 84,
  acquireTokenByRefreshToken: 85,
  acquireTokenByUsernamePassword: 301
} as const

/**
 * Why a request goes to the network, the second field of `x-client-current-telemetry`
 * (MSAL Python msal/telemetry.py: `FORCE_REFRESH = 1`, `AT_ABSENT = 2`, `AT_EXPIRED = 3`,
 * `AT_AGING = 4`; `0` for requests that are not silent).
 * @internal
 */
export const RefreshReason = {
  NotSilent: 0,
  Forced: 1,
  Absent: 2,
  Expired: 3,
  Aging: 4
} as const

/** @internal */
export type RefreshReason = typeof RefreshReason[keyof typeof RefreshReason]

/** The headers every token request of one client carries. @internal */
export const libraryHeaders = (options: {
  readonly appName?: string | undefined
  readonly appVersion?: string | undefined
}): Readonly<Record<string, string>> => ({
  "x-client-sku": SKU,
  "x-client-ver": VERSION,
  "x-client-os": process.platform,
  // MSAL Python sends this capability so that Entra may answer 429 with Retry-After
  // (msal/oauth2cli/oauth2.py, "x-ms-lib-capability")
  "x-ms-lib-capability": "retry-after, h429",
  ...(options.appName === undefined ? {} : { "x-app-name": options.appName }),
  ...(options.appVersion === undefined ? {} : { "x-app-ver": options.appVersion })
})

/** Grant fields (`grant_type`, `scope`, `claims`, …); undefined values are left out. @internal */
export type GrantFields = Readonly<Record<string, string | Redacted.Redacted<string> | undefined>>

/** One token request as plain data, before it is turned into HTTP. @internal */
export interface TokenRequest {
  readonly endpoint: string
  readonly clientId: string
  readonly grant: GrantFields
  readonly auth: ClientAuthFields
  readonly headers: Readonly<Record<string, string>>
  readonly correlationId: string
  readonly apiId: number
  readonly reason: RefreshReason
  /**
   * Whether the request may be sent again after the authority may have seen it (timeouts,
   * 5xx). False for authorization codes and refresh tokens, which are redeemed once.
   */
  readonly idempotent?: boolean | undefined
}

/**
 * The form of a token request: `client_id`, the grant fields, `client_info=1`, then client
 * authentication. Secrets stay `Redacted` until here.
 * @internal
 */
export const formOf = (request: TokenRequest): ReadonlyArray<readonly [string, string]> => {
  const body: Array<readonly [string, string]> = [["client_id", request.clientId]]
  for (const [k, v] of Object.entries(request.grant)) {
    if (v !== undefined) body.push([k, Redacted.isRedacted(v) ? Redacted.value(v) : v])
  }
  body.push(["client_info", "1"])
  for (const [k, v] of Object.entries(request.auth)) body.push([k, Redacted.value(v)])
  return body
}

/**
 * Every header of a token request: the client's, then `accept`, `client-request-id` and the
 * telemetry header `4|{apiId},{reason}|` (schema 4, as MSAL Python's
 * `_TelemetryContext.generate_headers`), plus the previous failure when there was one.
 * @internal
 */
export const headersOf = (
  request: TokenRequest,
  lastFailure?: string | undefined
): Readonly<Record<string, string>> => ({
  ...request.headers,
  accept: "application/json",
  "client-request-id": request.correlationId,
  "x-client-current-telemetry": `4|${request.apiId},${request.reason}|`,
  ...(lastFailure === undefined ? {} : { "x-client-last-telemetry": lastFailure })
})

// ---- request builders, one per grant (RFC 6749 and Entra's extensions) ----

/** Client credentials (RFC 6749 §4.4). @internal */
export const clientCredentials = (scopes: ReadonlyArray<string>, claims: string | undefined): GrantFields => ({
  grant_type: "client_credentials",
  scope: scopes.join(" "),
  claims
})

/** The JWT-bearer grant type (RFC 7523 §2.1). */
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

/**
 * On-behalf-of: the user's token as a JWT bearer assertion with `requested_token_use`
 * (Microsoft identity platform, "OAuth 2.0 On-Behalf-Of flow", first-case request).
 * @internal
 */
export const onBehalfOf = (
  assertion: Redacted.Redacted<string>,
  scopes: ReadonlyArray<string>,
  claims: string | undefined
): GrantFields => ({
  grant_type: JWT_BEARER,
  assertion,
  requested_token_use: "on_behalf_of",
  scope: scopes.join(" "),
  claims
})

/** Refresh token redemption (RFC 6749 §6). @internal */
export const refreshToken = (
  token: Redacted.Redacted<string>,
  scopes: ReadonlyArray<string>,
  claims: string | undefined
): GrantFields => ({
  grant_type: "refresh_token",
  refresh_token: token,
  scope: scopes.join(" "),
  claims
})

/** Authorization code redemption, with the PKCE verifier when there is one (RFC 6749 §4.1.3, RFC 7636 §4.5). @internal */
export const authorizationCode = (fields: {
  readonly code: Redacted.Redacted<string>
  readonly redirectUri: string | undefined
  readonly scopes: ReadonlyArray<string>
  readonly claims: string | undefined
  readonly codeVerifier?: string | Redacted.Redacted<string> | undefined
}): GrantFields => ({
  grant_type: "authorization_code",
  code: fields.code,
  redirect_uri: fields.redirectUri,
  scope: fields.scopes.join(" "),
  code_verifier: fields.codeVerifier,
  claims: fields.claims
})

/** Resource owner password credentials (RFC 6749 §4.3). @internal */
export const password = (
  username: string,
  secret: Redacted.Redacted<string>,
  scopes: ReadonlyArray<string>,
  claims: string | undefined
): GrantFields => ({
  grant_type: "password",
  username,
  password: secret,
  scope: scopes.join(" "),
  claims
})
