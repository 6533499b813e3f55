import * as fs from "node:fs"
import * as nodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, Redacted, TestClock } from "effect"
import { TokenCache } from "effect-msal"
import { accessToken, keyOf, putTokens, targetsInFile } from "./cache/entries.js"
import { tempFiles } from "./support/tempFiles.js"

const { freshFile: fresh } = tempFiles("costs")
const token = (target: string, secret?: string) => accessToken(target, { secret })

const open = (path: string, options?: TokenCache.FileOptions) =>
  Layer.build(TokenCache.layerFile(path, options)).pipe(Effect.map(Context.get(TokenCache.TokenCache)))
const secretOf = (cache: TokenCache.Service, target: string) =>
  cache.get("AccessToken", keyOf(target)).pipe(
    Effect.map(Option.map((t) => Redacted.value(t.secret)))
  )
describe("the file cache's costs", () => {
  it.effect("a write does not read the file again when it is unchanged since our last read or write (same inode, size and mtime)", () =>
    Effect.gen(function*() {
      const path = fresh()
      // written by another program, with a whole-second mtime (which utimes sets exactly)
      fs.writeFileSync(
        path,
        yield* Effect.provide(
          Effect.zipRight(
            Effect.flatMap(TokenCache.TokenCache, (c) => putTokens(c, token("a"))),
            TokenCache.serialize
          ),
          TokenCache.layerMemory()
        )
      )
      fs.utimesSync(path, 1_700_000_000, 1_700_000_000)
      const cache = yield* open(path)
      // the same byte count, inode and mtime, but content that does not parse: reading it would move it aside
      const text = fs.readFileSync(path, "utf8")
      const fd = fs.openSync(path, "r+")
      fs.writeSync(fd, "#".repeat(Buffer.byteLength(text)), 0)
      fs.closeSync(fd)
      fs.utimesSync(path, 1_700_000_000, 1_700_000_000)
      yield* putTokens(cache, token("b"))
      expect(targetsInFile(path)).toEqual(["a", "b"])
      expect(fs.readdirSync(nodePath.dirname(path)).filter((f) => f.includes(".corrupt-"))).toEqual([])
    }).pipe(Effect.scoped))

  it.effect("a write reads the file first when another process replaced it", () =>
    Effect.gen(function*() {
      const path = fresh()
      const a = yield* open(path)
      const b = yield* open(path)
      yield* putTokens(a, token("a"))
      yield* putTokens(b, token("b"))
      yield* putTokens(a, token("c"))
      expect(targetsInFile(path)).toEqual(["a", "b", "c"])
    }).pipe(Effect.scoped))

  it.effect("another process's write shows on a hit after recheckInterval (default 1 s), not before", () =>
    Effect.gen(function*() {
      const path = fresh()
      const reader = yield* open(path)
      const writer = yield* open(path)
      yield* putTokens(writer, token("t", "v1"))
      expect(yield* secretOf(reader, "t")).toEqual(Option.some("v1")) // a miss reads the file
      yield* putTokens(writer, token("t", "v2"))
      yield* TestClock.adjust("999 millis")
      expect(yield* secretOf(reader, "t")).toEqual(Option.some("v1"))
      yield* TestClock.adjust("1 millis")
      expect(yield* secretOf(reader, "t")).toEqual(Option.some("v2"))
    }).pipe(Effect.scoped))

  it.effect("recheckInterval is an option: 5 seconds", () =>
    Effect.gen(function*() {
      const path = fresh()
      const reader = yield* open(path, { recheckInterval: "5 seconds" })
      const writer = yield* open(path)
      yield* putTokens(writer, token("t", "v1"))
      expect(yield* secretOf(reader, "t")).toEqual(Option.some("v1"))
      yield* putTokens(writer, token("t", "v2"))
      yield* TestClock.adjust("4 seconds")
      expect(yield* secretOf(reader, "t")).toEqual(Option.some("v1"))
      yield* TestClock.adjust("1 second")
      expect(yield* secretOf(reader, "t")).toEqual(Option.some("v2"))
    }).pipe(Effect.scoped))

  it.effect("recheckInterval 0: every hit checks the file", () =>
    Effect.gen(function*() {
      const path = fresh()
      const reader = yield* open(path, { recheckInterval: 0 })
      const writer = yield* open(path)
      yield* putTokens(writer, token("t", "v1"))
      expect(yield* secretOf(reader, "t")).toEqual(Option.some("v1"))
      yield* putTokens(writer, token("t", "v2"))
      expect(yield* secretOf(reader, "t")).toEqual(Option.some("v2"))
    }).pipe(Effect.scoped))
})
