import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { CachedResponse, Entry, Options, Service } from "../HttpCache.js"
import { NetworkError } from "../MsalError.js"
import { refuseRedirects, transportError } from "./transport.js"

/** @internal */
export const DEFAULT_CAPACITY = 1024
/** @internal */
export const DEFAULT_TIME_TO_LIVE = Duration.hours(24)
/** Bodies larger than this are not kept (a discovery document is a few KB). @internal */
export const MAX_BODY_LENGTH = 256 * 1024

/**
 * A bounded in-memory store. Every entry lives for the same time, so insertion order is
 * expiry order: a full store drops its oldest entry. An entry is served only while
 * `storedAt <= now < expiresAt`, so a clock set back does not revive it. @internal
 */
export const make = (options?: Options): Effect.Effect<Service> =>
  Effect.sync(() => {
    const capacity = Math.max(1, Math.floor(options?.capacity ?? DEFAULT_CAPACITY))
    const ttl = Duration.toMillis(Duration.decode(options?.timeToLive ?? DEFAULT_TIME_TO_LIVE))
    const store = new Map<string, Entry>()

    const put = (key: string, entry: Entry) => {
      store.delete(key)
      while (store.size >= capacity) {
        const oldest = store.keys().next()
        if (oldest.done === true) break
        store.delete(oldest.value)
      }
      store.set(key, entry)
    }
    const live = (entry: Entry, now: number) => entry.storedAt <= now && now < entry.expiresAt

    const get = (key: string) =>
      Effect.map(Clock.currentTimeMillis, (now): Option.Option<CachedResponse> => {
        const entry = store.get(key)
        if (entry === undefined) return Option.none()
        if (!live(entry, now)) {
          store.delete(key)
          return Option.none()
        }
        return Option.some({ status: entry.status, body: entry.body })
      })

    const set = (key: string, response: CachedResponse) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (response.body.length > MAX_BODY_LENGTH) return
        put(key, { status: response.status, body: response.body, storedAt: now, expiresAt: now + ttl })
      })

    const entries = Effect.map(
      Clock.currentTimeMillis,
      (now) => Array.from(store).filter(([, e]) => live(e, now))
    )

    const restore = (restored: ReadonlyArray<readonly [string, Entry]>) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        store.clear()
        const usable = restored.filter(([, e]) => live(e, now) && e.body.length <= MAX_BODY_LENGTH)
          .sort(([, a], [, b]) => a.expiresAt - b.expiresAt)
        for (const [key, entry] of usable.slice(-capacity)) put(key, entry)
      })

    return { get, set, entries, restore }
  })

const FORMAT = "effect-msal/HttpCache"
const VERSION = 1

const Persisted = Schema.parseJson(Schema.Struct({
  format: Schema.Literal(FORMAT),
  version: Schema.Literal(VERSION),
  entries: Schema.Record({
    key: Schema.String,
    value: Schema.Struct({
      status: Schema.Int.pipe(Schema.between(200, 299)),
      body: Schema.String,
      storedAt: Schema.Number,
      expiresAt: Schema.Number
    })
  })
}))

/** @internal */
export const serialize = (cache: Service): Effect.Effect<string> =>
  Effect.map(cache.entries, (entries) =>
    JSON.stringify({
      format: FORMAT,
      version: VERSION,
      entries: Object.fromEntries(entries)
    }))

/** An unreadable or foreign cache is ignored with a warning; the store keeps what it had. @internal */
export const deserialize = (cache: Service, json: string): Effect.Effect<void> =>
  Schema.decodeUnknown(Persisted)(json).pipe(
    Effect.flatMap((persisted) => cache.restore(Object.entries(persisted.entries))),
    Effect.catchTag("ParseError", () =>
      Effect.logWarning(
        "effect-msal: the persisted HTTP cache could not be read and is ignored; discovery will be requested again"
      ))
  )

/** What a cached GET needs. @internal */
export interface GetContext {
  readonly http: HttpClient.HttpClient
  readonly cache: Service
  readonly timeout: Duration.DurationInput
}

/**
 * A GET through the HTTP cache: a cached 2xx answer is served without I/O; a fresh 2xx answer
 * is stored, after `keep` (which may reduce the body to what is needed, or return undefined
 * to keep nothing). Any other status is returned; a redirect (never followed), transport
 * failures and timeouts are `NetworkError`s. @internal
 */
export const get = (
  ctx: GetContext,
  url: string,
  options?: {
    readonly headers?: Readonly<Record<string, string>> | undefined
    readonly keep?: ((body: string) => string | undefined) | undefined
  }
): Effect.Effect<CachedResponse & { readonly fromCache: boolean }, NetworkError> => {
  const key = `GET ${url}`
  const display = url.split("?")[0] ?? url
  return Effect.flatMap(
    ctx.cache.get(key),
    Option.match({
      onSome: (hit) => Effect.succeed({ ...hit, fromCache: true }),
      onNone: () =>
        refuseRedirects(ctx.http).execute(
          HttpClientRequest.get(url).pipe(
            HttpClientRequest.acceptJson,
            HttpClientRequest.setHeaders(options?.headers ?? {})
          )
        ).pipe(
          Effect.flatMap((response) => Effect.map(response.text, (body) => ({ status: response.status, body }))),
          Effect.mapError(transportError(display, "the host")),
          Effect.timeoutFail({
            duration: ctx.timeout,
            onTimeout: () =>
              new NetworkError({
                reason: "Timeout",
                url: display,
                description: `no answer within ${Duration.format(Duration.decode(ctx.timeout))}`
              })
          }),
          Effect.tap(({ body, status }) => {
            if (status < 200 || status > 299) return Effect.void
            const kept = options?.keep === undefined ? body : options.keep(body)
            return kept === undefined ? Effect.void : ctx.cache.set(key, { status, body: kept })
          }),
          Effect.map((r) => ({ ...r, fromCache: false })),
          Effect.withSpan("HttpCache.get", { attributes: { "http.url": display } })
        )
    })
  )
}
