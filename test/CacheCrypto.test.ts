import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Option, Redacted } from "effect"
import { TokenCache } from "effect-msal"
import * as Crypto from "../src/internal/cacheCrypto.js"
import { accessToken, get, put } from "./cache/entries.js"
import { tempFiles } from "./support/tempFiles.js"

const { freshDir } = tempFiles("crypto")
// the real path: the ciphertext is bound to the path the store resolves
const fresh = () => nodePath.join(fs.realpathSync(freshDir()), "tokens.json")

const cipherWith = (key: Uint8Array | string) => Crypto.make({ key: { id: "k1", key: Redacted.make(key) } })
const reasonOf = (key: Uint8Array | string) =>
  Either.match(cipherWith(key), { onLeft: (e) => `${e._tag} ${e.reason}: ${e.description}`, onRight: () => "accepted" })

describe("encryption keys: exactly 32 bytes, as bytes or in standard base64", () => {
  it("accepts 32 random bytes and their standard base64 (what `openssl rand -base64 32` prints)", () => {
    const bytes = randomBytes(32)
    expect(reasonOf(bytes)).toBe("accepted")
    expect(reasonOf(bytes.toString("base64"))).toBe("accepted")
  })

  const refused: ReadonlyArray<readonly [string, () => Uint8Array | string]> = [
    ["43 × A (an all-zero key, unpadded)", () => "A".repeat(43)],
    ["43 × A and = (an all-zero key)", () => `${"A".repeat(43)}=`],
    ["32 zero bytes", () => new Uint8Array(32)],
    ["32 bytes of little entropy", () => Uint8Array.from({ length: 32 }, (_, i) => i % 8)],
    ["a 43-letter pass phrase", () => "correcthorsebatterystaplecorrecthorsebatter"],
    ["a pass phrase shaped like base64", () => "correcthorsebatterystaplecorrecthorsebattero="],
    ["base64 without its padding", () => randomBytes(32).toString("base64").slice(0, 43)],
    ["base64 with spaces around it", () => ` ${randomBytes(32).toString("base64")}\n`],
    ["base64 with text before it", () => `key=${randomBytes(32).toString("base64")}`],
    ["base64url", () => randomBytes(32).toString("base64url")],
    ["a non-canonical last character", () => `${randomBytes(32).toString("base64").slice(0, 42)}B=`],
    ["16 bytes", () => randomBytes(16)],
    ["33 bytes", () => randomBytes(33)],
    ["the base64 of 24 bytes", () => randomBytes(24).toString("base64")]
  ]
  for (const [name, make] of refused) {
    it(`refuses ${name} with CacheError Encryption, without the key in it`, () => {
      const key = make()
      const reason = reasonOf(key)
      expect(reason).toMatch(/^CacheError Encryption: encryption key k1 /)
      const text = typeof key === "string" ? key.trim() : Buffer.from(key).toString("base64")
      if (text.length > 8) expect(reason).not.toContain(text.slice(0, 16))
    })
  }

  it.effect("the file layer fails with the typed error for such a key", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.provide(
        Effect.flatMap(TokenCache.TokenCache, (c) => c.list("AccessToken")),
        TokenCache.layerFile(fresh(), { encryption: { key: { id: "weak", key: Redacted.make(`${"A".repeat(43)}=`) } } })
      ))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined).toMatchObject({
        _tag: "CacheError",
        reason: "Encryption"
      })
    }))
})

describe("file ciphertext is bound to the file's path", () => {
  const key = { id: "k1", key: Redacted.make(randomBytes(32)) }
  const options = { encryption: { key } }
  const cipher = Either.getOrThrow(Crypto.make({ key }))

  it.effect("a file copied to another path is not read there (its tokens are not served)", () =>
    Effect.gen(function*() {
      const a = fresh()
      const b = fresh()
      yield* Effect.provide(put(accessToken("a")), TokenCache.layerFile(a, options))
      const text = fs.readFileSync(a, "utf8")
      expect(Either.isRight(cipher.decrypt(text, `effect-msal/file:${a}`))).toBe(true)
      fs.writeFileSync(b, text)
      const found = yield* Effect.provide(get("a"), TokenCache.layerFile(b, options))
      expect(Option.isNone(found)).toBe(true)
      expect(fs.readdirSync(nodePath.dirname(b)).some((f) => f.startsWith("tokens.json.corrupt-"))).toBe(true)
    }))

  it.effect("a file written under the earlier constant context is read once, then rewritten bound to its path", () =>
    Effect.gen(function*() {
      const path = fresh()
      const json = yield* Effect.provide(
        Effect.zipRight(put(accessToken("old")), TokenCache.serialize),
        TokenCache.layerMemory()
      )
      fs.writeFileSync(path, cipher.encrypt(json, "effect-msal/file"))
      const found = yield* Effect.provide(get("old"), TokenCache.layerFile(path, options))
      expect(Option.map(found, (t) => Redacted.value(t.secret))).toEqual(Option.some("secret-old"))
      const text = fs.readFileSync(path, "utf8")
      expect(Either.isLeft(cipher.decrypt(text, "effect-msal/file"))).toBe(true)
      expect(Either.isRight(cipher.decrypt(text, `effect-msal/file:${path}`))).toBe(true)
    }))

  it("encrypt/decrypt take any context (the Redis store passes the Redis key)", () => {
    const envelope = cipher.encrypt("{}", "msal:e:AccessToken:one")
    expect(cipher.decrypt(envelope, "msal:e:AccessToken:one")).toEqual(Either.right("{}"))
    expect(Either.isLeft(cipher.decrypt(envelope, "msal:e:AccessToken:two"))).toBe(true)
  })
})
