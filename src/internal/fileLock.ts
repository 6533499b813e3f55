import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import { hostname } from "node:os"
import { Clock, Effect, Predicate } from "effect"
import { CacheError } from "../MsalError.js"

/**
 * A cross-process lock made of a file created with O_CREAT|O_EXCL (no native module). The file
 * holds its owner's pid, host and a random nonce. A lock whose owner is a dead process of this
 * host, or older than `staleMillis`, is taken over: it is renamed away (atomic, so only one
 * contender wins) and the renamed file is checked to be the one judged stale.
 * @internal
 */
export interface LockOptions {
  readonly timeoutMillis: number
  readonly staleMillis: number
}

interface Owner {
  readonly pid: number
  readonly host: string
  readonly nonce: string
}

const HOST = hostname()

const codeOf = (e: unknown): string | undefined =>
  Predicate.hasProperty(e, "code") && typeof e.code === "string" ? e.code : undefined

/** @internal */
export const ioError = (what: string, path: string) => (e: unknown): CacheError =>
  new CacheError({ reason: "Io", description: `${what} ${path}: ${codeOf(e) ?? (e instanceof Error ? e.message : "failed")}` })

const readOwner = async (path: string): Promise<{ owner: Owner | undefined; raw: string; mtimeMs: number } | undefined> => {
  try {
    const [raw, stat] = await Promise.all([fs.readFile(path, "utf8"), fs.stat(path)])
    let owner: Owner | undefined
    try {
      const v: unknown = JSON.parse(raw)
      if (Predicate.isRecord(v) && typeof v.pid === "number" && typeof v.host === "string" && typeof v.nonce === "string") {
        owner = { pid: v.pid, host: v.host, nonce: v.nonce }
      }
    } catch {
      owner = undefined
    }
    return { owner, raw, mtimeMs: stat.mtimeMs }
  } catch (e) {
    if (codeOf(e) === "ENOENT") return undefined
    throw e
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return codeOf(e) === "EPERM"
  }
}

type Attempt = { readonly _tag: "Acquired"; readonly nonce: string } | { readonly _tag: "Busy" }

const tryCreate = async (path: string): Promise<Attempt> => {
  const nonce = randomBytes(12).toString("hex")
  let handle: fs.FileHandle
  try {
    handle = await fs.open(path, "wx", 0o600)
  } catch (e) {
    if (codeOf(e) === "EEXIST") return { _tag: "Busy" }
    throw e
  }
  try {
    await handle.writeFile(JSON.stringify({ pid: process.pid, host: HOST, nonce, at: Date.now() }))
  } finally {
    await handle.close()
  }
  return { _tag: "Acquired", nonce }
}

/** Takes over the lock at `path` if it is stale; true when the caller should try again at once. */
const breakIfStale = async (path: string, staleMillis: number): Promise<boolean> => {
  const seen = await readOwner(path)
  if (seen === undefined) return true
  const deadOwner = seen.owner !== undefined && seen.owner.host === HOST && seen.owner.pid !== process.pid &&
    !isAlive(seen.owner.pid)
  const tooOld = Date.now() - seen.mtimeMs > staleMillis
  if (!deadOwner && !tooOld) return false
  const aside = `${path}.stale-${randomBytes(6).toString("hex")}`
  try {
    await fs.rename(path, aside)
  } catch (e) {
    if (codeOf(e) === "ENOENT") return true
    throw e
  }
  const moved = await fs.readFile(aside, "utf8").catch(() => "")
  if (moved !== seen.raw) {
    // another contender replaced the stale lock between our read and our rename: give it back
    await fs.link(aside, path).catch(() => undefined)
  }
  await fs.unlink(aside).catch(() => undefined)
  return true
}

const release = (path: string, nonce: string) =>
  Effect.promise(async () => {
    const seen = await readOwner(path).catch(() => undefined)
    if (seen?.owner?.nonce === nonce) await fs.unlink(path).catch(() => undefined)
  })

/**
 * Acquires the lock, waiting with a growing pause (5 ms to 100 ms) up to `timeoutMillis`;
 * fails with `CacheError` (reason `Lock`) after that. Returns the release effect.
 *
 * Call it inside `Effect.uninterruptibleMask`, passing its `restore`: the waiting is
 * interruptible (a caller's timeout or abort is not held up by another process's lock),
 * while each attempt is not, and a lock taken by an attempt is released if the wait is
 * interrupted before the release reached the caller.
 * @internal
 */
export const acquire = (
  path: string,
  options: LockOptions,
  restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = (e) => e
): Effect.Effect<Effect.Effect<void>, CacheError> => {
  let held: Effect.Effect<void> | undefined
  const loop = Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    let pause = 5
    let immediate = 0
    for (;;) {
      const attempt = yield* Effect.uninterruptible(
        Effect.tryPromise({ try: () => tryCreate(path), catch: ioError("could not create the lock", path) }).pipe(
          Effect.tap((a) =>
            Effect.sync(() => {
              if (a._tag === "Acquired") held = release(path, a.nonce)
            })
          )
        )
      )
      if (attempt._tag === "Acquired") return release(path, attempt.nonce)
      const retryNow = yield* Effect.tryPromise({
        try: () => breakIfStale(path, options.staleMillis),
        catch: ioError("could not inspect the lock", path)
      })
      const now = yield* Clock.currentTimeMillis
      if (now - start >= options.timeoutMillis) {
        return yield* new CacheError({
          reason: "Lock",
          description: `the lock ${path} was not released within ${options.timeoutMillis} ms`
        })
      }
      if (retryNow && immediate++ < 3) continue
      immediate = 0
      yield* Effect.sleep(Math.min(pause, Math.max(1, options.timeoutMillis - (now - start))))
      pause = Math.min(100, pause * 2)
    }
  })
  return restore(loop).pipe(Effect.onInterrupt(() => held ?? Effect.void))
}

/** Runs `effect` holding the lock. @internal */
export const withLock = <A, E, R>(
  path: string,
  options: LockOptions,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | CacheError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(acquire(path, options, restore), (release) => Effect.ensuring(restore(effect), release))
  )
