import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Entries, Section } from "../CacheEntry.js"
import type { Change, Service, Snapshot } from "../TokenCache.js"
import { keyOf, partitionOf } from "./cacheKey.js"

/** The default bound on the number of entries of an in-memory cache. @internal */
export const DEFAULT_MAX_ENTRIES = 100_000

/** The entries of one partition; its name is kept once here, not in each of its entries. */
interface Partition {
  readonly name: string
  readonly nodes: Set<Node>
}

/** An entry, linked into the recency list (least recently used first). */
interface Node {
  readonly key: string
  readonly section: Section
  readonly partition: Partition
  entry: Entries[Section]
  prev: Node | undefined
  next: Node | undefined
}

interface Table {
  readonly byKey: Map<string, Node>
  readonly byPartition: Map<string, Partition>
}

type Tables = { readonly [S in Section]: Table }

const newTables = (): Tables => ({
  AccessToken: { byKey: new Map(), byPartition: new Map() },
  RefreshToken: { byKey: new Map(), byPartition: new Map() },
  IdToken: { byKey: new Map(), byPartition: new Map() },
  Account: { byKey: new Map(), byPartition: new Map() },
  AppMetadata: { byKey: new Map(), byPartition: new Map() }
})

/** @internal */
export interface Options {
  /** The most entries kept (all sections together). */
  readonly maxEntries?: number | undefined
}

/**
 * The state of one bounded store: entries by key (O(1)), by partition (for scans), and in a
 * doubly linked recency list. Synchronous; wrapped into Effects by `make`. @internal
 */
export class Store {
  private tables = newTables()
  private head: Node | undefined = undefined
  private tail: Node | undefined = undefined
  private count = 0
  /** A lower bound of the earliest `expires_on` among access tokens: no sweep before it. */
  private nextExpiry = Number.POSITIVE_INFINITY
  unknown: Readonly<Record<string, unknown>> = {}

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.count
  }

  /** The entry with this key; an expired access token met here is removed. A hit counts as use. */
  get<S extends Section>(section: S, key: string, nowSeconds: number): Entries[S] | undefined {
    const node = this.tables[section].byKey.get(key)
    if (node === undefined) return undefined
    if (section === "AccessToken" && (node.entry as Entries["AccessToken"]).expires_on < nowSeconds) {
      this.remove(section, key)
      return undefined
    }
    if (node !== this.tail) {
      this.unlink(node)
      this.append(node)
    }
    return node.entry as Entries[S]
  }

  list<S extends Section>(section: S, partition: string | undefined, nowSeconds: number): Array<Entries[S]> {
    const t = this.tables[section]
    const nodes = partition === undefined ? t.byKey.values() : t.byPartition.get(partition)?.nodes.values()
    const out: Array<Entries[S]> = []
    if (nodes === undefined) return out
    const expired: Array<string> = []
    for (const node of nodes) {
      if (section === "AccessToken" && (node.entry as Entries["AccessToken"]).expires_on < nowSeconds) {
        expired.push(node.key)
      } else out.push(node.entry as Entries[S])
    }
    for (const key of expired) this.remove(section, key)
    return out
  }

  put<S extends Section>(section: S, entry: Entries[S], nowSeconds: number): void {
    const t = this.tables[section]
    const key = keyOf(section, entry)
    const existing = t.byKey.get(key)
    if (existing !== undefined) {
      existing.entry = entry
      if (existing !== this.tail) {
        this.unlink(existing)
        this.append(existing)
      }
    } else {
      const name = partitionOf(section, entry)
      let partition = t.byPartition.get(name)
      if (partition === undefined) {
        partition = { name, nodes: new Set() }
        t.byPartition.set(name, partition)
      }
      const node: Node = { key, section, partition, entry, prev: undefined, next: undefined }
      t.byKey.set(key, node)
      partition.nodes.add(node)
      this.append(node)
      this.count++
    }
    if (section === "AccessToken") {
      const expiresOn = (entry as Entries["AccessToken"]).expires_on
      if (expiresOn < this.nextExpiry) this.nextExpiry = expiresOn
    }
    if (this.count > this.maxEntries) this.evict(nowSeconds)
  }

  remove(section: Section, key: string): void {
    const t = this.tables[section]
    const node = t.byKey.get(key)
    if (node === undefined) return
    t.byKey.delete(key)
    const { name, nodes } = node.partition
    nodes.delete(node)
    if (nodes.size === 0 && t.byPartition.get(name) === node.partition) t.byPartition.delete(name)
    this.unlink(node)
    this.count--
  }

  snapshot(): Snapshot {
    const all = <S extends Section>(section: S): Array<Entries[S]> =>
      Array.from(this.tables[section].byKey.values(), (n) => n.entry as Entries[S])
    return {
      entries: {
        AccessToken: all("AccessToken"),
        RefreshToken: all("RefreshToken"),
        IdToken: all("IdToken"),
        Account: all("Account"),
        AppMetadata: all("AppMetadata")
      },
      unknown: this.unknown
    }
  }

  restore(s: Snapshot, nowSeconds: number): void {
    this.tables = newTables()
    this.head = this.tail = undefined
    this.count = 0
    this.nextExpiry = Number.POSITIVE_INFINITY
    for (const e of s.entries.AccessToken) this.put("AccessToken", e, nowSeconds)
    for (const e of s.entries.RefreshToken) this.put("RefreshToken", e, nowSeconds)
    for (const e of s.entries.IdToken) this.put("IdToken", e, nowSeconds)
    for (const e of s.entries.Account) this.put("Account", e, nowSeconds)
    for (const e of s.entries.AppMetadata) this.put("AppMetadata", e, nowSeconds)
    this.unknown = s.unknown
  }

  apply(changes: ReadonlyArray<Change>, nowSeconds: number): void {
    for (const change of changes) {
      if (change._tag === "Put") this.put(change.section, change.entry, nowSeconds)
      else this.remove(change.section, change.key)
    }
  }

  /** Expired access tokens first (one sweep, only once some token can have expired), then least recently used. */
  private evict(nowSeconds: number): void {
    if (nowSeconds > this.nextExpiry) {
      let next = Number.POSITIVE_INFINITY
      const expired: Array<string> = []
      for (const node of this.tables.AccessToken.byKey.values()) {
        const expiresOn = (node.entry as Entries["AccessToken"]).expires_on
        if (expiresOn < nowSeconds) expired.push(node.key)
        else if (expiresOn < next) next = expiresOn
      }
      for (const key of expired) this.remove("AccessToken", key)
      this.nextExpiry = next
    }
    while (this.count > this.maxEntries && this.head !== undefined) this.remove(this.head.section, this.head.key)
  }

  private unlink(node: Node): void {
    if (node.prev === undefined) this.head = node.next
    else node.prev.next = node.next
    if (node.next === undefined) this.tail = node.prev
    else node.next.prev = node.prev
    node.prev = node.next = undefined
  }

  private append(node: Node): void {
    node.prev = this.tail
    node.next = undefined
    if (this.tail === undefined) this.head = node
    else this.tail.next = node
    this.tail = node
  }
}

/** No bound given (or not a number): the default; a bound below 1 is 1. */
const validMax = (n: number | undefined): number =>
  typeof n === "number" && !Number.isNaN(n) ? Math.max(1, Math.floor(n)) : DEFAULT_MAX_ENTRIES

/**
 * A synchronous read of one entry, exactly what the service's `get` does (the same store, the
 * same clock), for the cache-hit fast path. @internal
 */
export type SyncGet = <S extends Section>(section: S, key: string) => Entries[S] | undefined

/**
 * The services built by `serviceOf`, by identity: only these are known to be authoritative
 * in memory (no other process, file or hook can change what they hold behind our back). A
 * service that wraps or copies one (hooks, a spy) is a different object and is not in here.
 */
const authoritative = new WeakMap<Service, SyncGet>()

/** The synchronous access-token read of a memory service, else `undefined` (any other store). @internal */
export const syncGetOf = (service: Service): SyncGet | undefined => authoritative.get(service)

/** A service over a store, with time read from `clock` (captured once). @internal */
export const serviceOf = (store: Store, clock: Clock.Clock): Service => {
  const now = () => Math.floor(clock.unsafeCurrentTimeMillis() / 1000)
  const service: Service = {
    get: <S extends Section>(section: S, key: string) =>
      Effect.sync(() => Option.fromNullable(store.get(section, key, now()))),
    list: <S extends Section>(section: S, partition?: string) =>
      Effect.sync((): ReadonlyArray<Entries[S]> => store.list(section, partition, now())),
    modify: (changes: ReadonlyArray<Change>) => Effect.sync(() => store.apply(changes, now())),
    snapshot: Effect.sync(() => store.snapshot()),
    restore: (s: Snapshot) => Effect.sync(() => store.restore(s, now()))
  }
  authoritative.set(service, (section, key) => store.get(section, key, now()))
  return service
}

/**
 * A Map-backed store: O(1) by key, one partition's entries for a scan, at most `maxEntries`
 * entries (expired access tokens evicted first, then the least recently used). @internal
 */
export const make = (options?: Options): Effect.Effect<Service> =>
  Effect.map(Effect.clock, (clock) => serviceOf(new Store(validMax(options?.maxEntries)), clock))

/** @internal */
export const makeStore = (options?: Options): Store => new Store(validMax(options?.maxEntries))
