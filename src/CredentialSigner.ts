/**
 * The service that adds client authentication to token requests.
 *
 * Keys never leave it: a grant asks for the form fields that authenticate the client to one
 * token endpoint (`client_secret`, or `client_assertion_type` and a signed
 * `client_assertion`), and gets them back `Redacted` until the request body is built.
 *
 * @since 0.1.0
 */
import type { Effect, Redacted, Scope } from "effect"
import { Context, Layer } from "effect"
import type { ClientCredential } from "./ClientCredential.js"
import * as internal from "./internal/signer.js"
import type { CredentialError } from "./MsalError.js"

/**
 * The kind of authority a request goes to; it decides the assertion's algorithm and
 * thumbprint header (PROTOCOL.md §3.2).
 *
 * @since 0.1.0
 * @category models
 */
export type AuthorityKind = "Entra" | "Adfs" | "Oidc"

/**
 * What the signer needs to know about one token request.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthContext {
  readonly clientId: string
  /** The token endpoint: the `aud` of a signed assertion. */
  readonly tokenEndpoint: string
  readonly authorityKind: AuthorityKind
  /** Extra claims merged last into a signed assertion (the seed's `client_claims`). */
  readonly clientClaims?: Readonly<Record<string, unknown>> | undefined
}

/**
 * Client-authentication form fields, kept `Redacted` until the body is built.
 *
 * @since 0.1.0
 * @category models
 */
export type ClientAuthFields = Readonly<Record<string, Redacted.Redacted<string>>>

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The form fields authenticating the client for one request. */
  readonly clientAuth: (context: AuthContext) => Effect.Effect<ClientAuthFields, CredentialError>
  /**
   * Drop anything cached (a reused assertion, a loaded key) and read the credential source
   * again; called after the authority answers `invalid_client`.
   */
  readonly reload: Effect.Effect<void, CredentialError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CredentialSigner extends Context.Tag("effect-msal/CredentialSigner")<CredentialSigner, Service>() {}

/**
 * Builds the signer for a credential. Bad input (an empty secret, an unreadable key) fails
 * here, when the layer is built, not at the first request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (credential: ClientCredential) => Effect.Effect<Service, CredentialError, Scope.Scope> =
  internal.make

/**
 * The signer for a credential, as a layer.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { ClientCredential, CredentialSigner } from "effect-msal"
 * const SignerLive = CredentialSigner.layer(ClientCredential.secret(Redacted.make("s3cret")))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (credential: ClientCredential): Layer.Layer<CredentialSigner, CredentialError> =>
  Layer.scoped(CredentialSigner, make(credential))
