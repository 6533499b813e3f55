/**
 * Where tokens are kept: the `TokenCache` service and its stores.
 *
 * Entries are those of the MSAL unified cache schema (see `CacheEntry`). Every lookup a grant
 * makes is by a computed key (O(1) in the number of cached tokens); the superset-of-scopes
 * fallback scans one partition (client, environment, tenant, account), never the whole cache.
 * The interface is effectful so that file and distributed stores can implement it.
 *
 * | store | for | shared between |
 * | --- | --- | --- |
 * | `layerMemory` | one process (the default) | fibers of one process |
 * | `layerFile` | CLIs, jobs, a few processes on one machine | processes sharing one file |
 * | `layerRedis` | many instances of a service | machines sharing one Redis |
 * | `layerRedisCluster` | the same, on a Redis Cluster | machines sharing one cluster |
 * | `layerHooks` | a store of your own (MSAL cache-plugin style) | whatever your hooks share |
 *
 * See `docs/caches.md` for the guarantees and failure behaviour of each.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Entries, Section } from "./CacheEntry.js"
import { wrap as wrapWithHooks } from "./internal/cacheHooks.js"
import * as file from "./internal/fileCache.js"
import * as memory from "./internal/memoryCache.js"
import * as serialization from "./internal/serialization.js"
import type { CacheError } from "./MsalError.js"

/**
 * One change to the cache: an upsert of an entry (by its key) or a removal by key.
 *
 * @since 0.1.0
 * @category models
 */
export type Change =
  | { readonly [S in Section]: { readonly _tag: "Put"; readonly section: S; readonly entry: Entries[S] } }[Section]
  | { readonly _tag: "Remove"; readonly section: Section; readonly key: string }

/**
 * The whole content of a cache: decoded entries, plus whatever the serialised form held that
 * this library does not understand (kept so that it survives a round trip).
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly entries: { readonly [S in Section]: ReadonlyArray<Entries[S]> }
  readonly unknown: Readonly<Record<string, unknown>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The entry with this key (see `CacheEntry.keyOf`). */
  readonly get: <S extends Section>(section: S, key: string) => Effect.Effect<Option.Option<Entries[S]>, CacheError>
  /** The entries of one partition (see `CacheEntry.partitionOf`), or of the whole section. */
  readonly list: <S extends Section>(
    section: S,
    partition?: string | undefined
  ) => Effect.Effect<ReadonlyArray<Entries[S]>, CacheError>
  /** Applies changes atomically, in order. */
  readonly modify: (changes: ReadonlyArray<Change>) => Effect.Effect<void, CacheError>
  /** Everything in the cache. */
  readonly snapshot: Effect.Effect<Snapshot, CacheError>
  /** Replaces everything in the cache. */
  readonly restore: (snapshot: Snapshot) => Effect.Effect<void, CacheError>
  /**
   * Present on stores shared between processes (file, Redis): runs `effect` while holding a
   * short lock named `key` shared by every process using the store, so that N processes that
   * miss the same token send one request. Waiting for the lock is bounded; when the lock
   * cannot be had in time (or the store fails), `effect` runs anyway, unlocked.
   *
   * A grant calls it around "look up again, else fetch and store", keyed by the cache key.
   */
  readonly withLock?: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenCache extends Context.Tag("effect-msal/TokenCache")<TokenCache, Service>() {}

/**
 * Which MSAL a serialised cache is written for. Both read one schema; `"msal-node"` (the
 * default) writes app tokens with `home_account_id: ""` and a camelCase `userAssertionHash`
 * beside `user_assertion_hash`; `"msal-python"` writes `home_account_id: null` and the public
 * cloud's environment as `login.microsoftonline.com`. Reading accepts either.
 *
 * @since 0.1.0
 * @category models
 */
export type Format = "msal-node" | "msal-python"

/**
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /**
   * The most entries kept, all sections together (default 100,000). When a write goes past
   * it, expired access tokens are dropped first, then the least recently used entries (a
   * read that finds an entry counts as a use). `Infinity` for no bound.
   */
  readonly maxEntries?: number | undefined
}

/**
 * The default `maxEntries` of the in-memory cache: 100,000.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_ENTRIES: number = memory.DEFAULT_MAX_ENTRIES

/**
 * An in-memory cache, private to one process, bounded (see `MemoryOptions`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: (options?: MemoryOptions) => Effect.Effect<Service> = memory.make

/**
 * An in-memory cache, private to one process, bounded (see `MemoryOptions`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<TokenCache> =>
  Layer.effect(TokenCache, makeMemory(options))

/**
 * A 256-bit AES key for encryption at rest, with the id stored beside each ciphertext so
 * that keys can be rotated.
 *
 * @since 0.1.0
 * @category models
 */
export interface EncryptionKey {
  /** Stored in clear with every ciphertext; never the key itself. */
  readonly id: string
  /**
   * Exactly 32 random bytes, or their standard base64 (44 characters ending in `=`, as
   * `openssl rand -base64 32` prints). Other encodings, lengths, all-zero or low-entropy keys
   * and pass phrases fail with `CacheError` (`reason: "Encryption"`).
   */
  readonly key: Redacted.Redacted<Uint8Array | string>
}

/**
 * AES-256-GCM encryption at rest: new data is encrypted with `key`; data written under an
 * older key is still read when that key is in `previousKeys`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Encryption {
  readonly key: EncryptionKey
  readonly previousKeys?: ReadonlyArray<EncryptionKey> | undefined
  /**
   * Read a cache file written in clear once, to encrypt it (the migration to encryption).
   * Off by default: with encryption on, a clear file is treated as damaged (moved aside), since
   * anyone able to write it could otherwise plant tokens. Redis never reads clear values.
   */
  readonly migrateFromPlaintext?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FileOptions extends MemoryOptions {
  /** The format the file is written in (default `"msal-node"`). */
  readonly format?: Format | undefined
  /** How long to wait for the file's lock before failing with `CacheError` (default 15 seconds). */
  readonly lockTimeout?: Duration.DurationInput | undefined
  /**
   * The lock is a lease renewed by its holder every quarter of this; one not renewed for this
   * long (its holder died or hung) is taken over (default 10 seconds).
   */
  readonly staleLockAfter?: Duration.DurationInput | undefined
  /** Encrypts the file (the MSAL format is then inside the envelope). */
  readonly encryption?: Encryption | undefined
  /**
   * How long a cache hit is served from memory before the file is checked again (one `stat`,
   * and a read only when another process replaced it); default 1 second. Shorter shows other
   * processes' writes sooner and costs a `stat` per hit at 0; a miss always checks.
   */
  readonly recheckInterval?: Duration.DurationInput | undefined
}

/**
 * A cache kept in a file shared by the processes of one machine (see `docs/caches.md`).
 *
 * Loaded when the layer is built; served from memory; written (atomically, mode 0600) only
 * after a change, as a read-modify-write under a cross-process lock so that processes sharing
 * the file lose none of each other's tokens. A file that cannot be read is moved aside, logged
 * and replaced by an empty cache. Provides `withLock` (per-key lock files).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (path: string, options?: FileOptions): Layer.Layer<TokenCache, CacheError> =>
  Layer.scoped(TokenCache, file.make(path, options ?? {}))

/**
 * The part of a Redis client the Redis store uses: an `ioredis` `Redis` (for `layerRedis`) or
 * `Cluster` (for `layerRedisCluster`) has it. Described here, so that programs that do not use
 * Redis need neither `ioredis` nor its types.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisClient {
  readonly eval: (script: string, numkeys: number, ...args: Array<string | number>) => Promise<unknown>
  readonly evalsha: (sha1: string, numkeys: number, ...args: Array<string | number>) => Promise<unknown>
  readonly hget: (key: string, field: string) => Promise<string | null>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RedisOptions {
  /** A `redis://` URL: the layer opens an ioredis client and closes it with its scope. */
  readonly url?: string | undefined
  /** A client you own (not closed by the layer). One of `url` and `client` is required. */
  readonly client?: RedisClient | undefined
  /** Prefix of every key (default `"msal:"`): one prefix per application. */
  readonly prefix?: string | undefined
  /** TTL of entries that do not expire by themselves (refresh tokens, accounts; default 90 days). */
  readonly defaultTtl?: Duration.DurationInput | undefined
  /** How long a cross-instance lock is held at most (default 30 seconds). */
  readonly lockTtl?: Duration.DurationInput | undefined
  /** How long `withLock` waits for another instance's lock (default 15 seconds). */
  readonly lockWait?: Duration.DurationInput | undefined
  /**
   * How long one operation on Redis may take (default 3 seconds); past it, the access fails
   * with `CacheError` (`reason: "Io"`), so a stuck Redis never holds a token call. Keep it
   * below the client's `timeout`.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Encrypts every value. */
  readonly encryption?: Encryption | undefined
}

/**
 * A cache in Redis, shared by many instances on many machines (see `docs/caches.md`): one
 * Redis key per entry with a TTL from its expiry, a set per partition so that every lookup is
 * one round trip, refresh tokens written with compare-and-set, and `withLock` for a
 * cross-instance single-flight. The `ioredis` module is loaded only when this layer is built.
 * For a Redis Cluster, use `layerRedisCluster`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRedis = (options: RedisOptions): Layer.Layer<TokenCache, CacheError> =>
  Layer.scoped(
    TokenCache,
    Effect.flatMap(Effect.promise(() => import("./internal/redisCache.js")), (m) => m.make(options))
  )

/**
 * A node of a Redis Cluster: `"host:port"` or `{ host, port }`.
 *
 * @since 0.1.0
 * @category models
 */
export type RedisClusterNode = string | { readonly host: string; readonly port: number }

/**
 * @since 0.1.0
 * @category models
 */
export interface RedisClusterOptions extends Omit<RedisOptions, "url"> {
  /**
   * Some nodes of the cluster (the others are discovered): the layer opens an ioredis
   * `Cluster` and closes it with its scope. One of `nodes` and `client` (an ioredis `Cluster`
   * you own) is required.
   */
  readonly nodes?: ReadonlyArray<RedisClusterNode> | undefined
}

/**
 * The Redis store on a Redis Cluster (Azure Cache for Redis clustered tiers, Amazon
 * ElastiCache cluster mode, `cluster-enabled yes`), with the guarantees of `layerRedis`: one
 * authority request per key across instances, compare-and-set for refresh tokens, TTLs from
 * expiry, encryption at rest. Keys carry hash tags so that no script spans two slots;
 * redirections (MOVED, ASK) and failovers are followed by ioredis. The layout differs from
 * `layerRedis`'s (see `docs/caches.md`): moving a cache to a cluster means new tokens, or
 * `TokenCache.serialize` from the old store and `TokenCache.deserialize` into the new one.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRedisCluster = (options: RedisClusterOptions): Layer.Layer<TokenCache, CacheError> =>
  Layer.scoped(
    TokenCache,
    Effect.flatMap(Effect.promise(() => import("./internal/redisCache.js")), (m) => m.makeCluster(options))
  )

/**
 * One access to the cache, as seen by `CacheHooks`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Access {
  /** `"read"` for `get`, `list` and `snapshot`; `"write"` for `modify` and `restore`. */
  readonly kind: "read" | "write"
  /** The section accessed (absent for `snapshot` and `restore`). */
  readonly section?: Section | undefined
  /** In `afterAccess`: whether the access changed the cache. Always false in `beforeAccess`. */
  readonly changed: boolean
  /** The cache's content in the MSAL unified JSON format. */
  readonly serialize: (options?: { readonly format?: Format | undefined }) => Effect.Effect<string, CacheError>
  /** Replaces the cache's content (see `TokenCache.deserialize`). */
  readonly deserialize: (json: string) => Effect.Effect<void, CacheError>
}

/**
 * Hooks around every access to a cache, as MSAL's cache plugins: `beforeAccess` typically
 * loads the serialised cache from your store (`access.deserialize`) and `afterAccess` saves it
 * when `access.changed` (`access.serialize()`).
 *
 * @since 0.1.0
 * @category tags
 */
export class CacheHooks extends Context.Tag("effect-msal/TokenCache/CacheHooks")<CacheHooks, {
  readonly beforeAccess: (access: Access) => Effect.Effect<void, CacheError>
  readonly afterAccess: (access: Access) => Effect.Effect<void, CacheError>
}>() {}

/**
 * An in-memory cache whose every access runs the `CacheHooks` service around it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHooks = (options?: MemoryOptions): Layer.Layer<TokenCache, never, CacheHooks> =>
  Layer.effect(
    TokenCache,
    Effect.flatMap(
      Effect.all([makeMemory(options), CacheHooks]),
      ([inner, h]) => Effect.succeed(wrapWithHooks(inner, h))
    )
  )

/**
 * @since 0.1.0
 * @category models
 */
export interface SerializeOptions {
  /** Default `"msal-node"`. */
  readonly format?: Format | undefined
}

/**
 * The cache in the MSAL unified JSON format, written for `format` (see `Format`).
 *
 * @since 0.1.0
 * @category serialization
 */
export const serializeWith = (options?: SerializeOptions): Effect.Effect<string, CacheError, TokenCache> =>
  Effect.flatMap(TokenCache, (cache) => Effect.map(cache.snapshot, (s) => serialization.encode(s, options?.format)))

/**
 * The cache in the MSAL unified JSON format, as msal-node writes it (see `serializeWith`).
 *
 * @since 0.1.0
 * @category serialization
 */
export const serialize: Effect.Effect<string, CacheError, TokenCache> = serializeWith()

/**
 * Replaces the cache's content with a cache in the MSAL unified JSON format, as written by
 * this library, msal-node or MSAL Python. Empty input is an empty cache; malformed input
 * fails with `CacheError` and changes nothing. Unknown sections and fields are kept.
 *
 * @since 0.1.0
 * @category serialization
 */
export const deserialize = (json: string): Effect.Effect<void, CacheError, TokenCache> =>
  Effect.flatMap(TokenCache, (cache) => Effect.flatMap(serialization.decode(json), cache.restore))
