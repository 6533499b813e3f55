import type { ChildProcess } from "node:child_process"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Exit, Fiber } from "effect"
import { TokenCache } from "effect-msal"
import type * as FileLock from "../src/internal/fileLock.js"
import { acquire, withLock } from "../src/internal/fileLock.js"
import { accessToken, put, targetsInFile } from "./cache/entries.js"
import { bundled } from "./cache/processes.js"
import { tempFiles } from "./support/tempFiles.js"
import { eventDriven } from "./support/virtualTime.js"

const WORKER = fileURLToPath(new URL("./cache/lockWorker.ts", import.meta.url))
const { freshDir } = tempFiles("lock")

const STEPS: ReadonlyArray<FileLock.Step> = ["prepare", "list", "stat", "create", "verify", "cleanup", "release"]

/**
 * Three contenders take the lock once each. Contender `victim` stops before the `nth` time it
 * reaches `step`, and resumes when the other two are done (`resume: "done"`) or when a
 * contender enters the critical section for the `resume`-th time (and stays 20 ms), so that
 * the victim's step runs while another holds the lock; or after 150 ms if neither comes (the
 * victim itself holds the lock). Returns the most holders seen at once and who got it.
 *
 * Run under `eventDriven`: these waits, and the lock's own back-off between attempts, are on
 * the TestClock, which moves on only while no file-system step is in flight.
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

/**
 * One scenario of `interleave` on a lock of its own, starting free or after a holder that died
 * (generation 5, last renewed long ago). Afterwards the lock is free (taken at once) and one
 * generation is left. Returns what happened, and how long it took on the (virtual) clock.
 */
const scenario = (start: "free" | "stale", step: FileLock.Step, nth: number, victim: number, resume: "done" | 1 | 2) =>
  Effect.gen(function*() {
    const began = yield* Clock.currentTimeMillis
    const lock = nodePath.join(freshDir(), "tokens.json.lock")
    if (start === "stale") {
      const old = new Date(Date.now() - 120_000)
      fs.mkdirSync(nodePath.join(lock, "5"), { recursive: true })
      fs.utimesSync(nodePath.join(lock, "5"), old, old)
    }
    const { done, most } = yield* interleave(lock, step, nth, victim, resume)
    const free = yield* Effect.either(acquire(lock, { timeoutMillis: 0, staleMillis: 60_000 }))
    if (free._tag === "Right") yield* free.right
    const left = fs.readdirSync(lock).filter((f) => /^[0-9]+$/.test(f)).length
    return {
      outcome: `${start} ${step}#${nth} v${victim} ${resume}: most=${most} done=${done} free=${
        free._tag === "Right"
      } left=${left}`,
      took: (yield* Clock.currentTimeMillis) - began
    }
  })

describe("the file lock is a lease: generations created with mkdir, judged by age", () => {
  it.effect(
    "a delay at every step of acquire and release, in each of three contenders, never makes two holders",
    () =>
      // All scenarios run at once, each on a lock of its own, on a clock that moves on only when
      // no file-system step is in flight: the waits (back-off, holding, the victim's) take no
      // real time
      eventDriven(
        Effect.gen(function*() {
          const runs = yield* Effect.all(
            (["free", "stale"] as const).flatMap((start) =>
              STEPS.flatMap((step) =>
                [1, 2].flatMap((nth) =>
                  [0, 1, 2].flatMap((victim) =>
                    (["done", 1, 2] as const).map((resume) => scenario(start, step, nth, victim, resume))
                  )
                )
              )
            ),
            { concurrency: "unbounded" }
          )
          const outcomes = runs.map((r) => r.outcome)
          expect(outcomes.filter((o) => !o.endsWith("most=1 done=0,1,2 free=true left=1"))).toEqual([])
          expect(outcomes).toHaveLength(2 * STEPS.length * 2 * 3 * 3)
          // and none waited for a timeout (about 400 ms of virtual time is the most seen)
          expect(runs.filter((r) => r.took >= 2_000).map((r) => `${r.outcome} took=${r.took}`)).toEqual([])
        }),
        "20 seconds"
      ),
    120_000
  )

  it.live("a holder that outlives staleLockAfter keeps the lock by its heartbeat", () =>
    Effect.gen(function*() {
      const lock = nodePath.join(freshDir(), "tokens.json.lock")
      // (with a 300 ms lease this failed once on the loaded 2-core machine, while this file's
      // worker processes booted)
      const options = { timeoutMillis: 1_500, staleMillis: 500 }
      const holding = yield* Deferred.make<void>()
      const done = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        withLock(lock, options, Effect.zipRight(Deferred.succeed(holding, undefined), Deferred.await(done)))
      )
      yield* Deferred.await(holding)
      // still held after waiting three times staleLockAfter
      const exit = yield* Effect.exit(withLock(lock, options, Effect.void))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error.reason).toBe("Lock")
      yield* Deferred.succeed(done, undefined)
      yield* Fiber.join(holder)
      // released: taken at once
      yield* withLock(lock, { timeoutMillis: 0, staleMillis: 500 }, Effect.void)
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

/** Every worker process this file started: those still running are killed after its tests. */
const children = new Set<ChildProcess>()

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
      children.add(child)
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

/**
 * Starts `start` now, when the file is collected, so that its processes boot (seconds of CPU on
 * a loaded machine) while the in-process tests above run; the test that needs them awaits it.
 */
const early = <A>(start: () => Promise<A>): Promise<A> => {
  const started = start()
  started.catch(() => undefined) // reported by the test that awaits it
  return started
}

const HOLDER_STALE = 1000
/**
 * The holder in its own PID namespace: pid 1 there (unshare forks it, sh execs node), and here pid
 * 1 is init, which never dies: a lock judged by its holder's pid would never be taken over.
 */
const namespaced = unshareReason !== undefined ? undefined : early(() => {
  const lock = nodePath.join(freshDir(), "tokens.json.lock")
  return startWorker(["hold", lock, String(HOLDER_STALE), "60000"], "held", [
    "unshare",
    "--pid",
    "--fork",
    "--kill-child",
    "sh",
    "-c",
    "exec \"$@\"",
    "sh"
  ]).then((holder) => ({ lock, holder }))
})

const STRESS_STALE = 1000
/** The stress test's workers: 4 at work, 3 more to replace the killed; all wait at the barrier. */
const stressing = early(() => {
  const dir = freshDir()
  const paths = {
    lock: nodePath.join(dir, "work.lock"),
    log: nodePath.join(dir, "log"),
    cache: nodePath.join(dir, "tokens.json"),
    stop: nodePath.join(dir, "stop"),
    barrier: nodePath.join(dir, "go")
  }
  fs.writeFileSync(paths.log, "")
  const spawnOne = () =>
    startWorker(["stress", paths.lock, String(STRESS_STALE), paths.log, paths.cache, paths.stop], "ready", [], {
      BARRIER: paths.barrier
    })
  return Promise.all(Array.from({ length: 7 }, spawnOne)).then((workers) => ({ ...paths, workers }))
})

afterAll(() => Promise.all([...children].map(killAndWait)))

// The two tests run at the same time: each has its own processes and lock, and most of each is
// waiting (for staleLockAfter to pass, for a takeover)
describe.concurrent("the file lock across processes", () => {
  it.skipIf(unshareReason !== undefined)(
    `a holder in another PID namespace keeps the lock while it lives; once killed, it is taken within staleLockAfter${
      unshareReason === undefined ? "" : ` (skipped: ${unshareReason})`
    }`,
    async () => {
      const { holder, lock } = await namespaced!
      const stale = HOLDER_STALE
      try {
        const exit = await Effect.runPromiseExit(
          withLock(lock, { timeoutMillis: 2 * stale, staleMillis: stale }, Effect.void)
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
      const { barrier, cache, lock, log, stop, workers } = await stressing
      const stale = STRESS_STALE
      const stress = makeStress(lock, log, workers.slice(0, 4), workers.slice(4))
      fs.writeFileSync(barrier, "go")
      try {
        // two kills at random points of the work (each after a few more lines in the log; the
        // one named by the holder marker, if any, else any), then one of a holder caught in
        // its critical section; the workers keep going until that lock is taken over (bounded),
        // and then for 10 more writes
        for (let k = 0; k < 2; k++) {
          await stress.progress(2 + Math.floor(Math.random() * 8))
          await stress.killAny()
        }
        await stress.killHolder()
        await stress.takenOverAndDone(stale + 3000)
      } finally {
        fs.writeFileSync(stop, "")
        await stress.stopAll()
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
      expect(stress.kills.length).toBe(3)
      expect(stress.kills.some((k) => k.holding)).toBe(true)
      expect(done.length).toBeGreaterThan(10)
      // after a holder was killed, someone holds the lock again within staleLockAfter (+ polling and load)
      for (const kill of stress.kills.filter((k) => k.holding)) {
        const next = acquisitions.find((t) => t > kill.at)
        expect(next === undefined ? "none" : next - kill.at).toBeLessThan(stale + 1500)
      }
      console.log(
        `lock stress: ${acquisitions.length} acquisitions, ${done.length} writes, kills ${
          JSON.stringify(stress.kills.map((k) => k.holding ? "holder" : "other"))
        }`
      )
    },
    120_000
  )
})

/** Polls `condition` every 5 ms until it holds; throws after `withinMs`. */
const pollUntil = async (what: string, condition: () => boolean, withinMs: number) => {
  const deadline = Date.now() + withinMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The state of process `pid` from /proc ("T" once stopped); undefined where there is no /proc. */
const processState = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").charAt(0)
  } catch {
    return undefined
  }
}

/**
 * The killing side of the stress test: `active` workers, `spare` ones (SIGSTOPped here until
 * one replaces a killed worker), the kills made and whether each hit the holder of `lock`.
 */
const makeStress = (lock: string, log: string, active: Array<ChildProcess>, spare: Array<ChildProcess>) => {
  const all = [...active, ...spare]
  for (const w of spare) w.kill("SIGSTOP")
  const kills: Array<{ at: number; holding: boolean }> = []
  const marker = () => fs.existsSync(`${lock}.holder`) ? fs.readFileSync(`${lock}.holder`, "utf8") : ""
  const logLines = () => fs.readFileSync(log, "utf8").split("\n").filter((l) => l !== "")
  /** Kills `victim`; it held the lock when the marker still names it once it is dead. */
  const kill = async (victim: ChildProcess) => {
    await killAndWait(victim)
    const at = Date.now()
    const holding = marker() === String(victim.pid)
    if (holding) fs.unlinkSync(`${lock}.holder`)
    kills.push({ at, holding })
    active.splice(active.indexOf(victim), 1)
    const next = spare.shift()
    if (next !== undefined) {
      next.kill("SIGCONT")
      active.push(next)
    }
  }
  return {
    kills,
    /** Waits for `lines` more lines in the log. */
    progress: (lines: number) => {
      const target = logLines().length + lines
      return pollUntil(`${lines} more lines in the log`, () => logLines().length >= target, 10_000)
    },
    /** Kills the worker named by the marker if it is ours, else one at random. */
    killAny: () =>
      kill(active.find((w) => String(w.pid) === marker()) ?? active[Math.floor(Math.random() * active.length)]!),
    /** Stops a worker the marker names, and kills it if the marker still names it once it stopped. */
    killHolder: async () => {
      const deadline = Date.now() + 15_000
      for (;;) {
        let victim: ChildProcess | undefined
        await pollUntil("a worker in its critical section", () => {
          victim = active.find((w) => String(w.pid) === marker())
          return victim !== undefined || Date.now() > deadline
        }, 20_000)
        if (victim === undefined) throw new Error("no holder caught in its critical section within 15 s")
        victim.kill("SIGSTOP")
        const pid = victim.pid!
        // (where there is no /proc, or it does not stop in time, the check after its death decides)
        await pollUntil("the worker stopped", () => ["T", "t", undefined].includes(processState(pid)), 2000)
          .catch(() => undefined)
        if (marker() === String(pid)) return kill(victim)
        victim.kill("SIGCONT")
      }
    },
    /**
     * Waits until the last killed holder's lock is taken again (up to `withinMs`: the test's
     * check reports it), then for 10 more writes, so that writes after every kill are checked.
     */
    takenOverAndDone: async (withinMs: number) => {
      const last = kills.filter((k) => k.holding).at(-1)
      if (last !== undefined) {
        await pollUntil(
          "the lock taken over",
          () => logLines().some((l) => l.startsWith("acq ") && Number(l.split(" ")[2]) > last.at),
          withinMs
        ).catch(() => undefined)
      }
      const writes = () => logLines().filter((l) => l.startsWith("done ")).length
      const target = writes() + 10
      await pollUntil("10 more writes", () => writes() >= target, 30_000)
    },
    /** Waits for the active workers to end (the stop file exists), then kills every one left. */
    stopAll: async () => {
      await Promise.all(active.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once("exit", r)))))
      await Promise.all(all.map(killAndWait))
    }
  }
}

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
