/**
 * How a confidential client proves its identity to the authority: a secret, a certificate
 * (PEM or PFX), a pre-signed assertion, or an Effect that produces one.
 *
 * A `ClientCredential` is plain data. `CredentialSigner.layer(credential)` turns it into the
 * service that adds client authentication to token requests. Secret-bearing fields accept a
 * string or a `Redacted<string>` and are always kept `Redacted` inside.
 *
 * The constructors never throw: input from untyped code that is missing or of the wrong type
 * (`secret(process.env.UNSET)`, a `certificate({...})` without `privateKey`) makes the signer's
 * layer fail with a `CredentialError` saying which field is missing and what was given.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

/**
 * A value that may hold a secret: a plain string or a `Redacted` one.
 *
 * @since 0.1.0
 * @category models
 */
export type SecretInput = string | Redacted.Redacted<string>

/**
 * A client secret, sent as `client_secret` in the form body.
 *
 * @since 0.1.0
 * @category models
 */
export interface Secret {
  readonly _tag: "Secret"
  readonly secret: Redacted.Redacted<string>
}

/**
 * A PEM private key with its certificate's thumbprint or the certificate itself; requests
 * carry a signed `private_key_jwt` assertion.
 *
 * @since 0.1.0
 * @category models
 */
export interface Certificate {
  readonly _tag: "Certificate"
  readonly privateKey: Redacted.Redacted<string>
  /** SHA-1 thumbprint, hex (any case, colons or spaces allowed). */
  readonly thumbprint?: string | undefined
  /** SHA-256 thumbprint, hex (any case, colons or spaces allowed). */
  readonly thumbprintSha256?: string | undefined
  /** One PEM certificate or a chain, leaf first; sent as `x5c` when given. */
  readonly publicCertificate?: string | undefined
  readonly passphrase?: Redacted.Redacted<string> | undefined
}

/**
 * A PKCS#12 (PFX) file or its bytes holding the private key and certificate.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pfx {
  readonly _tag: "Pfx"
  readonly path?: string | undefined
  readonly bytes?: Uint8Array | undefined
  readonly passphrase?: Redacted.Redacted<string> | undefined
  /** Send the certificate (`x5c`) for Subject Name/Issuer authentication. */
  readonly sendCertificateChain?: boolean | undefined
}

/**
 * A file holding a private key and its certificate: PEM (the key and certificate blocks in
 * one file, as `AZURE_CLIENT_CERTIFICATE_PATH` allows) or PKCS#12. It is read when the
 * signer is built, on the `reloadEvery` schedule and after an `invalid_client` answer, so a
 * certificate replaced on disk is picked up without rebuilding the client.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateFile {
  readonly _tag: "CertificateFile"
  readonly path: string
  readonly passphrase?: Redacted.Redacted<string> | undefined
  /** Send the certificate chain (`x5c`) for Subject Name/Issuer authentication. */
  readonly sendCertificateChain?: boolean | undefined
}

/**
 * A client assertion signed elsewhere, sent as is.
 *
 * @since 0.1.0
 * @category models
 */
export interface Assertion {
  readonly _tag: "Assertion"
  readonly assertion: Redacted.Redacted<string>
}

/**
 * An Effect producing a client assertion, run for each token request (workload identity
 * federation, projected service-account tokens, another identity provider).
 *
 * @since 0.1.0
 * @category models
 */
export interface AssertionProvider {
  readonly _tag: "AssertionProvider"
  readonly provide: Effect.Effect<string | Redacted.Redacted<string>, unknown>
}

/**
 * A file holding a federated token (the `AZURE_FEDERATED_TOKEN_FILE` convention), re-read when
 * it changes.
 *
 * @since 0.1.0
 * @category models
 */
export interface FederatedTokenFile {
  readonly _tag: "FederatedTokenFile"
  readonly path: string
}

/**
 * Every kind of client credential.
 *
 * @since 0.1.0
 * @category models
 */
export type ClientCredential =
  | Secret
  | Certificate
  | Pfx
  | CertificateFile
  | Assertion
  | AssertionProvider
  | FederatedTokenFile

// Constructors never throw: what untyped code passes (an unset variable, a missing field) is
// kept as given, and the signer rejects it with a `CredentialError` when its layer is built.
const redact = (s: SecretInput): Redacted.Redacted<string> => (Redacted.isRedacted(s) ? s : Redacted.make(s))

/**
 * A client secret.
 *
 * @example
 * ```ts
 * import * as Redacted from "effect/Redacted"
 * import { ClientCredential } from "effect-msal"
 * const credential = ClientCredential.secret(Redacted.make("s3cret"))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const secret = (value: SecretInput): ClientCredential => ({ _tag: "Secret", secret: redact(value) })

/**
 * A certificate credential from a PEM private key (PKCS#8, PKCS#1 or encrypted PKCS#8).
 *
 * Give the certificate's `thumbprint` (SHA-1) or `thumbprintSha256` in hex (any case; colons
 * and spaces allowed), or its `publicCertificate` to derive them from; with
 * `publicCertificate` the chain is also sent as `x5c` (Subject Name/Issuer authentication).
 * Entra authorities get PS256 with `x5t#S256` when a SHA-256 thumbprint is known; ADFS and
 * generic OIDC authorities get RS256 with `x5t`; a given SHA-1 `thumbprint` always means
 * RS256. The key must be RSA, at least 2048 bits.
 *
 * @example
 * ```ts
 * import { ClientCredential } from "effect-msal"
 * declare const keyPem: string, certPem: string
 * const credential = ClientCredential.certificate({ privateKey: keyPem, publicCertificate: certPem })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const certificate = (options: {
  readonly privateKey: SecretInput
  readonly thumbprint?: string | undefined
  readonly thumbprintSha256?: string | undefined
  readonly publicCertificate?: string | undefined
  readonly passphrase?: SecretInput | undefined
}): ClientCredential => ({
  _tag: "Certificate",
  privateKey: redact(options?.privateKey),
  thumbprint: options?.thumbprint,
  thumbprintSha256: options?.thumbprintSha256,
  publicCertificate: options?.publicCertificate,
  passphrase: options?.passphrase === undefined ? undefined : redact(options.passphrase)
})

/**
 * A certificate credential from a PKCS#12 (PFX) file or its bytes, as written by OpenSSL 3
 * (PBES2/AES), `openssl pkcs12 -legacy` (3DES/RC2) or a Windows certificate export. The key
 * and the certificate matching it are taken from the file and the thumbprints derived;
 * `sendCertificateChain: true` sends the certificate and the issuers found in the file as
 * `x5c`. A file given by `path` is read again on the signer's `reloadEvery` schedule and after
 * an `invalid_client` answer.
 *
 * @example
 * ```ts
 * import { ClientCredential } from "effect-msal"
 * const credential = ClientCredential.pfx({ path: "/etc/secrets/app.pfx", passphrase: "changeit" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const pfx = (
  options:
    & ({ readonly path: string; readonly bytes?: undefined } | {
      readonly bytes: Uint8Array
      readonly path?: undefined
    })
    & { readonly passphrase?: SecretInput | undefined; readonly sendCertificateChain?: boolean | undefined }
): ClientCredential => ({
  _tag: "Pfx",
  path: options?.path,
  bytes: options?.bytes,
  passphrase: options?.passphrase === undefined ? undefined : redact(options.passphrase),
  sendCertificateChain: options?.sendCertificateChain
})

/**
 * A certificate credential from a file holding a PEM private key and its certificate (the
 * `AZURE_CLIENT_CERTIFICATE_PATH` convention) or a PKCS#12 file; the format is detected
 * from the content. The file is read again on the signer's `reloadEvery` schedule and after
 * an `invalid_client` answer.
 *
 * @example
 * ```ts
 * import { ClientCredential } from "effect-msal"
 * const credential = ClientCredential.certificateFile({ path: "/etc/secrets/app.pem", sendCertificateChain: true })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const certificateFile = (options: {
  readonly path: string
  readonly passphrase?: SecretInput | undefined
  readonly sendCertificateChain?: boolean | undefined
}): ClientCredential => ({
  _tag: "CertificateFile",
  path: options?.path,
  passphrase: options?.passphrase === undefined ? undefined : redact(options.passphrase),
  sendCertificateChain: options?.sendCertificateChain
})

/**
 * A pre-signed client assertion (a JWT), sent as `client_assertion`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const assertion = (value: SecretInput): ClientCredential => ({ _tag: "Assertion", assertion: redact(value) })

/**
 * A client assertion produced by an Effect for each token request; its failure becomes a
 * `CredentialError` carrying the cause. Cache inside the Effect if producing one is costly.
 *
 * @since 0.1.0
 * @category constructors
 */
export const assertionProvider = (
  provide: Effect.Effect<string | Redacted.Redacted<string>, unknown>
): ClientCredential => ({ _tag: "AssertionProvider", provide })

/**
 * A client assertion read from a file (for example a Kubernetes projected service-account
 * token), re-read when the file changes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const federatedTokenFile = (path: string): ClientCredential => ({ _tag: "FederatedTokenFile", path })

/**
 * A managed identity as the client's credential (workload identity federation): each client
 * assertion is a token of the managed identity for the token-exchange audience of the
 * authority's cloud (`api://AzureADTokenExchange`, `api://AzureADTokenExchangeUSGov`,
 * `api://AzureADTokenExchangeChina`), cached and reused until it ages. The app registration
 * trusts it with a federated credential whose issuer is
 * `https://login.microsoftonline.com/<tenant>/v2.0` and whose subject is the identity's
 * object id. Not a member of the `ClientCredential` union: its signer needs an `HttpClient`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManagedIdentityCredential {
  readonly _tag: "ManagedIdentity"
  /** A user-assigned identity's client id; system-assigned when no id is given. */
  readonly clientId?: string | undefined
  readonly objectId?: string | undefined
  readonly resourceId?: string | undefined
  /** The audience of the exchanged token, instead of the cloud's. */
  readonly audience?: string | undefined
}

/**
 * A managed identity as the client's credential: the system-assigned identity, or a
 * user-assigned one by `clientId`, `objectId` or `resourceId`. `CredentialSigner.layer`
 * of it needs an `HttpClient`.
 *
 * @example
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
 * import * as Layer from "effect/Layer"
 * import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
 *
 * const Secretless = ConfidentialClient.layer({
 *   clientId: "11111111-2222-3333-4444-555555555555",
 *   authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com"
 * }).pipe(
 *   Layer.provide(CredentialSigner.layer(ClientCredential.managedIdentity({ clientId: "<user-assigned client id>" }))),
 *   Layer.provide(TokenCache.layerMemory()),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const managedIdentity = (options?: {
  readonly clientId?: string | undefined
  readonly objectId?: string | undefined
  readonly resourceId?: string | undefined
  readonly audience?: string | undefined
}): ManagedIdentityCredential => ({ _tag: "ManagedIdentity", ...options })
