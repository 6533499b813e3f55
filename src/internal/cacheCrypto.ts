import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import { CacheError } from "../MsalError.js"
import type { Encryption, EncryptionKey } from "../TokenCache.js"

/** The marker of an encrypted envelope. @internal */
export const ALGORITHM = "aes-256-gcm"

interface Key {
  readonly id: string
  readonly bytes: Buffer
}

/** Encrypts and decrypts cache data: AES-256-GCM, 96-bit random IV, the key id in clear. @internal */
export interface Cipher {
  readonly encrypt: (plain: string, context: string) => string
  /** `Left` when the envelope is not ours, names an unknown key, or fails authentication. */
  readonly decrypt: (envelope: string, context: string) => Either.Either<string, CacheError>
  /** Whether a stored text is an envelope (as opposed to plain JSON). */
  readonly isEnvelope: (text: string) => boolean
  /** Whether the envelope names a key we were given (if not, a failure is configuration, not damage). */
  readonly knowsKeyOf: (text: string) => boolean
}

const failure = (description: string) => new CacheError({ reason: "Encryption", description })

/** Standard base64 (RFC 4648 section 4) of 32 bytes: 43 characters and one "=" (what `openssl rand -base64 32` prints). */
const BASE64_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/

/**
 * Fewer distinct byte values than this in 32 bytes is not a random key: 32 random bytes have
 * about 30 distinct values, and fewer than 20 happens with odds below 1 in 10^9.
 */
const MIN_DISTINCT_BYTES = 20

/** Fewer distinct characters than this in the base64 text is a pass phrase, not random bytes (random: about 31). */
const MIN_DISTINCT_CHARS = 20

const distinct = (items: Iterable<unknown>) => new Set(items).size

/** The key's 32 bytes; a `Left` names what is wrong (never the key). */
const keyBytes = (raw: Uint8Array | string): Either.Either<Buffer, string> => {
  if (typeof raw === "string") {
    if (!BASE64_KEY.test(raw)) return Either.left("is not 32 bytes in standard base64 (44 characters ending in \"=\")")
    if (distinct(raw) < MIN_DISTINCT_CHARS) return Either.left("looks like a pass phrase, not random bytes")
    return keyBytes(Buffer.from(raw, "base64"))
  }
  if (!(raw instanceof Uint8Array) || raw.length !== 32) return Either.left("is not 32 bytes (AES-256)")
  if (raw.every((b) => b === 0)) return Either.left("is all zeros")
  if (distinct(raw) < MIN_DISTINCT_BYTES) return Either.left("has too little entropy to be a random key")
  return Either.right(Buffer.from(raw))
}

const toKey = (k: EncryptionKey): Either.Either<Key, CacheError> => {
  if (typeof k.id !== "string" || k.id.length === 0)
    return Either.left(failure("an encryption key needs a non-empty id"))
  return Either.match(keyBytes(Redacted.value(k.key)), {
    onLeft: (why) => Either.left(failure(`encryption key ${k.id} ${why}`)),
    onRight: (bytes) => Either.right({ id: k.id, bytes })
  })
}

const parseEnvelope = (text: string): Record<string, unknown> | undefined => {
  if (!text.startsWith("{")) return undefined
  try {
    const v: unknown = JSON.parse(text)
    return Predicate.isRecord(v) && v.alg === ALGORITHM ? v : undefined
  } catch {
    return undefined
  }
}

/** @internal */
export const make = (encryption: Encryption): Either.Either<Cipher, CacheError> =>
  Either.gen(function*() {
    const current = yield* toKey(encryption.key)
    const keys = new Map<string, Key>([[current.id, current]])
    for (const k of encryption.previousKeys ?? []) {
      const key = yield* toKey(k)
      if (!keys.has(key.id)) keys.set(key.id, key)
    }
    const encrypt = (plain: string, context: string): string => {
      const iv = randomBytes(12)
      const cipher = createCipheriv("aes-256-gcm", current.bytes, iv)
      cipher.setAAD(Buffer.from(`${current.id}\u0000${context}`))
      const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()])
      return JSON.stringify({
        alg: ALGORITHM,
        kid: current.id,
        iv: iv.toString("base64"),
        tag: cipher.getAuthTag().toString("base64"),
        ct: ct.toString("base64")
      })
    }
    const decrypt = (text: string, context: string): Either.Either<string, CacheError> => {
      const env = parseEnvelope(text)
      if (env === undefined) return Either.left(failure("the stored data is not encrypted"))
      const { ct, iv, kid, tag } = env
      if (typeof kid !== "string" || typeof iv !== "string" || typeof tag !== "string" || typeof ct !== "string") {
        return Either.left(failure("the encrypted envelope is incomplete"))
      }
      const key = keys.get(kid)
      if (key === undefined) return Either.left(failure(`the data was encrypted with key ${kid}, which was not given`))
      const authTag = Buffer.from(tag, "base64")
      // a short tag would make forgery cheap: only the full 128 bits are accepted
      if (authTag.length !== 16) return Either.left(failure(`the data encrypted with key ${kid} failed authentication`))
      try {
        const decipher = createDecipheriv("aes-256-gcm", key.bytes, Buffer.from(iv, "base64"), { authTagLength: 16 })
        decipher.setAAD(Buffer.from(`${kid}\u0000${context}`))
        decipher.setAuthTag(authTag)
        return Either.right(
          Buffer.concat([decipher.update(Buffer.from(ct, "base64")), decipher.final()]).toString("utf8")
        )
      } catch {
        return Either.left(failure(`the data encrypted with key ${kid} failed authentication`))
      }
    }
    const knowsKeyOf = (text: string) => {
      const kid = parseEnvelope(text)?.kid
      return typeof kid === "string" && keys.has(kid)
    }
    return { encrypt, decrypt, isEnvelope: (text) => parseEnvelope(text) !== undefined, knowsKeyOf }
  })
