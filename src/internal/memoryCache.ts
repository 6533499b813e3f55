import { Effect, Option } from "effect"
import type { Entries, Section } from "../CacheEntry.js"
import type { Change, Service, Snapshot } from "../TokenCache.js"
import { keyOf, partitionOf } from "./cacheKey.js"

interface Table<A> {
  readonly byKey: Map<string, A>
  readonly byPartition: Map<string, Set<string>>
}

const table = <A>(): Table<A> => ({ byKey: new Map(), byPartition: new Map() })

type Tables = { readonly [S in Section]: Table<Entries[S]> }

const newTables = (): Tables => ({
  AccessToken: table(),
  RefreshToken: table(),
  IdToken: table(),
  Account: table(),
  AppMetadata: table()
})

const put = <S extends Section>(tables: Tables, section: S, entry: Entries[S]): void => {
  const t = tables[section] as Table<Entries[S]>
  const key = keyOf(section, entry)
  t.byKey.set(key, entry)
  const partition = partitionOf(section, entry)
  let keys = t.byPartition.get(partition)
  if (keys === undefined) {
    keys = new Set()
    t.byPartition.set(partition, keys)
  }
  keys.add(key)
}

const remove = (tables: Tables, section: Section, key: string): void => {
  const t = tables[section] as Table<Entries[Section]>
  const entry = t.byKey.get(key)
  if (entry === undefined) return
  t.byKey.delete(key)
  const partition = partitionOf(section, entry)
  const keys = t.byPartition.get(partition)
  if (keys !== undefined) {
    keys.delete(key)
    if (keys.size === 0) t.byPartition.delete(partition)
  }
}

/** A Map-backed store: O(1) by key, one partition's keys for a scan. @internal */
export const make = (): Effect.Effect<Service> =>
  Effect.sync(() => {
    let tables = newTables()
    let unknown: Readonly<Record<string, unknown>> = {}

    const get = <S extends Section>(section: S, key: string) =>
      Effect.sync(() => Option.fromNullable((tables[section] as Table<Entries[S]>).byKey.get(key)))

    const list = <S extends Section>(section: S, partition?: string) =>
      Effect.sync((): ReadonlyArray<Entries[S]> => {
        const t = tables[section] as Table<Entries[S]>
        if (partition === undefined) return Array.from(t.byKey.values())
        const keys = t.byPartition.get(partition)
        if (keys === undefined) return []
        const out: Array<Entries[S]> = []
        for (const k of keys) {
          const e = t.byKey.get(k)
          if (e !== undefined) out.push(e)
        }
        return out
      })

    const modify = (changes: ReadonlyArray<Change>) =>
      Effect.sync(() => {
        for (const change of changes) {
          if (change._tag === "Put") put(tables, change.section, change.entry)
          else remove(tables, change.section, change.key)
        }
      })

    const snapshot = Effect.sync((): Snapshot => ({
      entries: {
        AccessToken: Array.from(tables.AccessToken.byKey.values()),
        RefreshToken: Array.from(tables.RefreshToken.byKey.values()),
        IdToken: Array.from(tables.IdToken.byKey.values()),
        Account: Array.from(tables.Account.byKey.values()),
        AppMetadata: Array.from(tables.AppMetadata.byKey.values())
      },
      unknown
    }))

    const restore = (s: Snapshot) =>
      Effect.sync(() => {
        const next = newTables()
        for (const e of s.entries.AccessToken) put(next, "AccessToken", e)
        for (const e of s.entries.RefreshToken) put(next, "RefreshToken", e)
        for (const e of s.entries.IdToken) put(next, "IdToken", e)
        for (const e of s.entries.Account) put(next, "Account", e)
        for (const e of s.entries.AppMetadata) put(next, "AppMetadata", e)
        tables = next
        unknown = s.unknown
      })

    return { get, list, modify, snapshot, restore }
  })
