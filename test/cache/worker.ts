/**
 * A child process for the cross-process cache tests (bundled by processes.ts, run with `node`).
 *
 *   worker.ts write <store> <id> <count>   puts <count> tokens of its own, one modify each
 *   worker.ts flight <store> <log> <key>   withLock(key): if the token is missing, "fetch" it
 *                                          (append one line to <log>, pause, store it)
 *
 * <store> is `file:<path>` or `redis:<url>`. With BARRIER=<path> in the environment, the
 * worker prints "ready" once its cache is open and starts only when <path> exists, so that
 * all workers run at once.
 */
import { appendFileSync, existsSync } from "node:fs"
import type { Layer } from "effect"
import { Effect, Option } from "effect"
import * as CacheEntry from "../../src/CacheEntry.js"
import * as TokenCache from "../../src/TokenCache.js"
import { accessToken, liveFor } from "./entries.js"

const [mode, store, a, b] = process.argv.slice(2)
if (mode === undefined || store === undefined || a === undefined || b === undefined) {
  console.error("usage: worker.ts write|flight <store> <arg> <arg>")
  process.exit(2)
}

const layer: Layer.Layer<TokenCache.TokenCache, unknown> = store.startsWith("file:")
  ? TokenCache.layerFile(store.slice(5), { lockTimeout: "60 seconds" })
  : TokenCache.layerRedis({ url: store.slice(6), lockWait: "60 seconds" })

const token = (target: string) => accessToken(target, liveFor())

const write = (id: string, count: number) =>
  Effect.gen(function*() {
    const cache = yield* TokenCache.TokenCache
    for (let i = 0; i < count; i++) {
      yield* cache.modify([{ _tag: "Put", section: "AccessToken", entry: token(`w${id}-t${i}`) }])
    }
  })

const flight = (log: string, target: string) =>
  Effect.gen(function*() {
    const cache = yield* TokenCache.TokenCache
    const key = CacheEntry.keyOf("AccessToken", token(target))
    const lookupOrFetch = Effect.gen(function*() {
      const found = yield* cache.get("AccessToken", key)
      if (Option.isSome(found)) return "cache"
      appendFileSync(log, `${process.pid}\n`)
      yield* Effect.sleep("300 millis")
      yield* cache.modify([{ _tag: "Put", section: "AccessToken", entry: token(target) }])
      return "fetched"
    })
    const withLock = cache.withLock
    if (withLock === undefined) return yield* Effect.die("this store has no withLock")
    console.log(yield* withLock(key, lookupOrFetch))
  })

const barrier = Effect.gen(function*() {
  yield* TokenCache.TokenCache
  const path = process.env.BARRIER
  if (path === undefined) return
  console.log("ready")
  for (let i = 0; i < 3000 && !existsSync(path); i++) yield* Effect.sleep("10 millis")
})

const program = Effect.zipRight(barrier, mode === "write" ? write(a, Number(b)) : flight(a, b))

Effect.runPromise(Effect.provide(program, layer)).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e)
    process.exit(1)
  }
)
