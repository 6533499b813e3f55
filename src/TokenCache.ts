/**
 * Where tokens are kept: the `TokenCache` service and its in-memory layer.
 *
 * Entries are those of the MSAL unified cache schema (see `CacheEntry`). Every lookup a grant
 * makes is by a computed key (O(1) in the number of cached tokens); the superset-of-scopes
 * fallback scans one partition (client, environment, tenant, account), never the whole cache.
 * The interface is effectful so that file and distributed stores can implement it.
 *
 * @since 0.1.0
 */
import type { Option } from "effect"
import { Context, Effect, Layer } from "effect"
import type { Entries, Section } from "./CacheEntry.js"
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
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TokenCache extends Context.Tag("effect-msal/TokenCache")<TokenCache, Service>() {}

/**
 * An in-memory cache, private to one process.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: () => Effect.Effect<Service> = memory.make

/**
 * An in-memory cache, private to one process.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (): Layer.Layer<TokenCache> => Layer.effect(TokenCache, makeMemory())

/**
 * The cache in the MSAL unified JSON format.
 *
 * @since 0.1.0
 * @category serialization
 */
export const serialize: Effect.Effect<string, CacheError, TokenCache> = Effect.flatMap(
  TokenCache,
  (cache) => Effect.map(cache.snapshot, serialization.encode)
)

/**
 * Replaces the cache's content with a cache in the MSAL unified JSON format. Empty input is
 * an empty cache; malformed input fails with `CacheError` and changes nothing.
 *
 * @since 0.1.0
 * @category serialization
 */
export const deserialize = (json: string): Effect.Effect<void, CacheError, TokenCache> =>
  Effect.flatMap(TokenCache, (cache) => Effect.flatMap(serialization.decode(json), cache.restore))
