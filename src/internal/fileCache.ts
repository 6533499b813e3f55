import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as nodePath from "node:path"
import type * as Clock from "effect/Clock"
import type * as Scope from "effect/Scope"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Entries, Section } from "../CacheEntry.js"
import type { CacheError } from "../MsalError.js"
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
      : Effect.logWarning("token cache file is readable by others and its mode could not be restricted", {
        path,
        error: outcome
      })
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
      if (Number.isFinite(movedAt) && nowMillis - movedAt > KEEP_ASIDE_MILLIS)
        await fs.unlink(full).catch(() => undefined)
      else await fs.chmod(full, 0o600).catch(() => undefined)
    }
  })

type Read =
  | { readonly _tag: "Ok"; readonly snapshot: Snapshot; readonly id: FileId | undefined; readonly legacy?: boolean }
  | { readonly _tag: "Corrupt"; readonly why: string }

/** What the file store's functions share: its configuration and the state of our view of the file. */
interface Ctx {
  readonly path: string
  readonly options: FileOptions
  readonly cipher: Crypto.Cipher | undefined
  /** The additional data the ciphertext is bound to. */
  readonly context: string
  readonly lockPath: string
  readonly lockOptions: FileLock.LockOptions
  readonly recheckMillis: number
  readonly clock: Clock.Clock
  readonly store: memory.Store
  readonly mutex: Effect.Semaphore
  /** The identity of the file we last read or wrote. */
  loaded: FileId | undefined
  /** When a hit last looked at the file. */
  checkedAt: number
}

const nowSeconds = (ctx: Ctx) => Math.floor(ctx.clock.unsafeCurrentTimeMillis() / 1000)

/** The file's JSON; `legacy` when it was bound to the old constant context (rewritten at once). */
const decrypt = (
  ctx: Ctx,
  c: Crypto.Cipher,
  text: string
): Either.Either<{ json: string; legacy: boolean }, CacheError> => {
  const plain = c.decrypt(text, ctx.context)
  if (Either.isRight(plain) || !c.knowsKeyOf(text)) return Either.map(plain, (json) => ({ json, legacy: false }))
  const old = c.decrypt(text, LEGACY_CONTEXT)
  return Either.isRight(old) ? Either.right({ json: old.right, legacy: true }) : Either.left(plain.left)
}

/** Reads and decodes the file; a missing file is an empty cache. */
const read = (ctx: Ctx): Effect.Effect<Read, CacheError> =>
  Effect.gen(function*() {
    const { cipher, options, path } = ctx
    const before = yield* statOf(path)
    if (before === undefined) return { _tag: "Ok", snapshot: serialization.empty(), id: undefined }
    const text = yield* Effect.tryPromise({
      try: () => fs.readFile(path, "utf8"),
      catch: FileLock.ioError("could not read", path)
    }).pipe(Effect.catchIf((e) => e.description.includes("ENOENT"), () => Effect.succeed("")))
    let json = text
    let legacy = false
    if (
      cipher !== undefined && !cipher.isEnvelope(text) && text.trim().length > 0 &&
      options.encryption?.migrateFromPlaintext !== true
    ) {
      return { _tag: "Corrupt", why: "the file is not encrypted, and encryption is on" }
    }
    if (cipher !== undefined && cipher.isEnvelope(text)) {
      const plain = decrypt(ctx, cipher, text)
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
const moveAside = (ctx: Ctx, why: string) =>
  Effect.gen(function*() {
    const { path } = ctx
    const aside = `${path}.corrupt-${ctx.clock.unsafeCurrentTimeMillis()}-${randomBytes(3).toString("hex")}`
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
const readLocked = (ctx: Ctx) =>
  Effect.flatMap(read(ctx), (r) =>
    r._tag === "Ok"
      ? Effect.succeed(r)
      : Effect.as(moveAside(ctx, r.why), { _tag: "Ok" as const, snapshot: serialization.empty(), id: undefined }))

/** Writes atomically: a 0600 temporary file, `fsync`ed, renamed over the file, the directory `fsync`ed. */
const write = (ctx: Ctx, snapshot: Snapshot) =>
  Effect.gen(function*() {
    const { cipher, path } = ctx
    const json = serialization.encode(snapshot, ctx.options.format ?? "msal-node")
    const text = cipher === undefined ? json : cipher.encrypt(json, ctx.context)
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
    ctx.loaded = yield* statOf(path)
  })

const locked = <A, E>(ctx: Ctx, effect: Effect.Effect<A, E>) =>
  ctx.mutex.withPermits(1)(FileLock.withLock(ctx.lockPath, ctx.lockOptions, effect))

/** Loads the file into memory when it changed since we last read or wrote it. */
const refresh = (ctx: Ctx, force: boolean) =>
  Effect.gen(function*() {
    const now = ctx.clock.unsafeCurrentTimeMillis()
    if (!force && now - ctx.checkedAt < ctx.recheckMillis) return
    ctx.checkedAt = now
    const id = yield* statOf(ctx.path)
    if (id === undefined || sameFile(id, ctx.loaded)) return
    const r = yield* read(ctx)
    // a damaged file is dealt with (under the lock) by the next write; keep what we have
    if (r._tag === "Ok") {
      ctx.store.restore(r.snapshot, nowSeconds(ctx))
      ctx.loaded = r.id
    }
  })

const withoutExpired = (s: Snapshot, now: number): Snapshot => ({
  ...s,
  entries: { ...s.entries, AccessToken: s.entries.AccessToken.filter((t) => t.expires_on >= now) }
})

/** Read-modify-write under the lock: other processes' entries are kept, ours applied on top. */
const modify = (ctx: Ctx) => (changes: ReadonlyArray<Change>) =>
  changes.length === 0 ? Effect.void : locked(
    ctx,
    Effect.gen(function*() {
      // the file is read again only when another process replaced it since we read or wrote it
      if (!sameFile(yield* statOf(ctx.path), ctx.loaded)) {
        const current = yield* readLocked(ctx)
        ctx.store.restore(current.snapshot, nowSeconds(ctx))
      }
      ctx.store.apply(changes, nowSeconds(ctx))
      yield* write(ctx, withoutExpired(ctx.store.snapshot(), nowSeconds(ctx)))
    })
  )

const get = (ctx: Ctx) => <S extends Section>(section: S, key: string) =>
  Effect.suspend(() => {
    const now = ctx.clock.unsafeCurrentTimeMillis()
    if (now - ctx.checkedAt < ctx.recheckMillis) {
      const hit = ctx.store.get(section, key, Math.floor(now / 1000))
      if (hit !== undefined) return Effect.succeed(Option.some(hit))
    }
    // a miss (or a hit not checked for a while) looks at the file first
    return ctx.mutex.withPermits(1)(refresh(ctx, true)).pipe(
      Effect.map(() => Option.fromNullable(ctx.store.get(section, key, nowSeconds(ctx))))
    )
  })

/** One of `KEY_LOCK_BUCKETS` lock directories, chosen by the key's hash. */
const keyLock = (ctx: Ctx, key: string) =>
  nodePath.join(
    ctx.lockPath,
    `k-${(createHash("sha256").update(key).digest().readUInt8(0) % KEY_LOCK_BUCKETS).toString(16).padStart(2, "0")}`
  )

const withLock = (ctx: Ctx) => <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    FileLock.acquire(keyLock(ctx, key), ctx.lockOptions, restore, ctx.lockPath).pipe(
      Effect.map((release): Option.Option<Effect.Effect<void>> => Option.some(release)),
      Effect.catchAll((e) =>
        Effect.as(
          Effect.logWarning("token cache lock unavailable; continuing without it", {
            path: ctx.path,
            error: e.message
          }),
          Option.none<Effect.Effect<void>>()
        )
      ),
      Effect.flatMap((held) =>
        Effect.ensuring(
          // what another process stored while we waited; a failed re-read keeps the lock and our view
          restore(Effect.zipRight(
            Option.isSome(held)
              ? Effect.catchAll(ctx.mutex.withPermits(1)(refresh(ctx, true)), (e) =>
                Effect.logWarning("token cache file could not be re-read under the lock", {
                  path: ctx.path,
                  error: e.message
                }))
              : Effect.void,
            effect
          )),
          Option.match(held, {
            onNone: () =>
              Effect.void,
            onSome: (release) =>
              release
          })
        )
      )
    )
  )

/** Loads the file at start: a damaged one moved aside, one bound to the old context rewritten, both under the lock. */
const load = (ctx: Ctx) =>
  Effect.gen(function*() {
    yield* tightenMode(ctx.path)
    yield* sweepAside(ctx.path, ctx.clock.unsafeCurrentTimeMillis())
    const first = yield* read(ctx)
    const keep = (r: { readonly snapshot: Snapshot; readonly id: FileId | undefined }) =>
      Effect.sync(() => {
        ctx.store.restore(r.snapshot, nowSeconds(ctx))
        ctx.loaded = r.id
      })
    if (first._tag === "Ok" && first.legacy === true) {
      // bound to the old constant context: rewritten at once, bound to this file
      yield* locked(
        ctx,
        Effect.flatMap(readLocked(ctx), (r) => Effect.zipRight(keep(r), write(ctx, ctx.store.snapshot())))
      )
    } else if (first._tag === "Ok") {
      yield* keep(first)
    } else {
      yield* locked(ctx, Effect.flatMap(readLocked(ctx), keep))
    }
    ctx.checkedAt = ctx.clock.unsafeCurrentTimeMillis()
  })

/** @internal */
export const make = (path: string, options: FileOptions): Effect.Effect<Service, CacheError, Scope.Scope> =>
  Effect.gen(function*() {
    const cipher = options.encryption === undefined
      ? undefined
      : yield* Either.match(Crypto.make(options.encryption), { onLeft: Effect.fail, onRight: Effect.succeed })
    const ctx: Ctx = {
      path,
      options,
      cipher,
      context: yield* contextOf(path),
      lockPath: `${path}.lock`,
      lockOptions: {
        timeoutMillis: Duration.toMillis(options.lockTimeout ?? DEFAULT_LOCK_TIMEOUT),
        staleMillis: Duration.toMillis(options.staleLockAfter ?? DEFAULT_STALE_LOCK)
      },
      recheckMillis: Duration.toMillis(options.recheckInterval ?? DEFAULT_RECHECK),
      clock: yield* Effect.clock,
      store: memory.makeStore({ maxEntries: options.maxEntries }),
      mutex: yield* Effect.makeSemaphore(1),
      loaded: undefined,
      checkedAt: Number.NEGATIVE_INFINITY
    }
    yield* load(ctx)
    const restore = (s: Snapshot) =>
      locked(
        ctx,
        Effect.gen(function*() {
          ctx.store.restore(s, nowSeconds(ctx))
          yield* write(ctx, ctx.store.snapshot())
        })
      )
    const list = <S extends Section>(section: S, partition?: string) =>
      Effect.flatMap(
        refresh(ctx, false),
        () => Effect.sync((): ReadonlyArray<Entries[S]> => ctx.store.list(section, partition, nowSeconds(ctx)))
      ).pipe(ctx.mutex.withPermits(1))
    return {
      get: get(ctx),
      list,
      modify: modify(ctx),
      snapshot: Effect.zipRight(refresh(ctx, false), Effect.sync(() => ctx.store.snapshot())).pipe(
        ctx.mutex.withPermits(1)
      ),
      restore,
      withLock: withLock(ctx)
    }
  })
