import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Logger, Option, Redacted } from "effect"
import { TokenCache } from "effect-msal"
import { accessToken, keyOf, put, targets, targetsInFile } from "./cache/entries.js"
import { runWorkers, startOneFetch } from "./cache/processes.js"
import { tempFiles } from "./support/tempFiles.js"

const { freshFile } = tempFiles("file")
const token = (target: string, secret?: string) => accessToken(target, { secret })

// The worker processes start when this file is collected, so that they boot (seconds of CPU on
// a loaded machine) while the in-process tests run; each set is released at once by its own
// barrier, and the tests below wait for them. They end on their own; the file waits for them.
const WRITES = 15
const written = freshFile()
const writing = runWorkers(
  [0, 1, 2, 3].map((id) => ["write", `file:${written}`, String(id), String(WRITES)]),
  `${written}.go`
)
writing.catch(() => undefined) // reported by the test
const fetchedOnce = freshFile()
const oneFetch = startOneFetch(`file:${fetchedOnce}`, nodePath.dirname(fetchedOnce), "cold")
afterAll(() => Promise.allSettled([writing, oneFetch.ended]))

/** Runs `effect` with a file cache at `path` opened for it (one "process"). */
const withFile = <A, E>(
  path: string,
  effect: Effect.Effect<A, E, TokenCache.TokenCache>,
  options?: TokenCache.FileOptions
) => Effect.provide(effect, TokenCache.layerFile(path, options))

const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => lines.push(`${logLevel.label} ${JSON.stringify(message)}`))
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("file cache", () => {
  it.effect("loads the file at start, in msal-node's or MSAL Python's format", () =>
    Effect.gen(function*() {
      const path = freshFile()
      fs.writeFileSync(
        path,
        yield* Effect.provide(
          Effect.zipRight(put(token("a")), TokenCache.serializeWith({ format: "msal-python" })),
          TokenCache.layerMemory()
        )
      )
      const found = yield* withFile(
        path,
        Effect.flatMap(TokenCache.TokenCache, (c) => c.get("AccessToken", keyOf("a")))
      )
      expect(Option.map(found, (t) => Redacted.value(t.secret))).toEqual(Option.some("secret-a"))
    }))

  it.effect("writes only after a change, atomically, with mode 0600", () =>
    Effect.gen(function*() {
      const path = freshFile()
      yield* withFile(
        path,
        Effect.gen(function*() {
          const cache = yield* TokenCache.TokenCache
          yield* cache.get("AccessToken", keyOf("a"))
          yield* cache.list("AccessToken")
          yield* cache.modify([])
          expect(fs.existsSync(path)).toBe(false)
          yield* put(token("a"))
        })
      )
      expect(fs.statSync(path).mode & 0o777).toBe(0o600)
      expect(targetsInFile(path)).toEqual(["a"])
      // no temporary file; the lock is a directory left in place (its holdings are judged by age)
      expect(fs.readdirSync(nodePath.dirname(path)).sort()).toEqual(["tokens.json", "tokens.json.lock"])
      const before = fs.statSync(path, { bigint: true })
      yield* withFile(
        path,
        Effect.gen(function*() {
          const cache = yield* TokenCache.TokenCache
          yield* cache.get("AccessToken", keyOf("a"))
          yield* cache.list("AccessToken")
          yield* cache.snapshot
        })
      )
      const after = fs.statSync(path, { bigint: true })
      expect([after.ino, after.mtimeNs]).toEqual([before.ino, before.mtimeNs])
    }))

  it.effect("read-modify-write: two caches on one file lose none of each other's tokens", () =>
    Effect.gen(function*() {
      const path = freshFile()
      const a = yield* Layer.build(TokenCache.layerFile(path)).pipe(Effect.map(Context.get(TokenCache.TokenCache)))
      const b = yield* Layer.build(TokenCache.layerFile(path)).pipe(Effect.map(Context.get(TokenCache.TokenCache)))
      yield* a.modify([{ _tag: "Put", section: "AccessToken", entry: token("from-a") }])
      yield* b.modify([{ _tag: "Put", section: "AccessToken", entry: token("from-b") }])
      yield* a.modify([{ _tag: "Remove", section: "AccessToken", key: keyOf("nothing") }])
      expect(targetsInFile(path)).toEqual(["from-a", "from-b"])
      // a miss makes a look at the file again
      const seen = yield* a.get("AccessToken", keyOf("from-b"))
      expect(Option.isSome(seen)).toBe(true)
    }).pipe(Effect.scoped))

  it.effect("a truncated file is moved aside, logged, and replaced by an empty cache", () =>
    Effect.gen(function*() {
      const path = freshFile()
      const full = yield* Effect.provide(
        Effect.zipRight(put(token("a")), TokenCache.serialize),
        TokenCache.layerMemory()
      )
      const truncated = full.slice(0, Math.floor(full.length / 2))
      fs.writeFileSync(path, truncated)
      const logs = captureLogs()
      const seen = yield* withFile(path, targets).pipe(Effect.provide(logs.layer))
      expect(seen).toEqual([])
      const aside = fs.readdirSync(nodePath.dirname(path)).filter((f) => f.startsWith("tokens.json.corrupt-"))
      expect(aside).toHaveLength(1)
      expect(fs.readFileSync(nodePath.join(nodePath.dirname(path), aside[0]!), "utf8")).toBe(truncated)
      expect(logs.lines.some((l) => l.startsWith("WARN") && l.includes("moved aside"))).toBe(true)
      expect(logs.lines.join("\n")).not.toContain("secret-a")
      yield* withFile(path, put(token("b")))
      expect(targetsInFile(path)).toEqual(["b"])
    }))

  it.live("a lock older than staleLockAfter is taken over even if its owner lives", () =>
    Effect.gen(function*() {
      const path = freshFile()
      fs.writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: os.hostname(), nonce: "old", at: 0 }))
      const old = new Date(Date.now() - 120_000)
      fs.utimesSync(`${path}.lock`, old, old)
      yield* withFile(path, put(token("a")), { lockTimeout: "1 minute", staleLockAfter: "1 minute" })
      expect(targetsInFile(path)).toEqual(["a"])
    }))

  it.live("a live lock is waited for, boundedly, then the write fails with CacheError", () =>
    Effect.gen(function*() {
      const path = freshFile()
      fs.writeFileSync(
        `${path}.lock`,
        JSON.stringify({ pid: process.ppid, host: os.hostname(), nonce: "live", at: Date.now() })
      )
      const exit = yield* Effect.exit(withFile(path, put(token("a")), { lockTimeout: "200 millis" }))
      const error = failureOf(exit)
      expect(error?._tag).toBe("CacheError")
      expect(error?._tag === "CacheError" && error.reason).toBe("Lock")
      expect(fs.existsSync(path)).toBe(false)
    }))

  it.live("4 processes writing concurrently lose no token", () =>
    Effect.gen(function*() {
      const path = written
      const count = WRITES
      const outcomes = yield* Effect.promise(() => writing)
      expect(outcomes.map((o) => [o.code, o.stderr])).toEqual(outcomes.map(() => [0, ""]))
      const expected = [0, 1, 2, 3].flatMap((id) => Array.from({ length: count }, (_, i) => `w${id}-t${i}`)).sort()
      expect(targetsInFile(path)).toEqual(expected)
      expect(
        fs.readdirSync(nodePath.dirname(path)).filter((f) =>
          !["tokens.json", "tokens.json.go", "tokens.json.lock"].includes(f)
        )
      ).toEqual([])
    }), 120_000)

  it.live("withLock: 4 processes missing one token fetch it once", () => Effect.promise(oneFetch.check), 120_000)
})

const key = (id: string) => ({ id, key: Redacted.make(randomBytes(32)) })

describe("file cache encryption", () => {
  it.effect("the file holds no token in clear and reads back with the key, also after rotation", () =>
    Effect.gen(function*() {
      const path = freshFile()
      const k1 = key("k1")
      const k2 = key("k2")
      yield* withFile(path, put(token("a", "top-secret-value")), { encryption: { key: k1 } })
      const text = fs.readFileSync(path, "utf8")
      expect(text).not.toContain("top-secret-value")
      expect(JSON.parse(text)).toMatchObject({ alg: "aes-256-gcm", kid: "k1" })
      expect(yield* withFile(path, targets, { encryption: { key: k1 } })).toEqual(["a"])
      // rotation: the new key writes, the old one still reads
      yield* withFile(path, put(token("b")), { encryption: { key: k2, previousKeys: [k1] } })
      expect(JSON.parse(fs.readFileSync(path, "utf8")).kid).toBe("k2")
      expect(yield* withFile(path, targets, { encryption: { key: k2 } })).toEqual(["a", "b"])
    }))

  it.effect("with migrateFromPlaintext, a file written in clear is read, and encrypted by the next write", () =>
    Effect.gen(function*() {
      const path = freshFile()
      const k1 = key("k1")
      yield* withFile(path, put(token("a", "clear-value")))
      expect(fs.readFileSync(path, "utf8")).toContain("clear-value")
      yield* withFile(path, put(token("b")), { encryption: { key: k1, migrateFromPlaintext: true } })
      expect(fs.readFileSync(path, "utf8")).not.toContain("clear-value")
      expect(yield* withFile(path, targets, { encryption: { key: k1 } })).toEqual(["a", "b"])
    }))

  it.effect("without it, a clear file is not trusted: moved aside, and none of its tokens served", () =>
    Effect.gen(function*() {
      const path = freshFile()
      yield* withFile(path, put(token("a", "planted-value")))
      expect(yield* withFile(path, targets, { encryption: { key: key("k1") } })).toEqual([])
      expect(fs.readdirSync(nodePath.dirname(path)).some((f) => f.includes(".corrupt-"))).toBe(true)
    }))

  it.effect("a key that was not given fails with CacheError and leaves the file alone", () =>
    Effect.gen(function*() {
      const path = freshFile()
      yield* withFile(path, put(token("a")), { encryption: { key: key("k1") } })
      const before = fs.readFileSync(path, "utf8")
      const exit = yield* Effect.exit(withFile(path, targets, { encryption: { key: key("other") } }))
      const error = failureOf(exit)
      expect(error?._tag === "CacheError" && error.reason).toBe("Encryption")
      expect(fs.readFileSync(path, "utf8")).toBe(before)
    }))

  it.effect("a tampered file is treated as damaged: moved aside", () =>
    Effect.gen(function*() {
      const path = freshFile()
      const k1 = key("k1")
      yield* withFile(path, put(token("a")), { encryption: { key: k1 } })
      const envelope = JSON.parse(fs.readFileSync(path, "utf8"))
      const ct = Buffer.from(envelope.ct, "base64")
      ct[0] = ct[0]! ^ 1
      fs.writeFileSync(path, JSON.stringify({ ...envelope, ct: ct.toString("base64") }))
      const logs = captureLogs()
      expect(yield* withFile(path, targets, { encryption: { key: k1 } }).pipe(Effect.provide(logs.layer))).toEqual([])
      expect(fs.readdirSync(nodePath.dirname(path)).some((f) => f.includes(".corrupt-"))).toBe(true)
    }))

  it.effect("a key of the wrong size is a CacheError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(withFile(freshFile(), targets, {
        encryption: { key: { id: "short", key: Redacted.make(randomBytes(16)) } }
      }))
      expect(failureOf(exit)?._tag).toBe("CacheError")
    }))
})
