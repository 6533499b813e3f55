import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as nodePath from "node:path"
import type { Scope } from "effect"
import { Duration, Effect, Either, Option } from "effect"
import type { Entries, Section } from "../CacheEntry.js"
import { CacheError } from "../MsalError.js"
import type { Change, FileOptions, Service, Snapshot } from "../TokenCache.js"
import * as Crypto from "./cacheCrypto.js"
import * as FileLock from "./fileLock.js"
import * as memory from "./memoryCache.js"
import * as serialization from "./serialization.js"

const DEFAULT_LOCK_TIMEOUT = Duration.seconds(15)
const DEFAULT_STALE_LOCK = Duration.seconds(10)
/** Per-key locks share this many lock directories (by the key's hash), so that their number is bounded. */
const KEY_LOCK_BUCKETS = 256
/** A hit re-checks the file (one `stat`) at most this often by default; a miss always does. */
const DEFAULT_RECHECK = Duration.seconds(1)
/** The additional data files were encrypted with before it named the file; read once, then rewritten. */
const LEGACY_CONTEXT = "effect-msal/file"

/** What a file's ciphertext is bound to: its absolute path (through symbolic links of its directory). */
const contextOf = (path: string): Effect.Effect<string> =>
  Effect.promise(() =>
    fs.realpath(nodePath.dirname(nodePath.resolve(path))).then(
      (dir) => nodePath.join(dir, nodePath.basename(path)),
      () => nodePath.resolve(path)
    )
  ).pipe(Effect.map((absolute) => `effect-msal/file:${absolute}`))

interface FileId {
  readonly ino: bigint
  readonly size: bigint
  readonly mtimeNs: bigint
}

const sameFile = (a: FileId | undefined, b: FileId | undefined): boolean =>
  a !== undefined && b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs

const statOf = (path: string): Effect.Effect<FileId | undefined, CacheError> =>
  Effect.tryPromise({
    try: async () => {
      try {
        const s = await fs.stat(path, { bigint: true })
        return { ino: s.ino, size: s.size, mtimeNs: s.mtimeNs }
      } catch (e) {
        if ((e as { code?: string }).code === "ENOENT") return undefined
        throw e
      }
    },
    catch: FileLock.ioError("could not stat", path)
  })

/** A moved-aside file is deleted once this old (its name holds when it was moved): 7 days. */
const KEEP_ASIDE_MILLIS = 7 * 24 * 60 * 60 * 1000

/** Restricts an existing cache file to its owner (0600); a file we may not chmod is logged, not fatal. */
const tightenMode = (path: string): Effect.Effect<void, CacheError> =>
  Effect.tryPromise({
    try: async () => {
      const s = await fs.stat(path).catch((e: unknown) => {
        if ((e as { code?: string }).code === "ENOENT") return undefined
        throw e
      })
      if (s === undefined || (s.mode & 0o077) === 0) return "ok"
      return fs.chmod(path, 0o600).then(() => "ok", (e: unknown) => (e as { code?: string }).code ?? "failed")
    },
    catch: FileLock.ioError("could not stat", path)
  }).pipe(Effect.flatMap((outcome) =>
    outcome === "ok"
      ? Effect.void
      : Effect.logWarning("token cache file is readable by others and its mode could not be restricted", { path, error: outcome })
  ))

/** Deletes the file's moved-aside copies older than `KEEP_ASIDE_MILLIS`; restricts the others to 0600. */
const sweepAside = (path: string, nowMillis: number): Effect.Effect<void> =>
  Effect.promise(async () => {
    const dir = nodePath.dirname(path)
    const prefix = `${nodePath.basename(path)}.corrupt-`
    const names = await fs.readdir(dir).catch(() => [] as Array<string>)
    for (const name of names.filter((n) => n.startsWith(prefix))) {
      const movedAt = Number(name.slice(prefix.length).split("-")[0])
      const full = nodePath.join(dir, name)
      if (Number.isFinite(movedAt) && nowMillis - movedAt > KEEP_ASIDE_MILLIS) await fs.unlink(full).catch(() => undefined)
      else await fs.chmod(full, 0o600).catch(() => undefined)
    }
  })

type Read =
  | { readonly _tag: "Ok"; readonly snapshot: Snapshot; readonly id: FileId | undefined; readonly legacy?: boolean }
  | { readonly _tag: "Corrupt"; readonly why: string }

/** @internal */
export const make = (path: string, options: FileOptions): Effect.Effect<Service, CacheError, Scope.Scope> =>
  Effect.gen(function*() {
    const cipher = options.encryption === undefined
      ? undefined
      : yield* Either.match(Crypto.make(options.encryption), { onLeft: Effect.fail, onRight: Effect.succeed })
    const format = options.format ?? "msal-node"
    const lockOptions: FileLock.LockOptions = {
      timeoutMillis: Duration.toMillis(options.lockTimeout ?? DEFAULT_LOCK_TIMEOUT),
      staleMillis: Duration.toMillis(options.staleLockAfter ?? DEFAULT_STALE_LOCK)
    }
    const recheckMillis = Duration.toMillis(options.recheckInterval ?? DEFAULT_RECHECK)
    const clock = yield* Effect.clock
    const nowSeconds = () => Math.floor(clock.unsafeCurrentTimeMillis() / 1000)
    const store = memory.makeStore({ maxEntries: options.maxEntries })
    const mutex = yield* Effect.makeSemaphore(1)
    let loaded: FileId | undefined
    let checkedAt = Number.NEGATIVE_INFINITY
    const lockPath = `${path}.lock`
    const context = yield* contextOf(path)

    /** The file's JSON; `legacy` when it was bound to the old constant context (rewritten at once). */
    const decrypt = (c: Crypto.Cipher, text: string): Either.Either<{ json: string; legacy: boolean }, CacheError> => {
      const plain = c.decrypt(text, context)
      if (Either.isRight(plain) || !c.knowsKeyOf(text)) return Either.map(plain, (json) => ({ json, legacy: false }))
      const old = c.decrypt(text, LEGACY_CONTEXT)
      return Either.isRight(old) ? Either.right({ json: old.right, legacy: true }) : Either.left(plain.left)
    }

    /** Reads and decodes the file; a missing file is an empty cache. */
    const read: Effect.Effect<Read, CacheError> = Effect.gen(function*() {
      const before = yield* statOf(path)
      if (before === undefined) return { _tag: "Ok", snapshot: serialization.empty(), id: undefined }
      const text = yield* Effect.tryPromise({
        try: () => fs.readFile(path, "utf8"),
        catch: FileLock.ioError("could not read", path)
      }).pipe(Effect.catchIf((e) => e.description.includes("ENOENT"), () => Effect.succeed("")))
      let json = text
      let legacy = false
      if (cipher !== undefined && !cipher.isEnvelope(text) && text.trim().length > 0 && options.encryption?.migrateFromPlaintext !== true) {
        return { _tag: "Corrupt", why: "the file is not encrypted, and encryption is on" }
      }
      if (cipher !== undefined && cipher.isEnvelope(text)) {
        const plain = decrypt(cipher, text)
        if (Either.isLeft(plain)) {
          if (!cipher.knowsKeyOf(text)) return yield* plain.left
          return { _tag: "Corrupt", why: plain.left.description }
        }
        json = plain.right.json
        legacy = plain.right.legacy
      }
      const parsed = serialization.parse(json)
      if (Either.isLeft(parsed)) return { _tag: "Corrupt", why: parsed.left.description }
      return { _tag: "Ok", snapshot: parsed.right, id: before, legacy }
    })

    /** Moves an unreadable file aside (kept for inspection) and logs it. Under the lock. */
    const moveAside = (why: string) =>
      Effect.gen(function*() {
        const aside = `${path}.corrupt-${clock.unsafeCurrentTimeMillis()}-${randomBytes(3).toString("hex")}`
        yield* Effect.tryPromise({
          try: async () => {
            // it may hold tokens in clear: owner only, before and after the move
            await fs.chmod(path, 0o600).catch(() => undefined)
            await fs.rename(path, aside)
            await fs.chmod(aside, 0o600).catch(() => undefined)
          },
          catch: FileLock.ioError("could not move aside", path)
        })
        yield* Effect.logWarning("token cache file could not be read; moved aside, starting empty", {
          path,
          movedTo: aside,
          reason: why
        })
      })

    /** The file's content, a corrupt file moved aside. Under the lock. */
    const readLocked = Effect.flatMap(read, (r) =>
      r._tag === "Ok"
        ? Effect.succeed(r)
        : Effect.as(moveAside(r.why), { _tag: "Ok" as const, snapshot: serialization.empty(), id: undefined }))

    const write = (snapshot: Snapshot) =>
      Effect.gen(function*() {
        const json = serialization.encode(snapshot, format)
        const text = cipher === undefined ? json : cipher.encrypt(json, context)
        const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`
        yield* Effect.tryPromise({
          try: async () => {
            const handle = await fs.open(tmp, "w", 0o600)
            try {
              await handle.writeFile(text, "utf8")
              await handle.chmod(0o600)
              await handle.sync()
            } finally {
              await handle.close()
            }
            await fs.rename(tmp, path)
            const dir = await fs.open(nodePath.dirname(path), "r").catch(() => undefined)
            if (dir !== undefined) await dir.sync().catch(() => undefined).finally(() => dir.close())
          },
          catch: FileLock.ioError("could not write", path)
        }).pipe(Effect.tapError(() => Effect.promise(() => fs.unlink(tmp).catch(() => undefined))))
        loaded = yield* statOf(path)
      })

    const locked = <A, E>(effect: Effect.Effect<A, E>) =>
      mutex.withPermits(1)(FileLock.withLock(lockPath, lockOptions, effect))

    /** Loads the file into memory when it changed since we last read or wrote it. */
    const refresh = (force: boolean) =>
      Effect.gen(function*() {
        const now = clock.unsafeCurrentTimeMillis()
        if (!force && now - checkedAt < recheckMillis) return
        checkedAt = now
        const id = yield* statOf(path)
        if (id === undefined || sameFile(id, loaded)) return
        const r = yield* read
        // a damaged file is dealt with (under the lock) by the next write; keep what we have
        if (r._tag === "Ok") {
          store.restore(r.snapshot, nowSeconds())
          loaded = r.id
        }
      })

    const withoutExpired = (s: Snapshot, now: number): Snapshot => ({
      ...s,
      entries: { ...s.entries, AccessToken: s.entries.AccessToken.filter((t) => t.expires_on >= now) }
    })

    /** Read-modify-write under the lock: other processes' entries are kept, ours applied on top. */
    const modify = (changes: ReadonlyArray<Change>) =>
      changes.length === 0 ? Effect.void : locked(Effect.gen(function*() {
        // the file is read again only when another process replaced it since we read or wrote it
        if (!sameFile(yield* statOf(path), loaded)) {
          const current = yield* readLocked
          store.restore(current.snapshot, nowSeconds())
        }
        store.apply(changes, nowSeconds())
        yield* write(withoutExpired(store.snapshot(), nowSeconds()))
      }))

    const restore = (s: Snapshot) =>
      locked(Effect.gen(function*() {
        store.restore(s, nowSeconds())
        yield* write(store.snapshot())
      }))

    const get = <S extends Section>(section: S, key: string) =>
      Effect.suspend(() => {
        const now = clock.unsafeCurrentTimeMillis()
        if (now - checkedAt < recheckMillis) {
          const hit = store.get(section, key, Math.floor(now / 1000))
          if (hit !== undefined) return Effect.succeed(Option.some(hit))
        }
        // a miss (or a hit not checked for a while) looks at the file first
        return mutex.withPermits(1)(refresh(true)).pipe(
          Effect.map(() => Option.fromNullable(store.get(section, key, nowSeconds())))
        )
      })

    const list = <S extends Section>(section: S, partition?: string) =>
      Effect.flatMap(
        refresh(false),
        () => Effect.sync((): ReadonlyArray<Entries[S]> => store.list(section, partition, nowSeconds()))
      ).pipe(mutex.withPermits(1))

    const keyLock = (key: string) =>
      nodePath.join(lockPath, `k-${(createHash("sha256").update(key).digest().readUInt8(0) % KEY_LOCK_BUCKETS).toString(16).padStart(2, "0")}`)

    const withLock = <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.uninterruptibleMask((restore) =>
        FileLock.acquire(keyLock(key), lockOptions, restore, lockPath).pipe(
          Effect.map((release): Option.Option<Effect.Effect<void>> => Option.some(release)),
          Effect.catchAll((e) =>
            Effect.as(
              Effect.logWarning("token cache lock unavailable; continuing without it", { path, error: e.message }),
              Option.none<Effect.Effect<void>>()
            )
          ),
          Effect.flatMap((held) =>
            Effect.ensuring(
              // what another process stored while we waited; a failed re-read keeps the lock and our view
              restore(Effect.zipRight(
                Option.isSome(held)
                  ? Effect.catchAll(mutex.withPermits(1)(refresh(true)), (e) =>
                    Effect.logWarning("token cache file could not be re-read under the lock", { path, error: e.message }))
                  : Effect.void,
                effect
              )),
              Option.match(held, { onNone: () => Effect.void, onSome: (release) => release })
            )
          )
        )
      )

    // load at start; a damaged file is moved aside under the lock
    yield* tightenMode(path)
    yield* sweepAside(path, clock.unsafeCurrentTimeMillis())
    const first = yield* read
    if (first._tag === "Ok" && first.legacy === true) {
      // bound to the old constant context: rewritten at once, bound to this file
      yield* locked(Effect.flatMap(readLocked, (r) =>
        Effect.zipRight(
          Effect.sync(() => store.restore(r.snapshot, nowSeconds())),
          write(store.snapshot())
        )))
    } else if (first._tag === "Ok") {
      store.restore(first.snapshot, nowSeconds())
      loaded = first.id
    } else {
      yield* locked(Effect.flatMap(readLocked, (r) =>
        Effect.sync(() => {
          store.restore(r.snapshot, nowSeconds())
          loaded = r.id
        })))
    }
    checkedAt = clock.unsafeCurrentTimeMillis()

    return {
      get,
      list,
      modify,
      snapshot: Effect.zipRight(refresh(false), Effect.sync(() => store.snapshot())).pipe(mutex.withPermits(1)),
      restore,
      withLock
    }
  })
