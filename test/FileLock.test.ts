import type { ChildProcess } from "node:child_process"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { TokenCache } from "effect-msal"
import type * as FileLock from "../src/internal/fileLock.js"
import { acquire, withLock } from "../src/internal/fileLock.js"
import { accessToken, put, targetsInFile } from "./cache/entries.js"
import { bundled } from "./cache/processes.js"
import { tempFiles } from "./support/tempFiles.js"

const WORKER = fileURLToPath(new URL("./cache/lockWorker.ts", import.meta.url))
const { freshDir } = tempFiles("lock")

const STEPS: ReadonlyArray<FileLock.Step> = ["prepare", "list", "stat", "create", "verify", "cleanup", "release"]

/**
 * Three contenders take the lock once each. Contender `victim` stops before the `nth` time it
 * reaches `step`, and resumes when the other two are done (`resume: "done"`) or when a
 * contender enters the critical section for the `resume`-th time (and stays 20 ms), so that
 * the victim's step runs while another holds the lock; or after 150 ms if neither comes (the
 * victim itself holds the lock). Returns the most holders seen at once and who got it.
 */
const interleave = (lock: string, step: FileLock.Step, nth: number, victim: number, resume: "done" | 1 | 2) =>
  Effect.gen(function*() {
    let holders = 0
    let most = 0
    let entries = 0
    const others = yield* Deferred.make<void>()
    const entered = yield* Deferred.make<void>()
    let othersLeft = 2
    const contender = (id: number) => {
      let seen = 0
      const gate = resume === "done" ? others : entered
      const probe = (s: FileLock.Step) =>
        id === victim && s === step && ++seen === nth
          ? Effect.interruptible(Effect.timeout(Deferred.await(gate), "150 millis")).pipe(Effect.ignore)
          : Effect.yieldNow()
      const options = { timeoutMillis: 20_000, staleMillis: 60_000, probe }
      return withLock(
        lock,
        options,
        Effect.gen(function*() {
          most = Math.max(most, ++holders)
          if (++entries === resume) yield* Deferred.succeed(entered, undefined)
          yield* Effect.sleep(resume === "done" ? "3 millis" : "20 millis")
          holders--
        })
      ).pipe(
        Effect.ensuring(
          id === victim ?
            Effect.void :
            Effect.suspend(() => --othersLeft === 0 ? Deferred.succeed(others, undefined) : Effect.void)
        ),
        Effect.as(id)
      )
    }
    const done = yield* Effect.all([0, 1, 2].map(contender), { concurrency: "unbounded" })
    return { most, done }
  })

describe("the file lock is a lease: generations created with mkdir, judged by age", () => {
  it.live(
    "a delay at every step of acquire and release, in each of three contenders, never makes two holders",
    () =>
      Effect.gen(function*() {
        const outcomes: Array<string> = []
        for (const start of ["free", "stale"] as const) {
          for (const step of STEPS) {
            for (const nth of [1, 2]) {
              for (const victim of [0, 1, 2])
                for (const resume of ["done", 1, 2] as const) {
                  const lock = nodePath.join(freshDir(), "tokens.json.lock")
                  if (start === "stale") {
                    // a holder that died: generation 5, last renewed long ago
                    fs.mkdirSync(nodePath.join(lock, "5"), { recursive: true })
                    fs.utimesSync(
                      nodePath.join(lock, "5"),
                      new Date(Date.now() - 120_000),
                      new Date(Date.now() - 120_000)
                    )
                  }
                  const { done, most } = yield* interleave(lock, step, nth, victim, resume)
                  outcomes.push(`${start} ${step}#${nth} v${victim} ${resume}: most=${most} done=${done.join(",")}`)
                  // the lock is free afterwards: taken at once, and one generation is left
                  const release = yield* acquire(lock, { timeoutMillis: 0, staleMillis: 60_000 })
                  yield* release
                  expect(fs.readdirSync(lock).filter((f) => /^[0-9]+$/.test(f))).toHaveLength(1)
                }
            }
          }
        }
        expect(outcomes.filter((o) => !o.includes("most=1 done=0,1,2"))).toEqual([])
        expect(outcomes).toHaveLength(2 * STEPS.length * 2 * 3 * 3)
      }),
    300_000
  )

  it.live("a holder that outlives staleLockAfter keeps the lock by its heartbeat", () =>
    Effect.gen(function*() {
      const lock = nodePath.join(freshDir(), "tokens.json.lock")
      const options = { timeoutMillis: 1_000, staleMillis: 300 }
      const holding = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        withLock(lock, options, Effect.zipRight(Deferred.succeed(holding, undefined), Effect.sleep("1500 millis")))
      )
      yield* Deferred.await(holding)
      const exit = yield* Effect.exit(withLock(lock, options, Effect.void))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error.reason).toBe("Lock")
      yield* Fiber.join(holder)
      // released: taken at once
      yield* withLock(lock, { timeoutMillis: 0, staleMillis: 300 }, Effect.void)
    }), 30_000)

  it.live(
    "an empty lock file (an owner record never written) does not block: the write goes through at once",
    () =>
      Effect.gen(function*() {
        const path = nodePath.join(freshDir(), "tokens.json")
        fs.writeFileSync(`${path}.lock`, "")
        const started = Date.now()
        yield* Effect.provide(
          put(accessToken("a", { secret: "s" })),
          TokenCache.layerFile(path, { lockTimeout: "1 minute", staleLockAfter: "1 hour" })
        )
        expect(Date.now() - started).toBeLessThan(10_000)
        expect(fs.statSync(`${path}.lock`).isDirectory()).toBe(true)
      }),
    30_000
  )
})

/**
 * Starts a lock worker (bundled once by esbuild, then run by `node` alone; optionally under
 * `prefix`, e.g. unshare); resolves once it printed `line`.
 */
const startWorker = (
  args: ReadonlyArray<string>,
  line: string,
  prefix: ReadonlyArray<string> = [],
  env: Record<string, string> = {}
) =>
  bundled(WORKER).then((entry) =>
    new Promise<ChildProcess>((resolve, reject) => {
      const command = [...prefix, process.execPath, entry, ...args]
      const child = spawn(command[0]!, command.slice(1), {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      let err = ""
      const timer = setTimeout(() => reject(new Error(`worker not ready in 90 s: ${err}`)), 90_000)
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString()
        if (out.includes(line)) {
          clearTimeout(timer)
          resolve(child)
        }
      })
      child.stderr!.on("data", (d: Buffer) => (err += d.toString()))
      child.on("exit", (code) => {
        clearTimeout(timer)
        reject(new Error(`worker exited (${code}): ${err}`))
      })
    })
  )

const killAndWait = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGKILL")
  })

const unshareReason = (() => {
  const r = spawnSync("unshare", ["--pid", "--fork", "--kill-child", "true"], { encoding: "utf8" })
  return r.status === 0
    ? undefined
    : `unshare --pid is not available here: ${(r.stderr || r.error?.message || "").trim()}`
})()
if (unshareReason !== undefined) console.warn(`FileLock.test.ts: skipping the PID-namespace test: ${unshareReason}`)

describe("the file lock across processes", () => {
  it.skipIf(unshareReason !== undefined)(
    `a holder in another PID namespace keeps the lock while it lives; once killed, it is taken within staleLockAfter${
      unshareReason === undefined ? "" : ` (skipped: ${unshareReason})`
    }`,
    async () => {
      const lock = nodePath.join(freshDir(), "tokens.json.lock")
      const stale = 1000
      // fork 300 short processes first, so the holder's pid in its namespace is one no process has here
      const holder = await startWorker(["hold", lock, String(stale), "60000"], "held", [
        "unshare",
        "--pid",
        "--fork",
        "--kill-child",
        "sh",
        "-c",
        "i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done; exec \"$@\"",
        "sh"
      ])
      try {
        const exit = await Effect.runPromiseExit(
          withLock(lock, { timeoutMillis: 2500, staleMillis: stale }, Effect.void)
        )
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error.reason).toBe("Lock")
      } finally {
        await killAndWait(holder)
      }
      const killedAt = Date.now()
      await Effect.runPromise(withLock(lock, { timeoutMillis: 10_000, staleMillis: stale }, Effect.void))
      expect(Date.now() - killedAt).toBeLessThan(stale + 1500)
    },
    180_000
  )

  it(
    "4 processes, holders SIGKILLed at random: never two holders, no finished write lost, recovery within staleLockAfter",
    async () => {
      const dir = freshDir()
      const lock = nodePath.join(dir, "work.lock")
      const log = nodePath.join(dir, "log")
      const cache = nodePath.join(dir, "tokens.json")
      const stop = nodePath.join(dir, "stop")
      const barrier = nodePath.join(dir, "go")
      fs.writeFileSync(log, "")
      const stale = 2000
      const spawnOne = () =>
        startWorker(["stress", lock, String(stale), log, cache, stop], "ready", [], { BARRIER: barrier })
      // 4 at work, 3 more waiting to replace the killed (started now: a start can take seconds on a loaded machine)
      const workers = await Promise.all(Array.from({ length: 7 }, spawnOne))
      const active = workers.slice(0, 4)
      const spare = workers.slice(4)
      for (const w of spare) w.kill("SIGSTOP")
      fs.writeFileSync(barrier, "go")
      const kills: Array<{ at: number; holding: boolean }> = []
      const started = Date.now()
      try {
        while (Date.now() - started < 8000 && kills.length < 3) {
          await new Promise((r) => setTimeout(r, 700 + Math.random() * 800))
          // prefer a holder: the one named by the marker, if it is ours
          const marker = fs.existsSync(`${lock}.holder`) ? fs.readFileSync(`${lock}.holder`, "utf8") : ""
          const victim = active.find((w) => String(w.pid) === marker) ??
            active[Math.floor(Math.random() * active.length)]!
          await killAndWait(victim)
          const at = Date.now()
          const holding = fs.existsSync(`${lock}.holder`) &&
            fs.readFileSync(`${lock}.holder`, "utf8") === String(victim.pid)
          if (holding) fs.unlinkSync(`${lock}.holder`)
          kills.push({ at, holding })
          active.splice(active.indexOf(victim), 1)
          const next = spare.shift()
          if (next !== undefined) {
            next.kill("SIGCONT")
            active.push(next)
          }
        }
        // the workers keep going until the last killed holder's lock is taken over (or the
        // bound passes): stopping them at once left nobody to take it, and nothing to check
        const last = kills.at(-1)
        if (last?.holding === true) {
          const acquiredSince = () =>
            fs.readFileSync(log, "utf8").split("\n").some((l) =>
              l.startsWith("acq ") && Number(l.split(" ")[2]) > last.at
            )
          const deadline = last.at + stale + 3000
          while (!acquiredSince() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
        }
      } finally {
        fs.writeFileSync(stop, "")
        await Promise.all(active.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once("exit", r)))))
        await Promise.all([...active, ...spare].map(killAndWait))
      }
      const lines = fs.readFileSync(log, "utf8").trim().split("\n")
      expect(lines.filter((l) => l.startsWith("DOUBLE"))).toEqual([])
      const acquisitions = lines.filter((l) => l.startsWith("acq ")).map((l) => Number(l.split(" ")[2]))
      const done = lines.filter((l) => l.startsWith("done ")).map((l) => l.slice(5))
      const stored = Object.values(
        JSON.parse(fs.readFileSync(cache, "utf8")).AccessToken as Record<string, { target: string }>
      )
        .map((t) => t.target)
      expect(done.filter((t) => !stored.includes(t))).toEqual([])
      expect(kills.length).toBeGreaterThan(0)
      expect(done.length).toBeGreaterThan(10)
      // after a holder was killed, someone holds the lock again within staleLockAfter (+ polling and load)
      for (const kill of kills.filter((k) => k.holding)) {
        const next = acquisitions.find((t) => t > kill.at)
        expect(next === undefined ? "none" : next - kill.at).toBeLessThan(stale + 1500)
      }
      console.log(
        `lock stress: ${acquisitions.length} acquisitions, ${done.length} writes, kills ${
          JSON.stringify(kills.map((k) => k.holding ? "holder" : "other"))
        }`
      )
    },
    240_000
  )
})

const tmpfs = (() => {
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "effect-msal-tmpfs-"))
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { encoding: "utf8" })
  if (r.status === 0) return { dir, reason: undefined }
  fs.rmdirSync(dir)
  return { dir, reason: `mounting a tmpfs is not permitted here: ${(r.stderr || r.error?.message || "").trim()}` }
})()
afterAll(() => {
  if (tmpfs.reason !== undefined) return
  spawnSync("umount", [tmpfs.dir])
  fs.rmdirSync(tmpfs.dir)
})
if (tmpfs.reason !== undefined) console.warn(`FileLock.test.ts: skipping the full-disk test: ${tmpfs.reason}`)

describe("a full disk", () => {
  it.skipIf(tmpfs.reason !== undefined)(
    `a write on a full 64 KiB tmpfs fails with CacheError and leaves no lock behind: once space is freed, the next write goes through at once${
      tmpfs.reason === undefined ? "" : ` (skipped: ${tmpfs.reason})`
    }`,
    async () => {
      const path = nodePath.join(tmpfs.dir, "tokens.json")
      const filler = nodePath.join(tmpfs.dir, "filler")
      const fd = fs.openSync(filler, "w")
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(4096, 1))
      } catch (e) {
        expect((e as { code?: string }).code).toBe("ENOSPC")
      } finally {
        fs.closeSync(fd)
      }
      const options = { lockTimeout: "5 seconds", staleLockAfter: "1 hour" } as const
      const putIn = (target: string) =>
        Effect.provide(
          put(accessToken(target, { secret: "s" })),
          TokenCache.layerFile(path, options)
        )
      const full = await Effect.runPromiseExit(putIn("a"))
      expect(Exit.isFailure(full) && full.cause._tag === "Fail" ? full.cause.error : undefined).toMatchObject({
        _tag: "CacheError"
      })
      fs.unlinkSync(filler)
      const started = Date.now()
      await Effect.runPromise(putIn("b"))
      expect(Date.now() - started).toBeLessThan(3000)
      expect(targetsInFile(path)).toEqual(["b"])
      expect(fs.readdirSync(tmpfs.dir).filter((f) => f.includes(".tmp"))).toEqual([])
    },
    60_000
  )
})
