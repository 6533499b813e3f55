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
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Layer, Redacted } from "effect"
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
import type { HttpClient } from "@effect/platform"
import type { Duration, Effect, Scope } from "effect"
import { Context, Layer } from "effect"
import type { AuthenticationResult } from "./AuthenticationResult.js"
import type { CredentialSigner } from "./CredentialSigner.js"
import * as internal from "./internal/client.js"
import type { AuthorityError, InvalidRequest, MsalError } from "./MsalError.js"
import type { TokenCache } from "./TokenCache.js"

/**
 * The client's configuration (the seed constructor's parameters, in camelCase). The
 * credential, the cache and the HTTP client are layers: `CredentialSigner`, `TokenCache`,
 * `HttpClient`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The application (client) id. */
  readonly clientId: string
  /** Defaults to `https://login.microsoftonline.com/common`. */
  readonly authority?: string | undefined
  /** Capabilities the client declares (for example `["CP1"]`), sent as `xms_cc` in `claims`. */
  readonly clientCapabilities?: ReadonlyArray<string> | undefined
  /** Claims merged last into signed client assertions. */
  readonly clientClaims?: Readonly<Record<string, unknown>> | undefined
  /** Sent as `x-app-name`. */
  readonly appName?: string | undefined
  /** Sent as `x-app-ver`. */
  readonly appVersion?: string | undefined
  /** The longest a token request may take, all attempts included. Default 30 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Allow personal data (user names, object ids) in log lines. Default false. */
  readonly enablePiiLog?: boolean | undefined
}

/**
 * A client-credentials request (the seed's `acquire_token_for_client`).
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
  readonly acquireTokenForClient: (request: ClientCredentialsRequest) => Effect.Effect<AuthenticationResult, MsalError>
  /**
   * Removes the application's own tokens (not users') from the cache, in every tenant.
   */
  readonly removeTokensForClient: () => Effect.Effect<void, MsalError>
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
  HttpClient.HttpClient | TokenCache | CredentialSigner | Scope.Scope
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
): Layer.Layer<ConfidentialClient, AuthorityError | InvalidRequest, HttpClient.HttpClient | TokenCache | CredentialSigner> =>
  Layer.scoped(ConfidentialClient, make(options))
