/**
 * The Redis store: on a single Redis server (`layerRedis`) or a Redis Cluster
 * (`layerRedisCluster`). What differs is the key layout (redisSingle.ts, redisCluster.ts);
 * values, encryption, time bounds and the lock are the same.
 */
import { randomBytes } from "node:crypto"
import type * as Scope from "effect/Scope"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Entries, Section } from "../CacheEntry.js"
import { sections } from "../CacheEntry.js"
import { CacheError } from "../MsalError.js"
import type { Change, RedisClusterOptions, RedisOptions, Service, Snapshot } from "../TokenCache.js"
import { keyOf, partitionOf } from "./cacheKey.js"
import * as Crypto from "./cacheCrypto.js"
import type { Layout, Prepared, RedisClient, Runner } from "./redisClient.js"
import { makeRunner, openCluster, openSingle } from "./redisClient.js"
import * as Cluster from "./redisCluster.js"
import * as Scripts from "./redisScripts.js"
import * as Single from "./redisSingle.js"
import * as serialization from "./serialization.js"

export type { ClusterNode, RedisClient } from "./redisClient.js"

const DEFAULT_TTL = Duration.days(90)
const DEFAULT_LOCK_TTL = Duration.seconds(30)
const DEFAULT_LOCK_WAIT = Duration.seconds(15)
/** The default bound of one store operation. @internal */
export const DEFAULT_TIMEOUT = Duration.seconds(3)
/** Longer TTLs are refused: PEXPIRE overflows far below 2^63 ms once added to the clock. */
const MAX_TTL_MILLIS = Duration.toMillis(Duration.days(3660))

/** How many changes a write sends at once (redisCluster.ts writes 16 entries at a time). */
const WRITE_BATCH = 16

const malformed = (description: string) => new CacheError({ reason: "Malformed", description })

interface Settings {
  readonly prefix: string
  readonly defaultTtl: number
  readonly lockTtl: number
  readonly lockWait: number
  readonly timeout: Duration.Duration
  readonly cipher: Crypto.Cipher | undefined
}

const settingsOf = (options: RedisOptions): Either.Either<Settings, CacheError> =>
  Either.gen(function*() {
    const cipher = options.encryption === undefined ? undefined : yield* Crypto.make(options.encryption)
    const millis = (name: string, d: Duration.DurationInput | undefined, fallback: Duration.Duration) => {
      const ms = Duration.toMillis(Duration.decode(d ?? fallback))
      return Number.isFinite(ms) && ms > 0 && ms <= MAX_TTL_MILLIS
        ? Either.right(Math.ceil(ms))
        : Either.left(malformed(`layerRedis: ${name} must be a finite, positive duration`))
    }
    const timeout = yield* millis("timeout", options.timeout, DEFAULT_TIMEOUT)
    return {
      prefix: options.prefix ?? "msal:",
      defaultTtl: yield* millis("defaultTtl", options.defaultTtl, DEFAULT_TTL),
      lockTtl: yield* millis("lockTtl", options.lockTtl, DEFAULT_LOCK_TTL),
      lockWait: yield* millis("lockWait", options.lockWait, DEFAULT_LOCK_WAIT),
      timeout: Duration.millis(timeout),
      cipher
    }
  })

/** A single Redis server. @internal */
export const make = (options: RedisOptions): Effect.Effect<Service, CacheError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* settingsOf(options)
    const client = yield* options.client !== undefined
      ? Effect.succeed(options.client)
      : options.url !== undefined
      ? openSingle(options.url, settings.timeout)
      : Effect.fail(malformed("layerRedis needs a url or a client"))
    const runner = makeRunner(client, settings.timeout)
    return build(settings, runner, Single.make(settings.prefix, runner))
  })

/** A Redis Cluster. @internal */
export const makeCluster = (options: RedisClusterOptions): Effect.Effect<Service, CacheError, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* settingsOf(options)
    if (/[{}]/.test(settings.prefix)) {
      return yield* Effect.fail(malformed("layerRedisCluster: the prefix must not hold { or } (they make hash tags)"))
    }
    const client: RedisClient = yield* options.client !== undefined
      ? Effect.succeed(options.client)
      : options.nodes !== undefined && options.nodes.length > 0
      ? openCluster(options.nodes, settings.timeout)
      : Effect.fail(malformed("layerRedisCluster needs nodes or a client"))
    const runner = makeRunner(client, settings.timeout)
    return build(settings, runner, Cluster.make(settings.prefix, runner, settings.defaultTtl))
  })

/** Values as stored: MSAL JSON, encrypted (bound to the Redis key) when a cipher is given. */
const makeCodec = (cipher: Crypto.Cipher | undefined) => {
  const miss = (message: string, details?: Record<string, unknown>) =>
    Effect.as(details === undefined ? Effect.logWarning(message) : Effect.logWarning(message, details), Option.none())
  /** The clear text of a stored value; with encryption on, a clear value is not ours (anyone able to write Redis could plant it). */
  const open = (raw: string, redisKey: string, what: string): Effect.Effect<Option.Option<string>> => {
    if (cipher === undefined) return Effect.succeed(Option.some(raw))
    if (!cipher.isEnvelope(raw)) return miss(`a Redis token cache ${what} is not encrypted; treated as missing`)
    return Either.match(cipher.decrypt(raw, redisKey), {
      onLeft: (e) =>
        miss(`a Redis token cache ${what} could not be decrypted; treated as missing`, { error: e.description }),
      onRight: (plain) => Effect.succeed(Option.some(plain))
    })
  }
  const seal = (plain: string, redisKey: string) => cipher === undefined ? plain : cipher.encrypt(plain, redisKey)
  const parse = (text: string): Option.Option<unknown> => {
    try {
      return Option.some(JSON.parse(text))
    } catch {
      return Option.none()
    }
  }
  /** An undecodable or undecryptable value is a miss (and a warning), never a failure of the grant. */
  const decode = <S extends Section>(section: S, raw: string, redisKey: string) =>
    Effect.flatMap(open(raw, redisKey, "entry"), (text): Effect.Effect<Option.Option<Entries[S]>> => {
      if (Option.isNone(text)) return Effect.succeedNone
      const parsed = parse(text.value)
      if (Option.isNone(parsed)) return miss("a Redis token cache entry is not JSON; treated as missing", { section })
      return Effect.succeed(Either.getRight(serialization.decodeEntry(section, parsed.value)))
    })
  return { open, seal, parse, decode }
}

/** A change as the store writes it; an expiry Redis cannot represent fails with nothing written. */
const prepare = (
  change: Change,
  now: number,
  settings: Settings,
  encode: (section: Section, entry: Entries[Section]) => string
): Either.Either<Prepared, CacheError> => {
  if (change._tag === "Remove") return Either.right({ op: "R", section: change.section, key: change.key })
  const { entry, section } = change
  const key = keyOf(section, entry)
  let ttl = settings.defaultTtl
  let version = 0
  if (section === "AccessToken") {
    ttl = Math.ceil(entry.expires_on * 1000 - now)
    if (!Number.isSafeInteger(ttl) || ttl > MAX_TTL_MILLIS) {
      return Either.left(malformed("an access token's expiry is out of range; not stored"))
    }
    if (ttl <= 0) return Either.right({ op: "R", section, key })
  } else if (section === "RefreshToken") {
    version = entry.last_modification_time ?? 0
    if (!Number.isSafeInteger(version))
      return Either.left(malformed("a refresh token's last_modification_time is not an integer"))
  }
  const partition = partitionOf(section, entry)
  return Either.right({
    op: "P",
    section,
    key,
    partition,
    payload: encode(section, entry),
    version,
    ttl,
    cas: section === "RefreshToken"
  })
}

const build = (settings: Settings, runner: Runner, layout: Layout): Service => {
  const codec = makeCodec(settings.cipher)
  const encode = (section: Section, entry: Entries[Section]) =>
    codec.seal(
      JSON.stringify(serialization.encodeEntry(section, entry)),
      layout.entryKey(section, keyOf(section, entry))
    )

  const get = <S extends Section>(section: S, key: string) => {
    const redisKey = layout.entryKey(section, key)
    return runner.hget(redisKey, "d").pipe(
      Effect.flatMap((raw) => raw === null ? Effect.succeedNone : codec.decode(section, raw, redisKey))
    )
  }

  // a lookup is bounded by one timeout; a whole-section listing or a large write by one per
  // round trip at a time (each round trip is bounded too)
  const list = <S extends Section>(section: S, partition?: string) =>
    (partition === undefined ? layout.list(section, partition) : runner.bound(layout.list(section, partition))).pipe(
      Effect.flatMap((pairs) =>
        Effect.forEach(pairs, ([k, v]) => codec.decode(section, v, layout.entryKey(section, k)))
      ),
      Effect.map((xs) => xs.flatMap((x) => Option.isSome(x) ? [x.value] : []))
    )

  const modify = (changes: ReadonlyArray<Change>) =>
    changes.length === 0 ? Effect.void : Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const prepared = yield* Effect.forEach(changes, (c) => prepare(c, now, settings, encode))
      const lost = yield* runner.bound(layout.write(prepared), Math.ceil(prepared.length / WRITE_BATCH))
      if (lost > 0) yield* Effect.logDebug("a newer refresh token is already in Redis; kept it", { count: lost })
    })

  const { restore, snapshot } = makeBulk(runner, layout, codec, list, modify)
  return { get, list, modify, snapshot, restore, withLock: makeWithLock(settings, runner, layout) }
}

/** The whole cache at once: `snapshot` and `restore` (serialize and deserialize). */
const makeBulk = (
  runner: Runner,
  layout: Layout,
  codec: ReturnType<typeof makeCodec>,
  list: <S extends Section>(section: S) => Effect.Effect<ReadonlyArray<Entries[S]>, CacheError>,
  modify: (changes: ReadonlyArray<Change>) => Effect.Effect<void, CacheError>
) => {
  const readUnknown = Effect.gen(function*() {
    const raw = yield* runner.run(Scripts.GET_UNKNOWN, [layout.unknownKey], [])
    if (typeof raw !== "string") return {}
    const text = yield* codec.open(raw, layout.unknownKey, "value")
    const parsed = Option.flatMap(text, codec.parse)
    return Option.isSome(parsed) && typeof parsed.value === "object" && parsed.value !== null &&
        !Array.isArray(parsed.value)
      ? parsed.value as Record<string, unknown>
      : {}
  })

  const snapshot = Effect.map(
    Effect.all([
      Effect.all({
        AccessToken: list("AccessToken"),
        RefreshToken: list("RefreshToken"),
        IdToken: list("IdToken"),
        Account: list("Account"),
        AppMetadata: list("AppMetadata")
      }, { concurrency: "unbounded" }),
      readUnknown
    ], { concurrency: "unbounded" }),
    ([entries, unknown]): Snapshot => ({ entries, unknown })
  )

  const restore = (s: Snapshot) =>
    Effect.gen(function*() {
      yield* layout.clear
      const changes: Array<Change> = []
      for (const section of sections) {
        for (const entry of s.entries[section] as ReadonlyArray<Entries[Section]>) {
          changes.push({ _tag: "Put", section, entry } as Change)
        }
      }
      yield* modify(changes)
      // with encryption on, nothing is written in clear: what we do not model is encrypted too
      const unknown = Object.keys(s.unknown).length === 0
        ? ""
        : codec.seal(JSON.stringify(s.unknown), layout.unknownKey)
      yield* runner.run(Scripts.SET_UNKNOWN, [layout.unknownKey], [unknown])
    })

  return { snapshot, restore }
}

const makeWithLock =
  (settings: Settings, runner: Runner, layout: Layout) =>
  <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const { lockTtl, lockWait } = settings
    const lockKey = layout.lockKey(key)
    const token = randomBytes(16).toString("hex")
    const release = Effect.ignore(runner.run(Scripts.RELEASE, [lockKey], [token]))
    // Each attempt may be abandoned (interrupted, or past the store's timeout) after Redis took
    // the lock for us; the release names our token, so sending it when unsure is harmless.
    const acquire = Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      let pause = 10
      for (;;) {
        const got = yield* runner.run(Scripts.ACQUIRE, [lockKey], [token, lockTtl])
        if (got === 1) return true
        const now = yield* Clock.currentTimeMillis
        if (now - start >= lockWait) return false
        yield* Effect.sleep(Math.min(pause, lockWait - (now - start)))
        pause = Math.min(200, pause * 2)
      }
    }).pipe(
      Effect.catchAll((e) =>
        // the release is bounded by the store's timeout; the caller does not wait for it
        Effect.forkDaemon(release).pipe(
          Effect.zipRight(Effect.logWarning("Redis lock unavailable; continuing without it", { error: e.message })),
          Effect.as(false)
        )
      ),
      Effect.tap((held) =>
        held ? Effect.void : Effect.logDebug("Redis lock not acquired in time; continuing without it")
      )
    )
    return Effect.uninterruptibleMask((restore) =>
      restore(acquire).pipe(
        Effect.onInterrupt(() => release),
        Effect.flatMap((held) => Effect.ensuring(restore(effect), held ? release : Effect.void))
      )
    )
  }
