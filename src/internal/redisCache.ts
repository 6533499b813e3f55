import { createHash, randomBytes } from "node:crypto"
import type { Scope } from "effect"
import { Clock, Duration, Effect, Either, Option } from "effect"
import type { Redis } from "ioredis"
import type { Entries, Section } from "../CacheEntry.js"
import { sections } from "../CacheEntry.js"
import { CacheError } from "../MsalError.js"
import type { Change, RedisOptions, Service, Snapshot } from "../TokenCache.js"
import { keyOf, partitionOf } from "./cacheKey.js"
import * as Crypto from "./cacheCrypto.js"
import * as serialization from "./serialization.js"

/** The commands the store sends: everything else is a Lua script. @internal */
export type RedisClient = Pick<Redis, "eval" | "evalsha" | "hget">

const DEFAULT_TTL = Duration.days(90)
const DEFAULT_LOCK_TTL = Duration.seconds(30)
const DEFAULT_LOCK_WAIT = Duration.seconds(15)

/*
 * Layout under the prefix P:
 *   P e:<section>:<key>        hash {d: the entry (MSAL JSON, maybe encrypted), v: version}, TTL from expiry
 *   P p:<section>:<partition>  set of the keys of one partition (stale members dropped when met)
 *   P s:<section>              set of the partitions of a section (for whole-section listings)
 *   P l:<key>                  a cross-instance lock (random token, PX)
 *   P unknown                  what a deserialised cache held that we do not model
 */

/** Members of one partition as key, value, key, value…, stale ones dropped: one round trip. */
const LIST_PARTITION = `
local out = {}
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('HGET', ARGV[1] .. k, 'd')
  if v then out[#out + 1] = k; out[#out + 1] = v else redis.call('SREM', KEYS[1], k) end
end
return out`

/** Every entry of a section. */
const LIST_SECTION = `
local out = {}
for _, p in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local pk = ARGV[2] .. p
  local n = 0
  for _, k in ipairs(redis.call('SMEMBERS', pk)) do
    local v = redis.call('HGET', ARGV[1] .. k, 'd')
    if v then out[#out + 1] = k; out[#out + 1] = v; n = n + 1 else redis.call('SREM', pk, k) end
  end
  if n == 0 then redis.call('SREM', KEYS[1], p) end
end
return out`

/**
 * Applies changes atomically. ARGV: prefix, then 8 values per change: op (P|R), section, key,
 * partition, payload, version, ttl (ms), cas (1: keep a stored entry with a higher version).
 * Returns how many puts lost their compare-and-set.
 */
const MODIFY = `
local P = ARGV[1]
local lost = 0
for i = 2, #ARGV, 8 do
  local op, section, key = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local ek = P .. 'e:' .. section .. ':' .. key
  if op == 'R' then
    redis.call('DEL', ek)
  else
    local partition, payload, version, ttl = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6])
    local current = ARGV[i + 7] == '1' and redis.call('HGET', ek, 'v')
    if current and tonumber(current) > tonumber(version) then
      lost = lost + 1
    else
      redis.call('HSET', ek, 'd', payload, 'v', version)
      redis.call('PEXPIRE', ek, ttl)
      for _, pair in ipairs({{P .. 'p:' .. section .. ':' .. partition, key}, {P .. 's:' .. section, partition}}) do
        redis.call('SADD', pair[1], pair[2])
        if redis.call('PTTL', pair[1]) < ttl then redis.call('PEXPIRE', pair[1], ttl) end
      end
    end
  end
end
return lost`

/** Removes every entry and index of the sections named in ARGV[2..]. */
const CLEAR = `
local P = ARGV[1]
for i = 2, #ARGV do
  local s = ARGV[i]
  for _, p in ipairs(redis.call('SMEMBERS', P .. 's:' .. s)) do
    local pk = P .. 'p:' .. s .. ':' .. p
    for _, k in ipairs(redis.call('SMEMBERS', pk)) do redis.call('DEL', P .. 'e:' .. s .. ':' .. k) end
    redis.call('DEL', pk)
  end
  redis.call('DEL', P .. 's:' .. s)
end
return 1`

const ACQUIRE = `return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') and 1 or 0`
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`
const SET_UNKNOWN = `if ARGV[1] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[1]) end return 1`
const GET_UNKNOWN = `return redis.call('GET', KEYS[1])`

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex")

const describe = (e: unknown): string => {
  const message = e instanceof Error ? e.message : String(e)
  return message.length > 200 ? `${message.slice(0, 200)}…` : message
}

const ioError = (e: unknown) => new CacheError({ reason: "Io", description: `redis: ${describe(e)}` })

/** @internal */
export const make = (options: RedisOptions): Effect.Effect<Service, CacheError, Scope.Scope> =>
  Effect.gen(function*() {
    const cipher = options.encryption === undefined
      ? undefined
      : yield* Either.match(Crypto.make(options.encryption), { onLeft: Effect.fail, onRight: Effect.succeed })
    const client = yield* connect(options)
    const prefix = options.prefix ?? "msal:"
    const defaultTtl = Duration.toMillis(options.defaultTtl ?? DEFAULT_TTL)
    const lockTtl = Duration.toMillis(options.lockTtl ?? DEFAULT_LOCK_TTL)
    const lockWait = Duration.toMillis(options.lockWait ?? DEFAULT_LOCK_WAIT)
    const entryKey = (section: Section, key: string) => `${prefix}e:${section}:${key}`

    const run = (script: string, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>) => {
      const sha = sha1(script)
      return Effect.tryPromise({
        try: () =>
          client.evalsha(sha, keys.length, ...keys, ...args).catch((e: unknown) => {
            if (describe(e).startsWith("NOSCRIPT")) return client.eval(script, keys.length, ...keys, ...args)
            throw e
          }),
        catch: ioError
      })
    }

    const encodeValue = (section: Section, entry: Entries[Section]) => {
      const json = JSON.stringify(serialization.encodeEntry(section, entry))
      return cipher === undefined ? json : cipher.encrypt(json, entryKey(section, keyOf(section, entry)))
    }

    /** An undecodable or undecryptable value is a miss (and a warning), never a failure of the grant. */
    const decodeValue = <S extends Section>(section: S, raw: string, redisKey: string) =>
      Effect.suspend((): Effect.Effect<Option.Option<Entries[S]>> => {
        let text = raw
        if (cipher !== undefined && !cipher.isEnvelope(raw)) {
          // with encryption on, a clear value is not ours: it could be a token planted by
          // anyone able to write to Redis
          return Effect.as(
            Effect.logWarning("a Redis token cache entry is not encrypted; treated as missing", { section }),
            Option.none()
          )
        }
        if (cipher !== undefined) {
          const plain = cipher.decrypt(raw, redisKey)
          if (Either.isLeft(plain)) {
            return Effect.as(
              Effect.logWarning("a Redis token cache entry could not be decrypted; treated as missing", {
                section,
                error: plain.left.description
              }),
              Option.none()
            )
          }
          text = plain.right
        }
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          return Effect.as(Effect.logWarning("a Redis token cache entry is not JSON; treated as missing", { section }), Option.none())
        }
        return Effect.succeed(Either.getRight(serialization.decodeEntry(section, parsed)))
      })

    /** Flattened key, value pairs from a listing script. */
    const decodeMany = <S extends Section>(section: S, flat: unknown) => {
      const pairs: Array<readonly [string, string]> = []
      if (Array.isArray(flat)) {
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const k: unknown = flat[i]
          const v: unknown = flat[i + 1]
          if (typeof k === "string" && typeof v === "string") pairs.push([k, v])
        }
      }
      return Effect.map(
        Effect.forEach(pairs, ([k, v]) => decodeValue(section, v, entryKey(section, k))),
        (xs) => xs.flatMap((x) => Option.isSome(x) ? [x.value] : [])
      )
    }

    const get = <S extends Section>(section: S, key: string) => {
      const redisKey = entryKey(section, key)
      return Effect.tryPromise({ try: () => client.hget(redisKey, "d"), catch: ioError }).pipe(
        Effect.flatMap((raw) => raw === null ? Effect.succeedNone : decodeValue(section, raw, redisKey))
      )
    }

    const list = <S extends Section>(section: S, partition?: string) =>
      partition === undefined
        ? Effect.flatMap(
          run(LIST_SECTION, [`${prefix}s:${section}`], [`${prefix}e:${section}:`, `${prefix}p:${section}:`]),
          (raws) => decodeMany(section, raws)
        )
        : Effect.flatMap(
          run(LIST_PARTITION, [`${prefix}p:${section}:${partition}`], [`${prefix}e:${section}:`]),
          (raws) => decodeMany(section, raws)
        )

    const argsOf = (change: Change, nowMillis: number): ReadonlyArray<string | number> | undefined => {
      if (change._tag === "Remove") return ["R", change.section, change.key, "", "", 0, 0, 0]
      const { entry, section } = change
      let ttl = defaultTtl
      let version = 0
      if (section === "AccessToken") {
        ttl = entry.expires_on * 1000 - nowMillis
        if (ttl <= 0) return ["R", section, keyOf(section, entry), "", "", 0, 0, 0]
      } else if (section === "RefreshToken") {
        version = entry.last_modification_time ?? 0
      }
      return [
        "P",
        section,
        keyOf(section, entry),
        partitionOf(section, entry),
        encodeValue(section, entry),
        version,
        Math.ceil(ttl),
        section === "RefreshToken" ? 1 : 0
      ]
    }

    const modify = (changes: ReadonlyArray<Change>) =>
      changes.length === 0 ? Effect.void : Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const args: Array<string | number> = [prefix]
        for (const change of changes) args.push(...(argsOf(change, now) ?? []))
        const lost = yield* run(MODIFY, [], args)
        if (typeof lost === "number" && lost > 0) {
          yield* Effect.logDebug("a newer refresh token is already in Redis; kept it", { count: lost })
        }
      })

    const snapshot = Effect.gen(function*() {
      const entries = yield* Effect.all({
        AccessToken: list("AccessToken"),
        RefreshToken: list("RefreshToken"),
        IdToken: list("IdToken"),
        Account: list("Account"),
        AppMetadata: list("AppMetadata")
      })
      const raw = yield* run(GET_UNKNOWN, [`${prefix}unknown`], [])
      let unknown: Record<string, unknown> = {}
      if (typeof raw === "string") {
        try {
          unknown = JSON.parse(raw) as Record<string, unknown>
        } catch {
          unknown = {}
        }
      }
      return { entries, unknown } satisfies Snapshot
    })

    const restore = (s: Snapshot) =>
      Effect.gen(function*() {
        yield* run(CLEAR, [], [prefix, ...sections])
        const changes: Array<Change> = []
        for (const section of sections) {
          for (const entry of s.entries[section] as ReadonlyArray<Entries[Section]>) {
            changes.push({ _tag: "Put", section, entry } as Change)
          }
        }
        yield* modify(changes)
        const unknown = Object.keys(s.unknown).length === 0 ? "" : JSON.stringify(s.unknown)
        yield* run(SET_UNKNOWN, [`${prefix}unknown`], [unknown])
      })

    const withLock = <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
      const lockKey = `${prefix}l:${key}`
      const token = randomBytes(16).toString("hex")
      const release = Effect.ignore(run(RELEASE, [lockKey], [token]))
      let taken = false
      // the waiting is interruptible; each attempt is not, and a lock taken just before an
      // interruption is released
      const acquire = Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        let pause = 10
        for (;;) {
          const got = yield* Effect.uninterruptible(
            Effect.tap(run(ACQUIRE, [lockKey], [token, lockTtl]), (g) => Effect.sync(() => (taken = g === 1)))
          )
          if (got === 1) return true
          const now = yield* Clock.currentTimeMillis
          if (now - start >= lockWait) return false
          yield* Effect.sleep(Math.min(pause, lockWait - (now - start)))
          pause = Math.min(200, pause * 2)
        }
      }).pipe(
        Effect.catchAll((e) => Effect.as(Effect.logWarning("Redis lock unavailable; continuing without it", { error: e.message }), false)),
        Effect.tap((held) => held ? Effect.void : Effect.logDebug("Redis lock not acquired in time; continuing without it"))
      )
      return Effect.uninterruptibleMask((restore) =>
        restore(acquire).pipe(
          Effect.onInterrupt(() => (taken ? release : Effect.void)),
          Effect.flatMap((held) => Effect.ensuring(restore(effect), held ? release : Effect.void))
        )
      )
    }

    return { get, list, modify, snapshot, restore, withLock }
  })

const connect = (options: RedisOptions): Effect.Effect<RedisClient, CacheError, Scope.Scope> => {
  if (options.client !== undefined) return Effect.succeed(options.client)
  const url = options.url
  if (url === undefined) {
    return Effect.fail(new CacheError({ reason: "Io", description: "layerRedis needs a url or a client" }))
  }
  return Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const { Redis } = await import("ioredis")
        const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 })
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
}
