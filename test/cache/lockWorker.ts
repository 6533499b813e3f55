/**
 * A child process for the file-lock tests (bundled by processes.ts, run with `node`).
 *
 *   lockWorker.ts hold <dir> <staleMs> <holdMs>
 *       takes the lock, prints "held", keeps it (heartbeat running) for <holdMs>, releases it
 *   lockWorker.ts stress <dir> <staleMs> <log> <cache> <stop>
 *       until the file <stop> exists: under the lock, creates <dir>.holder with O_EXCL (a
 *       failure means two holders: "DOUBLE" is logged), logs "acq <pid> <ms>", removes it;
 *       then puts a token of its own in the file cache <cache> and logs "done <target>"
 *
 * With BARRIER=<path>, prints "ready" and starts once <path> exists.
 */
import { appendFileSync, existsSync, openSync, closeSync, readFileSync, unlinkSync, writeSync } from "node:fs"
import { Effect } from "effect"
import * as FileLock from "../../src/internal/fileLock.js"
import * as TokenCache from "../../src/TokenCache.js"
import { accessToken, liveFor, put } from "./entries.js"

const [mode, dir, staleArg, a, b, c] = process.argv.slice(2)
if (mode === undefined || dir === undefined || staleArg === undefined || a === undefined) {
  console.error("usage: lockWorker.ts hold|stress <dir> <staleMs> ...")
  process.exit(2)
}
const options: FileLock.LockOptions = { timeoutMillis: 60_000, staleMillis: Number(staleArg) }

const barrier = Effect.gen(function*() {
  const path = process.env.BARRIER
  if (path === undefined) return
  console.log("ready")
  for (let i = 0; i < 6000 && !existsSync(path); i++) yield* Effect.sleep("10 millis")
})

const hold = (holdMs: number) =>
  FileLock.withLock(dir, options, Effect.zipRight(Effect.sync(() => console.log("held")), Effect.sleep(holdMs)))

const critical = (log: string) =>
  Effect.gen(function*() {
    const marker = `${dir}.holder`
    let fd: number
    try {
      fd = openSync(marker, "wx")
    } catch {
      appendFileSync(log, `DOUBLE ${process.pid} ${readFileSync(marker, "utf8")}\n`)
      return
    }
    writeSync(fd, String(process.pid))
    closeSync(fd)
    appendFileSync(log, `acq ${process.pid} ${Date.now()}\n`)
    yield* Effect.sleep(`${1 + Math.floor(Math.random() * 5)} millis`)
    unlinkSync(marker)
  })

const stress = (log: string, cache: string, stop: string) =>
  Effect.gen(function*() {
    const layer = TokenCache.layerFile(cache, {
      staleLockAfter: `${options.staleMillis} millis`,
      lockTimeout: "60 seconds"
    })
    for (let i = 0; !existsSync(stop); i++) {
      yield* FileLock.withLock(dir, options, critical(log))
      const target = `p${process.pid}-${i}`
      yield* Effect.provide(put(accessToken(target, liveFor())), layer)
      appendFileSync(log, `done ${target}\n`)
    }
  })

const program = Effect.zipRight(
  barrier,
  mode === "hold" ? hold(Number(a)) : stress(a, b ?? "", c ?? "")
)

Effect.runPromise(program).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e)
    process.exit(1)
  }
)
