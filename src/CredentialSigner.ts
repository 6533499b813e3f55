/**
 * The service that adds client authentication to token requests.
 *
 * Keys never leave it: a grant asks for the form fields that authenticate the client to one
 * token endpoint (`client_secret`, or `client_assertion_type` and a signed
 * `client_assertion`), and gets them back `Redacted` until the request body is built.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { ClientCredential, ManagedIdentityCredential } from "./ClientCredential.js"
import * as internalManagedIdentity from "./internal/managedIdentity/credential.js"
import * as internal from "./internal/signer.js"
import type { CredentialError } from "./MsalError.js"

/**
 * The kind of authority a request goes to; it decides the assertion's algorithm and
 * thumbprint header (MSAL Python's rules: `tests/test_optional_thumbprint.py`).
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
  /** The application (client) id: `iss` and `sub` of a signed assertion. */
  readonly clientId: string
  /** The token endpoint: the `aud` of a signed assertion. */
  readonly tokenEndpoint: string
  /** Decides the algorithm and thumbprint header of a signed assertion. */
  readonly authorityKind: AuthorityKind
  /** Extra claims merged last into a signed assertion (MSAL Python's `client_claims`). */
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
 * The signer service: client-authentication fields per request, and a way to read the
 * credential again.
 *
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
 * How the signer treats its credential source.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Check a credential file (`pfx({ path })`, `certificateFile`) this often and, when its
   * content changed, sign with the new key from the next request on. A file that cannot be
   * read or parsed at that moment is logged and the previous key stays in use. Without this
   * option the file is read again only by `reload` (after an `invalid_client` answer).
   * Federated token files need no schedule: they are checked on each request.
   */
  readonly reloadEvery?: Duration.DurationInput | undefined
}

/**
 * The signer service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class CredentialSigner extends Context.Tag("effect-msal/CredentialSigner")<CredentialSigner, Service>() {}

/**
 * Builds the signer for a credential. Bad input fails here, when the layer is built, not at
 * the first request: something that is not a `ClientCredential`, or one with a missing or
 * mistyped field (`secret(undefined)`); an empty secret or assertion; an unreadable, corrupt or non-RSA key; a
 * wrong or missing passphrase; a PFX without a key or certificate; a key that does not match
 * its certificate; an RSA key under 2048 bits; a certificate credential with neither a
 * thumbprint nor a certificate. Messages never contain key material or passphrases.
 *
 * A managed-identity credential (`ClientCredential.managedIdentity`) needs an `HttpClient`: its
 * assertion is the identity's token for the cloud's token-exchange audience.
 *
 * A signed assertion (`iss` = `sub` = client id, `aud` = token endpoint, `iat`, `nbf`, `exp` =
 * now + 10 minutes, a random `jti`, then `clientClaims`) is reused for the same audience
 * until less than a minute of it remains. Time comes from `Clock`. The schedule of
 * `options.reloadEvery` runs in a fiber tied to the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: {
  (
    credential: ManagedIdentityCredential,
    options?: Options
  ): Effect.Effect<Service, CredentialError, HttpClient.HttpClient | Scope.Scope>
  (credential: ClientCredential, options?: Options): Effect.Effect<Service, CredentialError, Scope.Scope>
} =
  ((credential: ClientCredential | ManagedIdentityCredential, options?: Options) =>
    credential !== null && typeof credential === "object" && credential._tag === "ManagedIdentity"
      ? internalManagedIdentity.make(credential)
      : internal.make(credential as ClientCredential, options)) as unknown as {
      (
        credential: ManagedIdentityCredential,
        options?: Options
      ): Effect.Effect<Service, CredentialError, HttpClient.HttpClient | Scope.Scope>
      (credential: ClientCredential, options?: Options): Effect.Effect<Service, CredentialError, Scope.Scope>
    }

/**
 * The signer for a credential, as a layer (see `make`).
 *
 * @example
 * ```ts
 * import * as Redacted from "effect/Redacted"
 * import { ClientCredential, CredentialSigner } from "effect-msal"
 * const SignerLive = CredentialSigner.layer(ClientCredential.secret(Redacted.make("s3cret")))
 *
 * // A PFX on disk, checked every hour and re-read at once after `invalid_client`.
 * const Rotating = CredentialSigner.layer(
 *   ClientCredential.pfx({ path: "/etc/secrets/app.pfx", passphrase: Redacted.make("changeit") }),
 *   { reloadEvery: "1 hour" }
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer: {
  (
    credential: ManagedIdentityCredential,
    options?: Options
  ): Layer.Layer<CredentialSigner, CredentialError, HttpClient.HttpClient>
  (credential: ClientCredential, options?: Options): Layer.Layer<CredentialSigner, CredentialError>
} =
  ((credential: ManagedIdentityCredential, options?: Options) =>
    Layer.scoped(CredentialSigner, make(credential, options))) as unknown as {
      (
        credential: ManagedIdentityCredential,
        options?: Options
      ): Layer.Layer<CredentialSigner, CredentialError, HttpClient.HttpClient>
      (credential: ClientCredential, options?: Options): Layer.Layer<CredentialSigner, CredentialError>
    }
