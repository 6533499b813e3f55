/**
 * The cache entries the store tests write, in one place: an app access token for a target,
 * a refresh token at a version, and the changes that put them. No vitest import: the
 * cross-process workers (run outside vitest) use it too.
 */
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as CacheEntry from "../../src/CacheEntry.js"
import * as TokenCache from "../../src/TokenCache.js"

/** Now on the wall clock, in whole seconds (cache entries' time unit). */
export const nowSeconds = () => Math.floor(Date.now() / 1000)

export interface AccessTokenOptions {
  /** Default `secret-<target>`. */
  readonly secret?: string | undefined
  /** Default `tenant`. */
  readonly realm?: string | undefined
  /** Default 0. */
  readonly cachedAt?: number | undefined
  /** Default 4,000,000,000 (in 2096). */
  readonly expiresOn?: number | undefined
}

/**
 * An app token (no account) of client `client` in tenant `tenant` for `target`, cached at 0
 * and valid until 2096 unless told otherwise.
 */
export const accessToken = (target: string, options: AccessTokenOptions = {}): CacheEntry.AccessToken => ({
  credential_type: "AccessToken",
  secret: Redacted.make(options.secret ?? `secret-${target}`),
  home_account_id: "",
  environment: "login.microsoftonline.com",
  client_id: "client",
  realm: options.realm ?? "tenant",
  target,
  cached_at: options.cachedAt ?? 0,
  expires_on: options.expiresOn ?? 4_000_000_000
})

/** Cached now and valid for `ttlSeconds` on the wall clock (for stores that expire entries themselves). */
export const liveFor = (ttlSeconds = 3600): Pick<AccessTokenOptions, "cachedAt" | "expiresOn"> => ({
  cachedAt: nowSeconds(),
  expiresOn: nowSeconds() + ttlSeconds
})

/** A refresh token of account `uid.utid`, at version `lastModified`. */
export const refreshToken = (secret: string, lastModified: number): CacheEntry.RefreshToken => ({
  credential_type: "RefreshToken",
  secret: Redacted.make(secret),
  home_account_id: "uid.utid",
  environment: "login.microsoftonline.com",
  client_id: "client",
  last_modification_time: lastModified
})

/** The key of `accessToken(target)` (whatever its secret and times). */
export const keyOf = (target: string) => CacheEntry.keyOf("AccessToken", accessToken(target))

/** One modify that puts every token in `cache`. */
export const putTokens = (cache: TokenCache.Service, ...entries: ReadonlyArray<CacheEntry.AccessToken>) =>
  cache.modify(entries.map((entry) => ({ _tag: "Put" as const, section: "AccessToken" as const, entry })))

/** One modify that puts every token in the context's cache. */
export const put = (...entries: ReadonlyArray<CacheEntry.AccessToken>) =>
  Effect.flatMap(TokenCache.TokenCache, (cache) => putTokens(cache, ...entries))

/** The context's cache's token for `target`, if any. */
export const get = (target: string) =>
  Effect.flatMap(TokenCache.TokenCache, (cache) => cache.get("AccessToken", keyOf(target)))

/** The targets of every access token in the context's cache, sorted. */
export const targets = Effect.flatMap(TokenCache.TokenCache, (cache) => cache.list("AccessToken")).pipe(
  Effect.map((tokens) => tokens.map((t) => t.target).sort())
)

/** The targets of the access tokens in a cache file written in clear, sorted. */
export const targetsInFile = (path: string): Array<string> =>
  Object.values(JSON.parse(fs.readFileSync(path, "utf8")).AccessToken as Record<string, { target: string }>)
    .map((t) => t.target)
    .sort()
