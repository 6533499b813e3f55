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
import { Effect } from "effect"
import type { Section } from "../CacheEntry.js"
import { sections } from "../CacheEntry.js"
import type { CacheError } from "../MsalError.js"
import type { Layout, Pair, Prepared, Runner } from "./redisClient.js"
import * as Scripts from "./redisScripts.js"

const CONCURRENCY = 16

const strings = (x: unknown): Array<string> => Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : []

/** @internal */
export const make = (prefix: string, runner: Runner, defaultTtl: number): Layout => {
  const { hget, run } = runner
  const entryKey = (section: Section, key: string) => `${prefix}e:${section}:{${key}}`
  const partitionKey = (section: Section, partition: string) => `${prefix}p:${section}:{${partition}}`
  const sectionKey = (section: Section) => `${prefix}s:${section}`
  const one = (key: string, command: string, ...args: Array<string | number>) => run(Scripts.ONE, [key], [command, ...args])

  /** Removes `member` from `set` unless `owner` (the key it stands for) exists again. */
  const drop = (set: string, member: string, owner: string) =>
    Effect.gen(function*() {
      yield* one(set, "SREM", member)
      const ttl = yield* one(owner, "PTTL")
      if (typeof ttl === "number" && ttl !== -2) yield* run(Scripts.INDEX, [set], [member, ttl > 0 ? ttl : defaultTtl])
    })

  const listPartition = (section: Section, partition: string) =>
    Effect.gen(function*() {
      const set = partitionKey(section, partition)
      const members = strings(yield* one(set, "SMEMBERS"))
      const values = yield* Effect.forEach(members, (k) => hget(entryKey(section, k), "d"), { concurrency: CONCURRENCY })
      const pairs: Array<Pair> = []
      const stale: Array<string> = []
      members.forEach((k, i) => {
        const v = values[i]
        if (typeof v === "string") pairs.push([k, v])
        else stale.push(k)
      })
      yield* Effect.forEach(stale, (k) => drop(set, k, entryKey(section, k)), { concurrency: CONCURRENCY, discard: true })
      return pairs
    })

  const listSection = (section: Section) =>
    Effect.gen(function*() {
      const partitions = strings(yield* one(sectionKey(section), "SMEMBERS"))
      const lists = yield* Effect.forEach(partitions, (p) =>
        Effect.tap(listPartition(section, p), (pairs) =>
          pairs.length === 0 ? drop(sectionKey(section), p, partitionKey(section, p)) : Effect.void), {
        concurrency: CONCURRENCY
      })
      return lists.flat()
    })

  /** One change: 1 when a newer refresh token was kept. */
  const apply = (c: Prepared): Effect.Effect<number, CacheError> =>
    c.op === "R" ? Effect.as(one(entryKey(c.section, c.key), "DEL"), 0) : Effect.gen(function*() {
      const stored = yield* run(Scripts.PUT_ENTRY, [entryKey(c.section, c.key)], [c.payload, c.version, c.ttl, c.cas ? 1 : 0])
      if (stored !== 1) return 1
      const created = yield* run(Scripts.INDEX, [partitionKey(c.section, c.partition)], [c.key, c.ttl])
      if (created === 1) yield* one(sectionKey(c.section), "SADD", c.partition)
      return 0
    })

  /** Changes to one key stay in order; different keys are written at once. */
  const write = (changes: ReadonlyArray<Prepared>) => {
    const byKey = new Map<string, Array<Prepared>>()
    for (const c of changes) {
      const k = entryKey(c.section, c.key)
      const group = byKey.get(k)
      if (group === undefined) byKey.set(k, [c])
      else group.push(c)
    }
    return Effect.map(
      Effect.forEach(byKey.values(), (group) => Effect.forEach(group, apply), { concurrency: CONCURRENCY }),
      (lost) => lost.flat().reduce((a, b) => a + b, 0)
    )
  }

  const clearSection = (section: Section) =>
    Effect.gen(function*() {
      const partitions = strings(yield* one(sectionKey(section), "SMEMBERS"))
      yield* Effect.forEach(partitions, (p) =>
        Effect.gen(function*() {
          const members = strings(yield* one(partitionKey(section, p), "SMEMBERS"))
          yield* Effect.forEach(members, (k) => one(entryKey(section, k), "DEL"), { concurrency: CONCURRENCY })
          yield* one(partitionKey(section, p), "DEL")
        }), { concurrency: CONCURRENCY, discard: true })
      yield* one(sectionKey(section), "DEL")
    })

  return {
    entryKey,
    lockKey: (key) => `${prefix}l:{${key}}`,
    unknownKey: `${prefix}unknown`,
    list: (section, partition) => partition === undefined ? listSection(section) : listPartition(section, partition),
    write,
    clear: Effect.forEach(sections, clearSection, { discard: true })
  }
}
