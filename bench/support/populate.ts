/** Filling and sizing each library's cache. */
import type { ConfidentialClientApplication } from "@azure/msal-node"
import type { ManagedRuntime } from "effect"
import { Effect, Redacted } from "effect"
import type { CacheEntry } from "effect-msal"
import { TokenCache } from "effect-msal"
import type { WireAccessToken } from "./fixtures.js"
import { cacheJson } from "./fixtures.js"

/** Our decoded entry for a wire token. */
export const toEntry = (t: WireAccessToken): CacheEntry.AccessToken => ({
  credential_type: "AccessToken",
  secret: Redacted.make(t.secret),
  home_account_id: t.home_account_id,
  environment: t.environment,
  client_id: t.client_id,
  realm: t.realm,
  target: t.target,
  token_type: t.token_type,
  cached_at: Number(t.cached_at),
  expires_on: Number(t.expires_on),
  extended_expires_on: Number(t.extended_expires_on)
})

/** Writes the tokens into our cache with one `TokenCache.modify`. */
export const fillOurs = (tokens: ReadonlyArray<WireAccessToken>) =>
  Effect.flatMap(
    TokenCache.TokenCache,
    (cache) =>
      cache.modify(tokens.map((t) => ({ _tag: "Put" as const, section: "AccessToken" as const, entry: toEntry(t) })))
  )

/** How many access tokens our cache holds. */
export const sizeOfOurs = <R>(
  runtime: ManagedRuntime.ManagedRuntime<R | TokenCache.TokenCache, unknown>
): Promise<number> =>
  runtime.runPromise(
    Effect.flatMap(TokenCache.TokenCache, (cache) => Effect.map(cache.list("AccessToken"), (l) => l.length))
  )

/** Loads the tokens into msal-node's cache with its `deserialize`. */
export const fillMsal = (app: ConfidentialClientApplication, tokens: ReadonlyArray<WireAccessToken>): void => {
  app.getTokenCache().deserialize(cacheJson(tokens))
}

/** How many access tokens msal-node's cache holds (from its own serialised form). */
export const sizeOfMsal = (app: ConfidentialClientApplication): number => {
  const parsed = JSON.parse(app.getTokenCache().serialize()) as { AccessToken?: Record<string, unknown> }
  return Object.keys(parsed.AccessToken ?? {}).length
}
