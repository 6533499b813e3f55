/**
 * The Redis client the store talks to, described structurally so that neither the published
 * types nor a bundle need `ioredis` (an optional peer) unless a Redis layer is built.
 */
import { createHash } from "node:crypto"
import type * as Scope from "effect/Scope"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { Section } from "../CacheEntry.js"
import { CacheError } from "../MsalError.js"

/**
 * The three commands the store sends (everything else is a Lua script). An ioredis `Redis` or
 * `Cluster` has them. @internal
 */
import type { RedisClient, RedisClusterNode as ClusterNode } from "../TokenCache.js"

export type { ClusterNode, RedisClient }

/** What the layers need to open a client of their own. @internal */
interface Owned extends RedisClient {
  readonly connect: () => Promise<void>
  readonly quit: () => Promise<unknown>
  readonly disconnect: () => void
  readonly on: (event: "error", listener: (e: unknown) => void) => unknown
}

/** The part of the `ioredis` module used here. */
interface IoRedisModule {
  readonly Redis: new(url: string, options: Record<string, unknown>) => Owned
  readonly Cluster: new(nodes: ReadonlyArray<ClusterNode>, options: Record<string, unknown>) => Owned
}

/**
 * The module name is not a string literal in the `import()`: bundlers (esbuild, webpack,
 * Rollup, Vite) leave such an import alone, so a bundle of a program that never builds a Redis
 * layer neither needs nor contains `ioredis`.
 */
const IOREDIS = "ioredis"
const loadIoRedis = (): Promise<IoRedisModule> =>
  import(/* webpackIgnore: true */ /* @vite-ignore */ IOREDIS) as Promise<IoRedisModule>

const describe = (e: unknown): string => {
  const message = e instanceof Error ? e.message : String(e)
  return message.length > 200 ? `${message.slice(0, 200)}…` : message
}

/** @internal */
export const ioError = (e: unknown): CacheError =>
  new CacheError({ reason: "Io", description: `redis: ${describe(e)}` })

/** @internal */
export const isNoScript = (e: unknown): boolean => describe(e).startsWith("NOSCRIPT")

/**
 * Opens a client (closed with the scope). `commandTimeout` bounds every command on the
 * connection (ioredis `commandTimeout`, https://github.com/redis/ioredis#options); the store
 * bounds every operation on its own as well, for clients it is given.
 */
const open = (create: (m: IoRedisModule) => Owned): Effect.Effect<RedisClient, CacheError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const client = create(await loadIoRedis())
        // failures reach us through the commands; without a listener ioredis prints them
        client.on("error", () => undefined)
        try {
          await client.connect()
        } catch (e) {
          client.disconnect()
          throw e
        }
        return client
      },
      catch: ioError
    }),
    (client) => Effect.promise(() => client.quit().catch(() => client.disconnect()))
  )

/** A single Redis server. @internal */
export const openSingle = (url: string, timeout: Duration.Duration) =>
  open((m) =>
    new m.Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      commandTimeout: Duration.toMillis(timeout)
    })
  )

/**
 * A Redis Cluster from some of its nodes (ioredis discovers the others with CLUSTER SLOTS and
 * follows MOVED and ASK redirections itself: https://github.com/redis/ioredis#cluster).
 * During a failover, ioredis retries a command while the cluster is down
 * (`retryDelayOnClusterDown`) or a node is unreachable (`retryDelayOnFailover`), up to
 * `maxRedirections` times; the store's own timeout bounds the whole wait.
 */
export const openCluster = (nodes: ReadonlyArray<ClusterNode>, timeout: Duration.Duration) =>
  open((m) =>
    new m.Cluster(nodes, {
      lazyConnect: true,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      slotsRefreshTimeout: Math.max(500, Duration.toMillis(timeout)),
      redisOptions: { maxRetriesPerRequest: 2, commandTimeout: Duration.toMillis(timeout) }
    })
  )

/** A change ready for Redis: the value encoded, the TTL computed. @internal */
export type Prepared =
  | { readonly op: "R"; readonly section: Section; readonly key: string }
  | {
    readonly op: "P"
    readonly section: Section
    readonly key: string
    readonly partition: string
    readonly payload: string
    readonly version: number
    readonly ttl: number
    readonly cas: boolean
  }

/** Key names and the operations whose shape depends on single Redis or Cluster. @internal */
export interface Layout {
  readonly entryKey: (section: Section, key: string) => string
  readonly lockKey: (key: string) => string
  readonly unknownKey: string
  /** `[key, stored value]` pairs of a partition, or of the whole section. */
  readonly list: (section: Section, partition: string | undefined) => Effect.Effect<ReadonlyArray<Pair>, CacheError>
  /** Writes the changes; returns how many puts lost their compare-and-set. */
  readonly write: (changes: ReadonlyArray<Prepared>) => Effect.Effect<number, CacheError>
  /** Removes every entry and index. */
  readonly clear: Effect.Effect<void, CacheError>
}

/** @internal */
export type Pair = readonly [key: string, value: string]

/** Round trips, each bounded by the store's timeout. @internal */
export interface Runner {
  readonly run: (
    script: string,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number>
  ) => Effect.Effect<unknown, CacheError>
  readonly hget: (key: string, field: string) => Effect.Effect<string | null, CacheError>
  /** Bounds an operation of `roundTrips` sequential round trips (default 1) by that many timeouts. */
  readonly bound: <A, R>(
    effect: Effect.Effect<A, CacheError, R>,
    roundTrips?: number
  ) => Effect.Effect<A, CacheError, R>
}

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex")

/** @internal */
export const makeRunner = (client: RedisClient, timeout: Duration.Duration): Runner => {
  const bound = <A, R>(effect: Effect.Effect<A, CacheError, R>, roundTrips = 1) => {
    const duration = Duration.times(timeout, Math.max(1, roundTrips))
    // The wait is interruptible even where the caller is not (a lock attempt, a finalizer's
    // release): otherwise the timeout would wait for a promise that a client without a command
    // timeout of its own never settles. Redis runs each script whole, so abandoning the wait
    // cannot leave a half-applied change.
    return Effect.timeoutFail(Effect.interruptible(effect), {
      duration,
      onTimeout: () =>
        new CacheError({ reason: "Io", description: `redis: no answer within ${Duration.format(duration)}` })
    })
  }
  const shas = new Map<string, string>()
  const run = (script: string, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>) => {
    let sha = shas.get(script)
    if (sha === undefined) shas.set(script, sha = sha1(script))
    const h = sha
    return bound(Effect.tryPromise({
      try: () =>
        client.evalsha(h, keys.length, ...keys, ...args).catch((e: unknown) => {
          if (isNoScript(e)) return client.eval(script, keys.length, ...keys, ...args)
          throw e
        }),
      catch: ioError
    }))
  }
  const hget = (key: string, field: string) =>
    bound(Effect.tryPromise({ try: () => client.hget(key, field), catch: ioError }))
  return { run, hget, bound }
}

/** Flattened key, value pairs from a listing script. @internal */
export const pairsOf = (flat: unknown): Array<Pair> => {
  const pairs: Array<Pair> = []
  if (Array.isArray(flat)) {
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const k: unknown = flat[i]
      const v: unknown = flat[i + 1]
      if (typeof k === "string" && typeof v === "string") pairs.push([k, v])
    }
  }
  return pairs
}
