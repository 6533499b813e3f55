/**
 * The confidential client: acquires tokens for an application (client credentials) and, as
 * the other grants land, on behalf of users.
 *
 * Every method is an Effect whose failures are the `MsalError` union. The client reads the
 * `TokenCache` first, joins concurrent identical requests into one, refreshes aging tokens
 * in the background, and takes every timestamp from `Clock`.
 *
 * @example
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
 * import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
 * import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
 *
 * const MsalLive = ConfidentialClient.layer({
 *   clientId: "11111111-2222-3333-4444-555555555555",
 *   authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com"
 * }).pipe(
 *   Layer.provide(CredentialSigner.layer(ClientCredential.secret(Redacted.make("s3cret")))),
 *   Layer.provide(TokenCache.layerMemory()),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 *
 * const program = Effect.gen(function* () {
 *   const client = yield* ConfidentialClient.ConfidentialClient
 *   return yield* client.acquireTokenForClient({ scopes: ["https://graph.microsoft.com/.default"] })
 * }).pipe(Effect.provide(MsalLive))
 * ```
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Scope from "effect/Scope"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { AuthCodeFlow } from "./AuthCodeFlow.js"
import type { Account, AuthenticationResult } from "./AuthenticationResult.js"
import * as CredentialSigner from "./CredentialSigner.js"
import * as internal from "./internal/client.js"
import * as internalConfig from "./internal/config.js"
import type { AuthorityError, CredentialError, InvalidRequest, MsalError } from "./MsalError.js"
import type * as Requests from "./Requests.js"
import type { TokenCache } from "./TokenCache.js"

/**
 * The client's configuration (MSAL Python's `ConfidentialClientApplication` parameters, in camelCase). The
 * credential, the cache and the HTTP client are layers: `CredentialSigner`, `TokenCache`,
 * `HttpClient`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The application (client) id. */
  readonly clientId: string
  /**
   * The Microsoft Entra authority: `https://<host>/<tenant>` (tenant id or domain, `common`,
   * `organizations`, `consumers`; any cloud, see `Authority`), B2C
   * (`https://<tenant>.b2clogin.com/<tenant>.onmicrosoft.com/<policy>`, also `/tfp/`), CIAM
   * (`https://<tenant>.ciamlogin.com[/<tenant>]`) or AD FS (`https://<host>/adfs`). https
   * only. Defaults to `https://login.microsoftonline.com/common`.
   */
  readonly authority?: string | undefined
  /**
   * Any OpenID Connect provider instead of `authority` (not both): its issuer URL, whose
   * `/.well-known/openid-configuration` is read at the first request. The document's
   * `issuer` must match. https only, except that plain http is accepted on 127.0.0.1,
   * localhost and [::1], for development and tests.
   */
  readonly oidcAuthority?: string | undefined
  /**
   * `false` skips instance discovery for Entra hosts that are not well known (as does
   * `instanceDiscovery: false`). Default true.
   */
  readonly validateAuthority?: boolean | undefined
  /**
   * `false` never asks Microsoft's instance discovery whether an authority host is known:
   * for private clouds and custom domains. Default true.
   */
  readonly instanceDiscovery?: boolean | undefined
  /**
   * The Azure region whose regional endpoint (ESTS-R) serves `acquireTokenForClient`: a
   * region name (`"westus2"`), `"discover"` (the `REGION_NAME` environment variable, else the
   * instance metadata service, asked once per client), or `false` (never). Absent: the
   * `MSAL_FORCE_REGION` environment variable, if set. Invalid names are ignored with a
   * warning. Other grants always use the global endpoint.
   */
  readonly azureRegion?: string | false | undefined
  /** How long `azureRegion: "discover"` waits for the instance metadata service. Default 2 seconds. */
  readonly azureRegionTimeout?: Duration.DurationInput | undefined
  /** Capabilities the client declares (for example `["CP1"]`), sent as `xms_cc` in `claims`. */
  readonly clientCapabilities?: ReadonlyArray<string> | undefined
  /** Claims merged last into signed client assertions. */
  readonly clientClaims?: Readonly<Record<string, unknown>> | undefined
  /**
   * Reserved scopes the user flows must not add, for example `["offline_access"]` for an app
   * that wants no refresh tokens. `openid` cannot be excluded.
   */
  readonly excludeScopes?: ReadonlyArray<string> | undefined
  /**
   * How long an auth-code flow stays redeemable after `initiateAuthCodeFlow`; an older flow
   * fails with `AuthCodeFlowError` `"FlowExpired"`. Default 10 minutes.
   */
  readonly authCodeFlowLifetime?: Duration.DurationInput | undefined
  /** Sent as `x-app-name`. */
  readonly appName?: string | undefined
  /** Sent as `x-app-ver`. */
  readonly appVersion?: string | undefined
  /** The longest a token request may take, all attempts included. Default 30 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The longest one attempt may take before it is abandoned (and maybe retried). Default 10 seconds. */
  readonly attemptTimeout?: Duration.DurationInput | undefined
  /**
   * Retries of token requests after transport failures, timeouts, 408, 429 and 5xx:
   * exponential backoff with jitter, or the authority's `Retry-After`. `false` turns them off.
   * Authorization codes and refresh tokens are only re-sent when no answer came back.
   */
  readonly retry?: RetryOptions | false | undefined
  /**
   * When the authority sends no `refresh_in`, refresh in the background once this fraction
   * of the token's lifetime has passed (for example `0.5`). By default only the authority's
   * `refresh_in` starts background refreshes.
   */
  readonly refreshLifetimeFraction?: number | undefined
  /** Allow personal data (user names, object ids) in log lines. Default false. */
  readonly enablePiiLog?: boolean | undefined
  /**
   * Adapts the `HttpClient` from the context before the client uses it for every request
   * (token, discovery, user realm): a proxy, extra headers, logging. For example
   * `transformClient: HttpClient.mapRequest(HttpClientRequest.setHeader("x-team", "billing"))`.
   */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
}

/**
 * How token requests are retried.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /** Attempts in all, the first included. Default 3. */
  readonly maxAttempts?: number | undefined
  /** The first backoff delay, doubled at each retry (with ±20% jitter). Default 200 ms. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** The longest backoff delay. Default 5 seconds. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** A longer `Retry-After` is not waited for: the error is returned at once. Default 10 seconds. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
}

/**
 * The request of each method (re-exported from `Requests`).
 *
 * @since 0.1.0
 * @category models
 */
export type * from "./Requests.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * A token for the application itself. Served from the cache while it has at least five
   * minutes left; a cached superset of the scopes serves a request for fewer; after the
   * authority's `refresh_in` the cached token is returned at once and refreshed in the
   * background. Concurrent identical calls share one request.
   *
   * @see https://datatracker.ietf.org/doc/html/rfc6749#section-4.4
   */
  readonly acquireTokenForClient: (
    request: Requests.ClientCredentialsRequest
  ) => Effect.Effect<AuthenticationResult, MsalError>
  /**
   * Removes the application's own tokens (not users') from the cache, in every tenant.
   */
  readonly removeTokensForClient: () => Effect.Effect<void, MsalError>
  /**
   * A token for a downstream API on behalf of the user whose token (`userAssertion`) the
   * caller received (a middle-tier API). Tokens are cached per assertion (by its SHA-256):
   * the same assertion and scopes again are served from the cache; when the access token has
   * expired, the refresh token of that exchange is redeemed instead of re-sending the
   * assertion. Concurrent identical calls share one request.
   *
   * @see https://learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow
   */
  readonly acquireTokenOnBehalfOf: (
    request: Requests.OnBehalfOfRequest
  ) => Effect.Effect<AuthenticationResult, MsalError>
  /**
   * Starts a long-running on-behalf-of session for work that must go on after the user's
   * token expires (a report that runs for hours): the user's token — a JWT valid now — is
   * exchanged, and the session key returned continues the session with
   * `acquireTokenInLongRunningProcess`, with no user token, for as long as Entra honours its
   * refresh token (up to 90 days). Anyone holding the session key can get tokens as the user:
   * keep it server-side, scope it to the job, and end the session with `removeAccount` or by
   * revoking the user's sessions in Entra. `acquireTokenOnBehalfOf` never does this: it
   * refuses an expired user token.
   *
   * @see https://learn.microsoft.com/entra/msal/dotnet/acquiring-tokens/web-apps-apis/on-behalf-of-flow#long-running-obo-processes
   */
  readonly initiateLongRunningOnBehalfOf: (
    request: Requests.LongRunningStartRequest
  ) => Effect.Effect<{ readonly result: AuthenticationResult; readonly sessionKey: string }, MsalError>
  /**
   * A token in a long-running on-behalf-of session: from the cache, else by the session's
   * refresh token. `TokenNotFound` when the session has none left (start it again).
   */
  readonly acquireTokenInLongRunningProcess: (
    request: Requests.LongRunningRequest
  ) => Effect.Effect<AuthenticationResult, MsalError>
  /**
   * Starts a sign-in (web apps): the URL to send the browser to, and the state the redirect
   * is checked against (PKCE verifier, nonce, `state`). Keep the flow (a cookie, the
   * session) with `Schema.encode(AuthCodeFlow.AuthCodeFlow)`; it expires after
   * `authCodeFlowLifetime`.
   *
   * @see https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow
   */
  readonly initiateAuthCodeFlow: (request: Requests.AuthCodeFlowRequest) => Effect.Effect<AuthCodeFlow, MsalError>
  /**
   * Completes a sign-in: checks the redirect against the flow (state, scopes, error, code, in
   * that order, fail-closed), redeems the code with the PKCE verifier, and checks the ID token
   * (audience, issuer, lifetime, nonce, `auth_time` against `maxAge`) before anything is
   * cached.
   */
  readonly acquireTokenByAuthCodeFlow: (
    request: Requests.AuthCodeFlowRedirect
  ) => Effect.Effect<AuthenticationResult, MsalError>
  /**
   * Redeems an authorization code obtained without `initiateAuthCodeFlow`, with no PKCE and
   * no state check.
   *
   * @deprecated Deprecated in MSAL Python as well: use `initiateAuthCodeFlow` and
   * `acquireTokenByAuthCodeFlow`, which add PKCE, state and nonce checks.
   */
  readonly acquireTokenByAuthorizationCode: (
    request: Requests.AuthorizationCodeRequest
  ) => Effect.Effect<AuthenticationResult, MsalError>
  /**
   * The authorize URL for a sign-in, without PKCE.
   *
   * @deprecated Deprecated in MSAL Python as well: use `initiateAuthCodeFlow`.
   */
  readonly getAuthorizationRequestUrl: (request: Requests.AuthorizationUrlRequest) => Effect.Effect<string, MsalError>
  /**
   * Redeems a refresh token obtained elsewhere (a migration into this cache); the tokens and
   * the account are cached.
   */
  readonly acquireTokenByRefreshToken: (
    request: Requests.RefreshTokenRequest
  ) => Effect.Effect<AuthenticationResult, MsalError>
  /**
   * Signs a managed (not federated) user in with a password (ROPC).
   *
   * @deprecated Deprecated in MSAL Python as well: it cannot do multi-factor authentication or
   * federation; prefer the auth-code flow.
   */
  readonly acquireTokenByUsernamePassword: (
    request: Requests.UsernamePasswordRequest
  ) => Effect.Effect<AuthenticationResult, MsalError>
  /**
   * A token for a signed-in account from the cache: a cached access token with at least five
   * minutes left (refreshed first once past `refresh_on`, falling back to it if the refresh
   * fails), else a refresh token of the account (family refresh tokens included). Fails with
   * `TokenNotFound` when the cache holds nothing usable, and with `ServerError` (see its
   * `classification`) when the refresh was refused.
   */
  readonly acquireTokenSilent: (request: Requests.SilentRequest) => Effect.Effect<AuthenticationResult, MsalError>
  /**
   * The accounts in the cache for this authority's cloud, one per home account; optionally
   * only those with this user name (case-insensitive).
   */
  readonly getAccounts: (request?: Requests.AccountsRequest) => Effect.Effect<ReadonlyArray<Account>, MsalError>
  /**
   * Signs an account out of the cache: its access tokens, ID tokens and account entries, and
   * the refresh tokens of this client (or its family).
   */
  readonly removeAccount: (account: Account) => Effect.Effect<void, MsalError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ConfidentialClient extends Context.Tag("effect-msal/ConfidentialClient")<ConfidentialClient, Service>() {}

/**
 * Builds a client. Malformed options (an empty client id, a bad authority URL) fail here.
 * Nothing is requested from the network until the first acquisition.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: Options
) => Effect.Effect<
  Service,
  AuthorityError | InvalidRequest,
  HttpClient.HttpClient | TokenCache | CredentialSigner.CredentialSigner | Scope.Scope
> = internal.make

/**
 * The client as a layer. Background refreshes run in the layer's scope and stop when it is
 * released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  ConfidentialClient,
  AuthorityError | InvalidRequest,
  HttpClient.HttpClient | TokenCache | CredentialSigner.CredentialSigner
> => Layer.scoped(ConfidentialClient, make(options))

/**
 * What `layerConfig` takes from code rather than from the environment: every option but the
 * client id and the authority, plus the signer's options.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigOptions extends Omit<Options, "clientId" | "authority" | "oidcAuthority"> {
  readonly signer?: CredentialSigner.Options | undefined
}

/**
 * The client and its signer from the environment variables Azure tooling uses:
 * `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_AUTHORITY_HOST` (default
 * `https://login.microsoftonline.com`), one credential — `AZURE_CLIENT_SECRET`,
 * `AZURE_CLIENT_CERTIFICATE_PATH` (PEM or PKCS#12, with `AZURE_CLIENT_CERTIFICATE_PASSWORD`
 * and `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`) or `AZURE_FEDERATED_TOKEN_FILE` — and
 * `MSAL_FORCE_REGION` or `AZURE_REGIONAL_AUTHORITY_NAME`. Variables are read through `Config`,
 * so any `ConfigProvider` works. With several credential variables set, the first of that list
 * is used (@azure/identity's precedence) and a warning names the others. A missing or
 * malformed variable fails the layer with a `ConfigError` naming it.
 *
 * @example
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
 * import * as Layer from "effect/Layer"
 * import { ConfidentialClient, TokenCache } from "effect-msal"
 *
 * const MsalLive = ConfidentialClient.layerConfig({ appName: "billing-worker" }).pipe(
 *   Layer.provide(TokenCache.layerMemory()),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options?: ConfigOptions
): Layer.Layer<
  ConfidentialClient,
  ConfigError.ConfigError | AuthorityError | InvalidRequest | CredentialError,
  HttpClient.HttpClient | TokenCache
> =>
  Layer.unwrapEffect(
    Effect.map(internalConfig.settingsLogged(options), (s) =>
      layer(s.options).pipe(Layer.provide(CredentialSigner.layer(s.credential, options?.signer))))
  )
