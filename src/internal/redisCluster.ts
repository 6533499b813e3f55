/**
 * The layout of the Redis store on a Redis Cluster.
 *
 * A Cluster runs a script on one node and refuses one whose keys are in different hash slots
 * (CROSSSLOT; https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#key-distribution-model).
 * Only the part of a key between the first `{` and the next `}` is hashed when it is not
 * empty (hash tags, https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags).
 *
 * Under the prefix P (which holds no `{` or `}`):
 *   P e:<section>:{<key>}        the entry (as on a single Redis)   } one tag: the entry's key
 *   P l:{<key>}                  the lock of that key               }
 *   P p:<section>:{<partition>}  the keys of one partition          one tag: the partition
 *   P s:<section>                the partitions of a section
 *   P unknown                    what a deserialised cache held that we do not model
 *
 * Every script touches one key. An entry and its partition set cannot share a tag: a lookup
 * by key does not know the partition, and an MSAL key cannot be parsed back into one (a realm
 * and a scope may both hold `-`). So a write stores the entry (compare-and-set, TTL), then
 * adds it to its partition set; a listing reads the set, then the entries (two round trips),
 * and a member whose entry is gone is removed, then put back if the entry reappeared meanwhile.
 */
import * as Effect from "effect/Effect"
import type { Section } from "../CacheEntry.js"
import { sections } from "../CacheEntry.js"
import type { CacheError } from "../MsalError.js"
import type { Layout, Pair, Prepared, Runner } from "./redisClient.js"
import * as Scripts from "./redisScripts.js"

const CONCURRENCY = 16

const strings = (x: unknown): Array<string> =>
  Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : []

interface Ctx {
  readonly prefix: string
  readonly runner: Runner
  readonly defaultTtl: number
}

const entryKey = (x: Ctx, section: Section, key: string) => `${x.prefix}e:${section}:{${key}}`
const partitionKey = (x: Ctx, section: Section, partition: string) => `${x.prefix}p:${section}:{${partition}}`
const sectionKey = (x: Ctx, section: Section) => `${x.prefix}s:${section}`
const one = (x: Ctx, key: string, command: string, ...args: Array<string | number>) =>
  x.runner.run(Scripts.ONE, [key], [command, ...args])

/** Removes `member` from `set` unless `owner` (the key it stands for) exists again. */
const drop = (x: Ctx, set: string, member: string, owner: string) =>
  Effect.gen(function*() {
    yield* one(x, set, "SREM", member)
    const ttl = yield* one(x, owner, "PTTL")
    if (typeof ttl === "number" && ttl !== -2)
      yield* x.runner.run(Scripts.INDEX, [set], [member, ttl > 0 ? ttl : x.defaultTtl])
  })

const listPartition = (x: Ctx, section: Section, partition: string) =>
  Effect.gen(function*() {
    const set = partitionKey(x, section, partition)
    const members = strings(yield* one(x, set, "SMEMBERS"))
    const values = yield* Effect.forEach(members, (k) => x.runner.hget(entryKey(x, section, k), "d"), {
      concurrency: CONCURRENCY
    })
    const pairs: Array<Pair> = []
    const stale: Array<string> = []
    members.forEach((k, i) => {
      const v = values[i]
      if (typeof v === "string") pairs.push([k, v])
      else stale.push(k)
    })
    yield* Effect.forEach(stale, (k) => drop(x, set, k, entryKey(x, section, k)), {
      concurrency: CONCURRENCY,
      discard: true
    })
    return pairs
  })

const listSection = (x: Ctx, section: Section) =>
  Effect.gen(function*() {
    const partitions = strings(yield* one(x, sectionKey(x, section), "SMEMBERS"))
    const lists = yield* Effect.forEach(partitions, (p) =>
      Effect.tap(listPartition(x, section, p), (pairs) =>
        pairs.length === 0 ? drop(x, sectionKey(x, section), p, partitionKey(x, section, p)) : Effect.void), {
      concurrency: CONCURRENCY
    })
    return lists.flat()
  })

/** One change: 1 when a newer refresh token was kept. */
const apply = (x: Ctx, c: Prepared): Effect.Effect<number, CacheError> =>
  c.op === "R" ? Effect.as(one(x, entryKey(x, c.section, c.key), "DEL"), 0) : Effect.gen(function*() {
    const stored = yield* x.runner.run(Scripts.PUT_ENTRY, [entryKey(x, c.section, c.key)], [
      c.payload,
      c.version,
      c.ttl,
      c.cas ? 1 : 0
    ])
    if (stored !== 1) return 1
    const created = yield* x.runner.run(Scripts.INDEX, [partitionKey(x, c.section, c.partition)], [c.key, c.ttl])
    if (created === 1) yield* one(x, sectionKey(x, c.section), "SADD", c.partition)
    return 0
  })

/** Changes to one key stay in order; different keys are written at once. */
const write = (x: Ctx, changes: ReadonlyArray<Prepared>) => {
  const byKey = new Map<string, Array<Prepared>>()
  for (const c of changes) {
    const k = entryKey(x, c.section, c.key)
    const group = byKey.get(k)
    if (group === undefined) byKey.set(k, [c])
    else group.push(c)
  }
  return Effect.map(
    Effect.forEach(byKey.values(), (group) => Effect.forEach(group, (c) => apply(x, c)), { concurrency: CONCURRENCY }),
    (lost) => lost.flat().reduce((a, b) => a + b, 0)
  )
}

const clearSection = (x: Ctx, section: Section) =>
  Effect.gen(function*() {
    const partitions = strings(yield* one(x, sectionKey(x, section), "SMEMBERS"))
    yield* Effect.forEach(partitions, (p) =>
      Effect.gen(function*() {
        const members = strings(yield* one(x, partitionKey(x, section, p), "SMEMBERS"))
        yield* Effect.forEach(members, (k) => one(x, entryKey(x, section, k), "DEL"), { concurrency: CONCURRENCY })
        yield* one(x, partitionKey(x, section, p), "DEL")
      }), { concurrency: CONCURRENCY, discard: true })
    yield* one(x, sectionKey(x, section), "DEL")
  })

/** @internal */
export const make = (prefix: string, runner: Runner, defaultTtl: number): Layout => {
  const x: Ctx = { prefix, runner, defaultTtl }
  return {
    entryKey: (section, key) => entryKey(x, section, key),
    lockKey: (key) => `${prefix}l:{${key}}`,
    unknownKey: `${prefix}unknown`,
    list: (section, partition) =>
      partition === undefined ? listSection(x, section) : listPartition(x, section, partition),
    write: (changes) => write(x, changes),
    clear: Effect.forEach(sections, (section) => clearSection(x, section), { discard: true })
  }
}
