/**
 * The requests of the `ConfidentialClient` methods: plain objects, with MSAL Python's parameter
 * names in camelCase. Secret-bearing fields accept a string or a `Redacted<string>`.
 *
 * @since 0.1.0
 */
import type * as Redacted from "effect/Redacted"
import type { AuthCodeFlow } from "./AuthCodeFlow.js"
import type { Account } from "./AuthenticationResult.js"

/**
 * A client-credentials request (MSAL Python's `acquire_token_for_client`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientCredentialsRequest {
  /** Resource scopes, usually one `<resource>/.default`. No reserved scopes are added. */
  readonly scopes: ReadonlyArray<string>
  /** A claims challenge (JSON); it bypasses the cache and the new token replaces the old. */
  readonly claims?: string | undefined
  /** Acquire the token in this tenant instead of the authority's (multi-tenant apps). */
  readonly tenant?: string | undefined
}

/**
 * An on-behalf-of request (MSAL Python's `acquire_token_on_behalf_of`).
 *
 * @since 0.1.0
 * @category models
 */
export interface OnBehalfOfRequest {
  /** The access token the caller presented to this API (a JWT whose audience is this app). */
  readonly userAssertion: string | Redacted.Redacted<string>
  /** Downstream scopes; `openid`, `profile` and `offline_access` are added (see `excludeScopes`). */
  readonly scopes: ReadonlyArray<string>
  /** A claims challenge (JSON); it bypasses the cache. */
  readonly claims?: string | undefined
}

/**
 * The start of a sign-in (MSAL Python's `initiate_auth_code_flow`).
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthCodeFlowRequest {
  readonly scopes: ReadonlyArray<string>
  /** Where the authority sends the browser back; must be registered for the app. */
  readonly redirectUri?: string | undefined
  /** Defaults to a cryptographically random value. */
  readonly state?: string | undefined
  /** `login`, `none`, `consent`, `select_account`, `create`. */
  readonly prompt?: string | undefined
  readonly loginHint?: string | undefined
  readonly domainHint?: string | undefined
  /** A claims challenge (JSON). */
  readonly claims?: string | undefined
  /** Seconds since the user last authenticated beyond which the authority must ask again. */
  readonly maxAge?: number | undefined
  /** How the authority returns the code: in the query (default) or as a form POST. */
  readonly responseMode?: "query" | "form_post" | undefined
}

/**
 * The redirect of a sign-in (MSAL Python's `acquire_token_by_auth_code_flow`).
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthCodeFlowRedirect {
  /** The flow `initiateAuthCodeFlow` returned. */
  readonly flow: AuthCodeFlow
  /** The parameters the redirect carried (its query, or its form body for `form_post`). */
  readonly response: URLSearchParams | Readonly<Record<string, unknown>>
  /** A subset of the flow's scopes to redeem the code for (one resource). */
  readonly scopes?: ReadonlyArray<string> | undefined
}

/**
 * A code redemption without a flow (MSAL Python's `acquire_token_by_authorization_code`).
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthorizationCodeRequest {
  readonly code: string | Redacted.Redacted<string>
  readonly scopes: ReadonlyArray<string>
  readonly redirectUri?: string | undefined
  /** The nonce sent in the authorize URL; the ID token must carry it. */
  readonly nonce?: string | undefined
  readonly claims?: string | undefined
}

/**
 * An authorize URL without PKCE (MSAL Python's `get_authorization_request_url`).
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthorizationUrlRequest {
  readonly scopes: ReadonlyArray<string>
  readonly redirectUri?: string | undefined
  readonly state?: string | undefined
  readonly nonce?: string | undefined
  readonly prompt?: string | undefined
  readonly loginHint?: string | undefined
  readonly domainHint?: string | undefined
  readonly claims?: string | undefined
}

/**
 * A refresh-token redemption (MSAL Python's `acquire_token_by_refresh_token`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RefreshTokenRequest {
  readonly refreshToken: string | Redacted.Redacted<string>
  readonly scopes: ReadonlyArray<string>
}

/**
 * A password sign-in (MSAL Python's `acquire_token_by_username_password`).
 *
 * @since 0.1.0
 * @category models
 */
export interface UsernamePasswordRequest {
  readonly username: string
  readonly password: string | Redacted.Redacted<string>
  readonly scopes: ReadonlyArray<string>
  readonly claims?: string | undefined
}

/**
 * A silent acquisition for a signed-in account (MSAL Python's `acquire_token_silent`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SilentRequest {
  readonly scopes: ReadonlyArray<string>
  /** An account from `getAccounts` or from a result's `account`. */
  readonly account: Account
  /** Skip the cached access token and redeem a refresh token. */
  readonly forceRefresh?: boolean | undefined
  /** A claims challenge (JSON); it skips the cached access token. */
  readonly claims?: string | undefined
}

/**
 * A filter for `getAccounts`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AccountsRequest {
  /** Only accounts with this user name (case-insensitive). */
  readonly username?: string | undefined
}

/**
 * The start of a long-running on-behalf-of session (MSAL.NET's
 * `InitiateLongRunningProcessInWebApi`; neither msal-node nor MSAL Python has one): the user's
 * token, which must be a JWT valid now, is exchanged once; the session then goes on with the
 * refresh token of that exchange, by its session key, after the user's token has expired.
 *
 * @since 0.2.0
 * @category models
 */
export interface LongRunningStartRequest {
  /** The access token the caller presented to this API: a JWT whose `exp` has not passed. */
  readonly userAssertion: string | Redacted.Redacted<string>
  /** Downstream scopes; `openid`, `profile` and `offline_access` are added. */
  readonly scopes: ReadonlyArray<string>
  /**
   * The key the session is continued by: 16 to 256 printable ASCII characters. Default: the
   * SHA-256 of the user's token (base64url). Keep it as you would keep a refresh token.
   */
  readonly sessionKey?: string | undefined
  /** A claims challenge (JSON). */
  readonly claims?: string | undefined
}

/**
 * A token in a long-running on-behalf-of session, by its session key.
 *
 * @since 0.2.0
 * @category models
 */
export interface LongRunningRequest {
  readonly sessionKey: string
  readonly scopes: ReadonlyArray<string>
  /** A claims challenge (JSON): the session's refresh token is redeemed with it. */
  readonly claims?: string | undefined
}
