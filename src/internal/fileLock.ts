import * as fs from "node:fs/promises"
import * as nodePath from "node:path"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Predicate from "effect/Predicate"
import { CacheError } from "../MsalError.js"

/**
 * A cross-process lock that is a lease: judged by its age, renewed by a heartbeat, never by a
 * process id (a pid means nothing in another PID namespace or on another host).
 *
 * The lock is a directory. Each holding is a numbered sub-directory, a generation, created
 * with `mkdir` (atomic: of two `mkdir`s of one name, one fails with EEXIST). The highest
 * generation is the current holding:
 *
 *  - it is held while its mtime is younger than `staleMillis` (the holder's heartbeat touches
 *    it every `staleMillis / 4`); release sets its mtime to 0, which makes it stale at once;
 *  - to acquire, a process reads the highest generation `g`; when it is stale (released, or
 *    its holder died), it creates `g + 1`. Only one contender can create `g + 1`, so taking
 *    over a stale lock needs no removal and has no race between two takers;
 *  - the creator then lists the directory again: a higher generation means its view was old
 *    (`g + 1` had been created, released and cleaned up already), so it removes its own and
 *    tries again. Otherwise it holds the lock, and removes the generations below its own. The
 *    highest generation is never removed, so the numbers only grow.
 *
 * Nothing is written into the lock: a full disk or a crash cannot leave a half-written owner
 * record. A holder paused for longer than `staleMillis` (its heartbeat stopped) loses the
 * lease; that is the one assumption, as with every lease.
 * @internal
 */
export interface LockOptions {
  readonly timeoutMillis: number
  readonly staleMillis: number
  /** For tests: runs before each file-system step of acquire, heartbeat and release. */
  readonly probe?: ((step: Step) => Effect.Effect<void>) | undefined
}

/** The file-system steps of the lock, in order. @internal */
export type Step = "prepare" | "list" | "stat" | "create" | "verify" | "cleanup" | "heartbeat" | "release"

const codeOf = (e: unknown): string | undefined =>
  Predicate.hasProperty(e, "code") && typeof e.code === "string" ? e.code : undefined

/** @internal */
export const ioError = (what: string, path: string) => (e: unknown): CacheError =>
  new CacheError({
    reason: "Io",
    description: `${what} ${path}: ${codeOf(e) ?? (e instanceof Error ? e.message : "failed")}`
  })

const generations = (names: ReadonlyArray<string>): Array<number> =>
  names.filter((n) => /^[0-9]{1,15}$/.test(n)).map(Number)

const highest = (gens: ReadonlyArray<number>) => gens.reduce((a, b) => Math.max(a, b), 0)

type Attempt =
  | { readonly _tag: "Acquired"; readonly generation: number }
  | { readonly _tag: "Busy" }
  | { readonly _tag: "Retry" }

/**
 * Makes the lock directory. A file in its place was left by an earlier version of this lock
 * (a file holding its owner's pid): an empty one (its owner record never written) is removed
 * at once, another once it is older than `staleMillis`.
 */
const prepare = async (dir: string, root: string, staleMillis: number): Promise<"ready" | "busy"> => {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 })
    return "ready"
  } catch (e) {
    if (codeOf(e) !== "EEXIST" && codeOf(e) !== "ENOTDIR") throw e
  }
  const legacy = await fs.stat(root).catch(() => undefined)
  if (legacy === undefined || legacy.isDirectory()) return "ready"
  if (legacy.size > 0 && Date.now() - legacy.mtimeMs <= staleMillis) return "busy"
  await fs.unlink(root).catch(() => undefined)
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  return "ready"
}

const mtimeOf = (path: string) =>
  fs.stat(path).then((s) => s.mtimeMs, (e: unknown) => {
    if (codeOf(e) === "ENOENT") return undefined
    throw e
  })

const rmdirQuietly = (path: string) => fs.rmdir(path).catch(() => undefined)

/** One attempt; every step goes through `probe` first. */
const attempt = (dir: string, root: string, options: LockOptions): Effect.Effect<Attempt, unknown> => {
  const step = <A>(name: Step, run: () => Promise<A>) =>
    Effect.zipRight(options.probe?.(name) ?? Effect.void, Effect.tryPromise({ try: run, catch: (e) => e }))
  return Effect.gen(function*() {
    if ((yield* step("prepare", () => prepare(dir, root, options.staleMillis))) === "busy") return { _tag: "Busy" }
    const current = highest(generations(yield* step("list", () => fs.readdir(dir))))
    if (current > 0) {
      const mtime = yield* step("stat", () => mtimeOf(nodePath.join(dir, String(current))))
      if (mtime === undefined) return { _tag: "Retry" }
      if (Date.now() - mtime <= options.staleMillis) return { _tag: "Busy" }
    }
    const mine = current + 1
    const created = yield* step(
      "create",
      () =>
        fs.mkdir(nodePath.join(dir, String(mine)), { mode: 0o700 }).then(() => true, (e: unknown) => {
          if (codeOf(e) === "EEXIST") return false
          throw e
        })
    )
    if (!created) return { _tag: "Retry" }
    const now = generations(yield* step("verify", () => fs.readdir(dir)))
    if (now.some((g) => g > mine)) {
      yield* step("cleanup", () => rmdirQuietly(nodePath.join(dir, String(mine))))
      return { _tag: "Retry" }
    }
    yield* step(
      "cleanup",
      () => Promise.all(now.filter((g) => g < mine).map((g) => rmdirQuietly(nodePath.join(dir, String(g)))))
    )
    return { _tag: "Acquired", generation: mine }
  })
}

/** Touches the holding every `staleMillis / 4`; logs once if another process took the lock over. */
const heartbeat = (dir: string, generation: number, options: LockOptions) => {
  const mine = nodePath.join(dir, String(generation))
  const beat = Effect.zipRight(
    options.probe?.("heartbeat") ?? Effect.void,
    Effect.tryPromise(async () => {
      const now = new Date()
      await fs.utimes(mine, now, now)
      return generations(await fs.readdir(dir)).some((g) => g > generation)
    })
  )
  const every = Duration.millis(Math.max(1, Math.floor(options.staleMillis / 4)))
  const loop: Effect.Effect<void> = Effect.flatMap(
    Effect.sleep(every),
    () =>
      Effect.flatMap(Effect.either(Effect.uninterruptible(beat)), (lost) =>
        lost._tag === "Right" && !lost.right
          ? loop
          : Effect.logWarning("token cache lock lost: it was not renewed in time and another process took it over", {
            lock: dir
          }))
  )
  return loop
}

/** Ends the heartbeat, then marks the holding released (mtime 0: stale at once). */
const releaseOf = (dir: string, generation: number, beating: Fiber.RuntimeFiber<void>, options: LockOptions) =>
  Effect.zipRight(
    Fiber.interrupt(beating),
    Effect.zipRight(
      options.probe?.("release") ?? Effect.void,
      Effect.promise(() => fs.utimes(nodePath.join(dir, String(generation)), 0, 0).catch(() => undefined))
    )
  ).pipe(Effect.asVoid)

const lockError = (dir: string, options: LockOptions) =>
  new CacheError({ reason: "Lock", description: `the lock ${dir} was not released within ${options.timeoutMillis} ms` })

/**
 * Acquires the lock directory `dir` (`root`: the top lock directory, where an earlier
 * version's lock file may be), waiting with a growing pause (5 ms to 100 ms) up to
 * `timeoutMillis`; fails with `CacheError` (reason `Lock`) after that. Returns the release.
 *
 * Call it inside `Effect.uninterruptibleMask`, passing its `restore`: the waiting is
 * interruptible, each attempt is not, and a lock taken by an attempt is released if the wait
 * is interrupted before the release reached the caller.
 * @internal
 */
export const acquire = (
  dir: string,
  options: LockOptions,
  restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = (e) => e,
  root: string = dir
): Effect.Effect<Effect.Effect<void>, CacheError> => {
  let held: Effect.Effect<void> | undefined
  const once = Effect.uninterruptible(
    Effect.flatMap(
      Effect.mapError(attempt(dir, root, options), ioError("could not take the lock", dir)),
      (a) =>
        a._tag !== "Acquired" ? Effect.succeed<Attempt>(a) : Effect.map(
          // forked from an uninterruptible region: made interruptible so that release can end it
          Effect.forkDaemon(Effect.interruptible(heartbeat(dir, a.generation, options))),
          (beating): Attempt => {
            held = releaseOf(dir, a.generation, beating, options)
            return a
          }
        )
    )
  )
  const loop = Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    let pause = 5
    let immediate = 0
    for (;;) {
      const a = yield* once
      if (a._tag === "Acquired" && held !== undefined) return held
      if (a._tag === "Retry" && immediate++ < 3) continue
      immediate = 0
      const now = yield* Clock.currentTimeMillis
      if (now - start >= options.timeoutMillis) return yield* lockError(dir, options)
      yield* Effect.sleep(Math.min(pause, Math.max(1, options.timeoutMillis - (now - start))))
      pause = Math.min(100, pause * 2)
    }
  })
  return restore(loop).pipe(Effect.onInterrupt(() => held ?? Effect.void))
}

/** Runs `effect` holding the lock. @internal */
export const withLock = <A, E, R>(
  dir: string,
  options: LockOptions,
  effect: Effect.Effect<A, E, R>,
  root: string = dir
): Effect.Effect<A, E | CacheError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(acquire(dir, options, restore, root), (release) => Effect.ensuring(restore(effect), release))
  )
