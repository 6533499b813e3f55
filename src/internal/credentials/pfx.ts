/**
 * PKCS#12 (PFX) files: the private key and certificate chain inside.
 *
 * `node-forge` parses the file, checks its MAC and decrypts its bags. It covers every
 * encryption in use: PBES2 with PBKDF2 and AES (the OpenSSL 3 default), and the PKCS#12
 * PBEs with 3DES and 40-bit RC2 (`openssl pkcs12 -legacy`, Windows certificate export). RC2
 * is not in the default provider of Node's OpenSSL 3, so a pure-JS implementation is needed
 * for those files. The key and certificates are then handed to `node:crypto`.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type { KeyObject } from "node:crypto"
import { createPrivateKey } from "node:crypto"
import { createRequire } from "node:module"
import type forge from "node-forge"
import { CredentialError } from "../../MsalError.js"
import * as Pem from "./pem.js"

/**
 * What a PFX holds, checked: an RSA key of at least 2048 bits, its certificate (the leaf)
 * and the issuers of that certificate found in the file, nearest first.
 *
 * @internal
 */
export interface PfxContents extends Pem.Chain {
  readonly privateKey: KeyObject
}

let loaded: typeof forge | undefined
/** `node-forge` (a CommonJS bundle of ~40 files) is loaded on the first PFX, not when the package is imported. */
const forgeLib = (): typeof forge => (loaded ??= createRequire(import.meta.url)("node-forge") as typeof forge)

const fail = (description: string) => Either.left(new CredentialError({ description }))

const binary = (bytes: Uint8Array): string => Buffer.from(bytes).toString("binary")
const fromBinary = (s: string): Buffer => Buffer.from(s, "binary")

/**
 * The exact DER of a certificate forge has parsed. forge re-creates the outer
 * signatureAlgorithm from the OID when it serialises, which changes the bytes (and so the
 * thumbprint) for some algorithms; the copy inside the TBSCertificate is the original and,
 * by RFC 5280 §4.1.1.2, identical to the outer one.
 */
const certificateDer = (certificate: forge.pki.Certificate): Buffer => {
  const tbs = certificate.tbsCertificate
  const fields = Array.isArray(tbs.value) ? tbs.value : []
  const versioned = fields[0]?.tagClass === forgeLib().asn1.Class.CONTEXT_SPECIFIC
  const signatureAlgorithm = fields[versioned ? 2 : 1]
  if (signatureAlgorithm === undefined)
    return fromBinary(forgeLib().asn1.toDer(forgeLib().pki.certificateToAsn1(certificate)).getBytes())
  const signature: string = certificate.signature
  const outer = forgeLib().asn1.create(forgeLib().asn1.Class.UNIVERSAL, forgeLib().asn1.Type.SEQUENCE, true, [
    tbs,
    signatureAlgorithm,
    forgeLib().asn1.create(
      forgeLib().asn1.Class.UNIVERSAL,
      forgeLib().asn1.Type.BITSTRING,
      false,
      String.fromCharCode(0) + signature
    )
  ])
  return fromBinary(forgeLib().asn1.toDer(outer).getBytes())
}

const keyDer = (bag: forge.pkcs12.Bag): Buffer | undefined => {
  // forge leaves `key` null for non-RSA keys and keeps the PrivateKeyInfo in `asn1` instead.
  if (bag.key)
    return fromBinary(
      forgeLib().asn1.toDer(forgeLib().pki.wrapRsaPrivateKey(forgeLib().pki.privateKeyToAsn1(bag.key))).getBytes()
    )
  if (bag.asn1) return fromBinary(forgeLib().asn1.toDer(bag.asn1).getBytes())
  return undefined
}

const bagsOf = (pfx: forge.pkcs12.Pkcs12Pfx, type: string): ReadonlyArray<forge.pkcs12.Bag> =>
  pfx.getBags({ bagType: type })[type] ?? []

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : "")

/**
 * The outer DER SEQUENCE's declared total size, or `undefined` for a BER indefinite length
 * or a header too short to read.
 */
const declaredSize = (bytes: Uint8Array): number | undefined => {
  const first = bytes[1]
  if (first === undefined || first === 0x80) return undefined
  if (first < 0x80) return 2 + first
  const count = first & 0x7f
  if (count > 4 || bytes.length < 2 + count) return undefined
  let length = 0
  for (let i = 0; i < count; i++) length = length * 256 + (bytes[2 + i] ?? 0)
  return 2 + count + length
}

const open = (
  bytes: Uint8Array,
  passphrase: Redacted.Redacted<string> | undefined,
  source: string
): Either.Either<forge.pkcs12.Pkcs12Pfx, CredentialError> => {
  if (bytes[0] !== 0x30) {
    const head = Buffer.from(bytes.subarray(0, 64)).toString("latin1")
    const hint = head.includes("-----BEGIN") ? "; it looks like a PEM file" : ""
    return fail(`${source} is not a PKCS#12 (PFX) file${hint}`)
  }
  const size = declaredSize(bytes)
  if (size !== undefined && size > bytes.length) return fail(`${source} is truncated`)
  let asn1: forge.asn1.Asn1
  try {
    asn1 = forgeLib().asn1.fromDer(binary(bytes), false)
  } catch {
    return fail(`${source} is not a PKCS#12 (PFX) file`)
  }
  try {
    return Either.right(
      forgeLib().pkcs12.pkcs12FromAsn1(asn1, false, passphrase === undefined ? "" : Redacted.value(passphrase))
    )
  } catch (e) {
    const message = messageOf(e)
    if (/MAC could not be verified|password|decrypt/i.test(message)) {
      return fail(
        passphrase === undefined
          ? `could not open ${source}: it is protected by a passphrase and none was given`
          : `could not open ${source}: the passphrase is wrong (or the file is damaged)`
      )
    }
    return fail(`${source} is corrupt or uses an unsupported PKCS#12 feature`)
  }
}

/**
 * Opens a PFX and returns its checked key and chain.
 *
 * @param source names the input in error messages: a file path or "the PFX bytes".
 * @internal
 */
export const parse = (
  bytes: Uint8Array,
  passphrase: Redacted.Redacted<string> | undefined,
  source: string
): Either.Either<PfxContents, CredentialError> =>
  Either.flatMap(open(bytes, passphrase, source), (pfx) => {
    const keyBags = [
      ...bagsOf(pfx, forgeLib().pki.oids.pkcs8ShroudedKeyBag ?? ""),
      ...bagsOf(pfx, forgeLib().pki.oids.keyBag ?? "")
    ]
    const keys: Array<KeyObject> = []
    for (const bag of keyBags) {
      const der = keyDer(bag)
      if (der === undefined) continue
      try {
        keys.push(createPrivateKey({ key: der, format: "der", type: "pkcs8" }))
      } catch {
        return fail(`${source} holds a private key that cannot be read`)
      } finally {
        der.fill(0)
      }
    }
    if (keys.length === 0) return fail(`${source} holds no private key`)

    const ders: Array<Uint8Array> = []
    for (const bag of bagsOf(pfx, forgeLib().pki.oids.certBag ?? "")) {
      if (bag.cert) ders.push(certificateDer(bag.cert))
      else if (bag.asn1) ders.push(fromBinary(forgeLib().asn1.toDer(bag.asn1).getBytes()))
    }
    if (ders.length === 0) return fail(`${source} holds no certificate`)

    return Either.flatMap(Pem.parseDerCertificates(ders, source), (certificates) => {
      for (const key of keys) {
        const chain = Pem.chainFor(key, certificates)
        if (chain !== undefined) {
          return Either.map(Pem.checkSigningKey(key, source), (privateKey) => ({ privateKey, ...chain }))
        }
      }
      return fail(`no certificate in ${source} matches its private key`)
    })
  })
