/**
 * The HTTP cache (MSAL Python's `http_cache`): answers to the GET requests the client makes
 * besides token requests — instance discovery, OpenID Connect metadata and the IMDS region
 * probe — kept for 24 hours, so that new clients and later runs need no discovery at all.
 *
 * It holds no tokens and no personal data: only successful GET answers are kept, and the
 * IMDS answer is reduced to its `location` before it is stored. It is bounded in entries
 * (1024 by default; a full cache drops its oldest entry) and in memory by default.
 *
 * A client uses the `HttpCache` in its context when there is one, and otherwise a private
 * in-memory cache. Provide one layer to share discovery between clients; use `serialize` and
 * `deserialize` to keep it between runs of a command-line tool.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { HttpCache } from "effect-msal"
 *
 * // at start-up: restore (an unreadable file is ignored with a warning)
 * const restore = (saved: string) => HttpCache.deserialize(saved)
 * // at shutdown: save
 * const save = HttpCache.serialize
 * const program = Effect.zipRight(restore("{}"), save).pipe(Effect.provide(HttpCache.layerMemory()))
 * ```
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Option from "effect/Option"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internal from "./internal/httpCache.js"

/**
 * A cached answer.
 *
 * @since 0.1.0
 * @category models
 */
export interface CachedResponse {
  readonly status: number
  readonly body: string
}

/**
 * A cached answer with its lifetime (epoch milliseconds from `Clock`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry extends CachedResponse {
  readonly storedAt: number
  readonly expiresAt: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The most entries kept. Default 1024. */
  readonly capacity?: number | undefined
  /** How long an answer is kept. Default 24 hours. */
  readonly timeToLive?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The live answer stored under a key (`GET <url>`), if any. */
  readonly get: (key: string) => Effect.Effect<Option.Option<CachedResponse>>
  /** Stores an answer for the cache's time to live. */
  readonly set: (key: string, response: CachedResponse) => Effect.Effect<void>
  /** The live entries, oldest first. */
  readonly entries: Effect.Effect<ReadonlyArray<readonly [string, Entry]>>
  /** Replaces the content with these entries (expired ones are dropped). */
  readonly restore: (entries: ReadonlyArray<readonly [string, Entry]>) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class HttpCache extends Context.Tag("effect-msal/HttpCache")<HttpCache, Service>() {}

/**
 * The default bound on entries.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_CAPACITY: number = internal.DEFAULT_CAPACITY

/**
 * The default time to live: 24 hours, as MSAL.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_TIME_TO_LIVE: Duration.Duration = internal.DEFAULT_TIME_TO_LIVE

/**
 * A bounded in-memory cache. Time comes from `Clock`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: (options?: Options) => Effect.Effect<Service> = internal.make

/**
 * A bounded in-memory cache, as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: Options): Layer.Layer<HttpCache> => Layer.effect(HttpCache, makeMemory(options))

/**
 * The live entries as JSON (`{"format":"effect-msal/HttpCache","version":1,"entries":{…}}`).
 *
 * @since 0.1.0
 * @category serialization
 */
export const serialize: Effect.Effect<string, never, HttpCache> = Effect.flatMap(HttpCache, internal.serialize)

/**
 * Replaces the content with a serialised cache. A corrupt, foreign or newer-format input is
 * ignored with a warning log line and the cache keeps what it had: losing it only costs a
 * discovery request.
 *
 * @since 0.1.0
 * @category serialization
 */
export const deserialize = (json: string): Effect.Effect<void, never, HttpCache> =>
  Effect.flatMap(HttpCache, (cache) => internal.deserialize(cache, json))
