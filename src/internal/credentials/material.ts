/**
 * Signing material and MSAL Python's newer algorithm rules
 * (`tests/test_optional_thumbprint.py`; AzureAD/microsoft-authentication-library-for-python#872).
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type { KeyObject } from "node:crypto"
import type { AuthorityKind } from "../../CredentialSigner.js"
import { CredentialError } from "../../MsalError.js"
import * as Pem from "./pem.js"
import type { PfxContents } from "./pfx.js"
import * as Thumbprint from "./thumbprint.js"

/**
 * The certificate thumbprints known for a key: at least one of them. The SHA-1 one is given
 * or derived from the certificate; the SHA-256 one is given, or derived from the
 * certificate unless a SHA-1 one was given.
 *
 * @internal
 */
export type Thumbprints =
  | { readonly sha1: Uint8Array; readonly sha256?: Uint8Array | undefined }
  | { readonly sha1?: undefined; readonly sha256: Uint8Array }

/**
 * What a certificate credential signs with.
 *
 * @internal
 */
export interface SigningMaterial {
  readonly privateKey: KeyObject
  readonly thumbprints: Thumbprints
  /** The `x5c` header, when the certificate chain is to be sent. */
  readonly x5c?: ReadonlyArray<string> | undefined
}

/**
 * The algorithm and thumbprint header of one assertion.
 *
 * @internal
 */
export type Choice =
  | { readonly alg: "PS256"; readonly header: { readonly "x5t#S256": string } }
  | { readonly alg: "RS256"; readonly header: { readonly x5t: string } }

const ps256 = (sha256: Uint8Array): Choice => ({ alg: "PS256", header: { "x5t#S256": Thumbprint.toBase64Url(sha256) } })
const rs256 = (sha1: Uint8Array): Choice => ({ alg: "RS256", header: { x5t: Thumbprint.toBase64Url(sha1) } })

/**
 * Entra (AAD, B2C, CIAM) prefers PS256 with `x5t#S256`; ADFS and generic OIDC authorities
 * prefer RS256 with `x5t`. Either falls back to the other when only one thumbprint exists.
 *
 * | given                     | Entra                | Adfs / Oidc          |
 * | ------------------------- | -------------------- | -------------------- |
 * | certificate only          | PS256, derived S256  | RS256, derived SHA-1 |
 * | thumbprint (± cert)       | RS256, given SHA-1   | RS256, given SHA-1   |
 * | thumbprintSha256 only     | PS256                | PS256                |
 * | both thumbprints          | PS256                | RS256                |
 *
 * @internal
 */
export const choose = (material: SigningMaterial, kind: AuthorityKind): Choice => {
  const t = material.thumbprints
  if (t.sha1 === undefined) return ps256(t.sha256)
  if (kind === "Entra" && t.sha256 !== undefined) return ps256(t.sha256)
  return rs256(t.sha1)
}

/**
 * Material for a `ClientCredential.certificate`.
 *
 * @internal
 */
export const fromPem = (options: {
  readonly privateKey: Redacted.Redacted<string>
  readonly passphrase?: Redacted.Redacted<string> | undefined
  readonly thumbprint?: string | undefined
  readonly thumbprintSha256?: string | undefined
  readonly publicCertificate?: string | undefined
}): Either.Either<SigningMaterial, CredentialError> =>
  Either.gen(function*() {
    const given1 = options.thumbprint === undefined || options.thumbprint.trim() === ""
      ? undefined
      : yield* Thumbprint.parse(options.thumbprint, "sha1", "thumbprint")
    const given256 = options.thumbprintSha256 === undefined || options.thumbprintSha256.trim() === ""
      ? undefined
      : yield* Thumbprint.parse(options.thumbprintSha256, "sha256", "thumbprintSha256")
    const certificates = options.publicCertificate === undefined
      ? undefined
      : yield* Pem.parsePublicCertificate(options.publicCertificate, "publicCertificate")
    const leaf = certificates?.[0]
    const sha1 = given1 ?? (leaf === undefined ? undefined : Thumbprint.compute(leaf.raw, "sha1"))
    // A given SHA-1 thumbprint wins over a certificate: RS256 with it (MSAL Python's `test_optional_thumbprint.py`).
    const sha256 = given256 ??
      (leaf === undefined || given1 !== undefined ? undefined : Thumbprint.compute(leaf.raw, "sha256"))
    const thumbprints: Thumbprints | undefined = sha1 !== undefined
      ? { sha1, sha256 }
      : sha256 !== undefined
      ? { sha256 }
      : undefined
    if (thumbprints === undefined) {
      return yield* Either.left(
        new CredentialError({
          description:
            "a certificate credential needs a thumbprint (thumbprint or thumbprintSha256) or the publicCertificate to derive it from"
        })
      )
    }
    const privateKey = yield* Pem.loadPrivateKey(options.privateKey, options.passphrase, "privateKey")
    if (leaf !== undefined && !Pem.matches(leaf, privateKey)) {
      return yield* Either.left(
        new CredentialError({
          description: "the private key does not match the certificate in publicCertificate (the first one, the leaf)"
        })
      )
    }
    return { privateKey, thumbprints, x5c: certificates === undefined ? undefined : Pem.toX5c(certificates) }
  })

/**
 * Material for a key and chain read from a PFX or a PEM file holding both: thumbprints
 * derived from the leaf, `x5c` only when asked for.
 *
 * @internal
 */
export const fromChain = (contents: PfxContents, sendCertificateChain: boolean): SigningMaterial => ({
  privateKey: contents.privateKey,
  thumbprints: {
    sha1: Thumbprint.compute(contents.leaf.raw, "sha1"),
    sha256: Thumbprint.compute(contents.leaf.raw, "sha256")
  },
  x5c: sendCertificateChain ? Pem.toX5c([contents.leaf, ...contents.issuers]) : undefined
})

/**
 * Reads a PEM text holding a private key and its certificate (and optionally the rest of
 * the chain), as in the `AZURE_CLIENT_CERTIFICATE_PATH` convention.
 *
 * @internal
 */
export const pemBundle = (
  text: Redacted.Redacted<string>,
  passphrase: Redacted.Redacted<string> | undefined,
  source: string
): Either.Either<PfxContents, CredentialError> =>
  Either.gen(function*() {
    const privateKey = yield* Pem.loadPrivateKey(text, passphrase, source)
    const blocks = Pem.certificateBlocks(Redacted.value(text))
    if (blocks.length === 0) {
      return yield* Either.left(
        new CredentialError({ description: `${source} holds no certificate next to the private key` })
      )
    }
    const certificates = yield* Pem.parseDerCertificates(blocks, source)
    const chain = Pem.chainFor(privateKey, certificates)
    if (chain === undefined) {
      return yield* Either.left(
        new CredentialError({ description: `no certificate in ${source} matches its private key` })
      )
    }
    return { privateKey, ...chain }
  })
