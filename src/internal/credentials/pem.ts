/**
 * PEM private keys and X.509 certificates, loaded with `node:crypto`.
 *
 * Error descriptions are written here, never copied from the input or from OpenSSL's
 * messages with the input attached, so no key material or passphrase can reach them.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type { KeyObject } from "node:crypto"
import { createPrivateKey, X509Certificate } from "node:crypto"
import { CredentialError } from "../../MsalError.js"

/** The smallest RSA modulus Entra ID accepts for client assertions. @internal */
export const MIN_RSA_BITS = 2048

const fail = (description: string) => Either.left(new CredentialError({ description }))

const errorCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

/** Whether a PEM text holds an encrypted private key (PKCS#8 or OpenSSL's traditional form). @internal */
export const isEncryptedPem = (pem: string): boolean =>
  /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /Proc-Type:\s*4,\s*ENCRYPTED/i.test(pem)

/** Whether a text holds a PEM private key block of any kind. @internal */
export const hasPrivateKeyBlock = (pem: string): boolean => /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)

/**
 * Loads a PEM private key: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`), or encrypted
 * PKCS#8 (`ENCRYPTED PRIVATE KEY`, or a traditional key with `Proc-Type: 4,ENCRYPTED`) with
 * its passphrase. Other PEM blocks in the text (certificates) are skipped.
 *
 * @param source names the input in error messages, e.g. `privateKey` or a file path.
 * @internal
 */
export const loadPrivateKey = (
  pem: Redacted.Redacted<string>,
  passphrase: Redacted.Redacted<string> | undefined,
  source: string
): Either.Either<KeyObject, CredentialError> => {
  const text = Redacted.value(pem)
  if (text.trim().length === 0) return fail(`${source} is empty`)
  if (!hasPrivateKeyBlock(text)) {
    return fail(`${source} holds no PEM private key (expected a "-----BEGIN PRIVATE KEY-----" block or similar)`)
  }
  const encrypted = isEncryptedPem(text)
  if (encrypted && passphrase === undefined) {
    return fail(`the private key in ${source} is encrypted: give its passphrase`)
  }
  try {
    const key = createPrivateKey(
      encrypted && passphrase !== undefined
        ? { key: text, format: "pem", passphrase: Buffer.from(Redacted.value(passphrase), "utf8") }
        : { key: text, format: "pem" }
    )
    return checkSigningKey(key, source)
  } catch (e) {
    const code = errorCode(e)
    if (encrypted && (code === "ERR_OSSL_BAD_DECRYPT" || code === "ERR_OSSL_EVP_BAD_DECRYPT")) {
      return fail(`could not decrypt the private key in ${source}: the passphrase is wrong`)
    }
    return fail(`${source} is not a valid PEM private key${code === undefined ? "" : ` (${code})`}`)
  }
}

/**
 * Accepts RSA keys of at least 2048 bits, the only keys RS256 and PS256 can use.
 *
 * @internal
 */
export const checkSigningKey = (key: KeyObject, source: string): Either.Either<KeyObject, CredentialError> => {
  if (key.type !== "private") return fail(`${source} is not a private key`)
  if (key.asymmetricKeyType !== "rsa") {
    return fail(
      `the private key in ${source} is of type ${key.asymmetricKeyType ?? "unknown"}; client assertions need an RSA key`
    )
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
  if (bits < MIN_RSA_BITS) {
    return fail(`the RSA key in ${source} has ${bits} bits; at least ${MIN_RSA_BITS} are required`)
  }
  return Either.right(key)
}

const certificateBlock = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/gi

/**
 * The DER bodies of the `CERTIFICATE` blocks of a PEM text, in order.
 *
 * @internal
 */
export const certificateBlocks = (pem: string): ReadonlyArray<Uint8Array> =>
  Array.from(
    pem.matchAll(certificateBlock),
    (m) => Uint8Array.from(Buffer.from((m[1] ?? "").replace(/\s+/g, ""), "base64"))
  )

/**
 * Parses DER certificates, naming the first bad one.
 *
 * @internal
 */
export const parseDerCertificates = (
  ders: ReadonlyArray<Uint8Array>,
  source: string
): Either.Either<ReadonlyArray<X509Certificate>, CredentialError> => {
  const certificates: Array<X509Certificate> = []
  for (const [i, der] of ders.entries()) {
    try {
      certificates.push(new X509Certificate(der))
    } catch {
      const which = ders.length === 1 ? "the certificate" : `certificate #${i + 1}`
      return fail(`${source}: ${which} is not a valid X.509 certificate`)
    }
  }
  return Either.right(certificates)
}

/**
 * Parses `publicCertificate`: one PEM certificate or a chain (leaf first). A bare base64 body
 * without BEGIN/END lines is read as one certificate, as MSAL does.
 *
 * @internal
 */
export const parsePublicCertificate = (
  pem: string,
  field: string
): Either.Either<ReadonlyArray<X509Certificate>, CredentialError> => {
  if (/PRIVATE KEY/.test(pem)) {
    return fail(`${field} holds a private key; pass only the certificate there`)
  }
  const blocks = certificateBlocks(pem)
  if (blocks.length > 0) return parseDerCertificates(blocks, field)
  const body = pem.trim()
  if (body.length === 0) return fail(`${field} is empty`)
  if (!/^[A-Za-z0-9+/=\s]+$/.test(body)) return fail(`${field} is not a PEM certificate`)
  return parseDerCertificates([Uint8Array.from(Buffer.from(body.replace(/\s+/g, ""), "base64"))], field)
}

/**
 * Whether the certificate's public key belongs to the private key.
 *
 * @internal
 */
export const matches = (certificate: X509Certificate, key: KeyObject): boolean => {
  try {
    return certificate.checkPrivateKey(key)
  } catch {
    return false
  }
}

/**
 * A certificate with the issuers found for it, nearest first.
 *
 * @internal
 */
export interface Chain {
  readonly leaf: X509Certificate
  readonly issuers: ReadonlyArray<X509Certificate>
}

/**
 * Orders certificates for `x5c`: the one matching the key first, then its issuers as far as
 * they are present. Certificates outside that chain are left out.
 *
 * @internal
 */
export const chainFor = (key: KeyObject, certificates: ReadonlyArray<X509Certificate>): Chain | undefined => {
  const leaf = certificates.find((c) => matches(c, key))
  if (leaf === undefined) return undefined
  const chain = [leaf]
  const rest = certificates.filter((c) => c !== leaf)
  let current = leaf
  for (;;) {
    if (current.checkIssued(current)) break // self-signed: the chain ends here
    const issuer = rest.find((c) => !chain.includes(c) && current.checkIssued(c) && current.verify(c.publicKey))
    if (issuer === undefined) break
    chain.push(issuer)
    current = issuer
  }
  return { leaf, issuers: chain.slice(1) }
}

/**
 * The `x5c` value of a certificate chain: standard base64 of each DER certificate
 * (RFC 7515 §4.1.6), in the given order.
 *
 * @internal
 */
export const toX5c = (chain: ReadonlyArray<X509Certificate>): ReadonlyArray<string> =>
  chain.map((c) => c.raw.toString("base64"))
