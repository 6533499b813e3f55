/**
 * Certificate thumbprints: parsing user input and computing them from a certificate.
 *
 * @internal
 */
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import { CredentialError } from "../../MsalError.js"

/** @internal */
export type ThumbprintKind = "sha1" | "sha256"

const byteLength: Record<ThumbprintKind, number> = { sha1: 20, sha256: 32 }

/**
 * Parses a hex thumbprint given in any case, with or without colons, spaces or dashes
 * between the digits (the forms `certutil`, `openssl x509 -fingerprint` and the Azure portal
 * print).
 *
 * @internal
 */
export const parse = (
  input: string,
  kind: ThumbprintKind,
  field: string
): Either.Either<Uint8Array, CredentialError> => {
  const hex = input.replace(/[\s:-]/g, "")
  const expected = byteLength[kind] * 2
  if (!/^[0-9a-fA-F]*$/.test(hex)) {
    return Either.left(new CredentialError({ description: `${field} must be hexadecimal digits` }))
  }
  if (hex.length !== expected) {
    const hint = kind === "sha1" && hex.length === 64
      ? "; this looks like a SHA-256 thumbprint, pass it as thumbprintSha256"
      : kind === "sha256" && hex.length === 40
      ? "; this looks like a SHA-1 thumbprint, pass it as thumbprint"
      : ""
    return Either.left(
      new CredentialError({
        description:
          `${field} must be a ${kind.toUpperCase()} thumbprint of ${expected} hex digits, got ${hex.length}${hint}`
      })
    )
  }
  return Either.right(Uint8Array.from(Buffer.from(hex, "hex")))
}

/**
 * The thumbprint of a DER-encoded certificate.
 *
 * @internal
 */
export const compute = (der: Uint8Array, kind: ThumbprintKind): Uint8Array =>
  Uint8Array.from(createHash(kind).update(der).digest())

/**
 * base64url without padding, the form of `x5t` and `x5t#S256` (RFC 7515 §4.1.7–4.1.8).
 *
 * @internal
 */
export const toBase64Url = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url")
