/** The layout of the Redis store on a single Redis server (every script may touch any key). */
import * as Effect from "effect/Effect"
import type { Section } from "../CacheEntry.js"
import { sections } from "../CacheEntry.js"
import type { Layout, Prepared, Runner } from "./redisClient.js"
import { pairsOf } from "./redisClient.js"
import * as Scripts from "./redisScripts.js"

const argsOf = (c: Prepared): ReadonlyArray<string | number> =>
  c.op === "R"
    ? ["R", c.section, c.key, "", "", 0, 0, 0]
    : ["P", c.section, c.key, c.partition, c.payload, c.version, c.ttl, c.cas ? 1 : 0]

/** @internal */
export const make = (prefix: string, runner: Runner): Layout => {
  const { run } = runner
  const list = (section: Section, partition: string | undefined) =>
    Effect.map(
      partition === undefined
        ? run(Scripts.LIST_SECTION, [`${prefix}s:${section}`], [`${prefix}e:${section}:`, `${prefix}p:${section}:`])
        : run(Scripts.LIST_PARTITION, [`${prefix}p:${section}:${partition}`], [`${prefix}e:${section}:`]),
      pairsOf
    )
  const write = (changes: ReadonlyArray<Prepared>) =>
    Effect.map(
      run(Scripts.MODIFY, [], [prefix, ...changes.flatMap(argsOf)]),
      (lost) => (typeof lost === "number" ? lost : 0)
    )
  return {
    entryKey: (section, key) => `${prefix}e:${section}:${key}`,
    lockKey: (key) => `${prefix}l:${key}`,
    unknownKey: `${prefix}unknown`,
    list,
    write,
    clear: Effect.asVoid(run(Scripts.CLEAR, [], [prefix, ...sections]))
  }
}
