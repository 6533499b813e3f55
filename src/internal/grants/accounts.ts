import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type { Account } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { AccountsRequest, Service } from "../../ConfidentialClient.js"
import { InvalidRequest } from "../../MsalError.js"
import type { Change } from "../../TokenCache.js"
import * as Cache from "../cacheKey.js"
import * as UserTokens from "../protocol/entries.js"
import { accountOf as accountInput } from "./silent.js"
import type { UserContext } from "./userGrant.js"
import { cachedIdentity } from "./userGrant.js"

const KNOWN_TYPES: ReadonlySet<string> = new Set(["MSSTS", "ADFS"])

/** The entry to show for a home account seen in several tenants: its home tenant's, else the last one. */
const preferred = (entries: ReadonlyArray<CacheEntry.Account>): CacheEntry.Account => {
  const last = entries[entries.length - 1]!
  const utid = last.home_account_id.split(".")[1]
  return (utid === undefined ? undefined : entries.find((e) => e.realm.toLowerCase() === utid.toLowerCase())) ?? last
}

/** `getAccounts` and `removeAccount`. @internal */
export const make = (u: UserContext): Pick<Service, "getAccounts" | "removeAccount"> => {
  const { ctx } = u

  const getAccounts = Effect.fn("ConfidentialClient.getAccounts")(function*(request?: AccountsRequest) {
    if (request !== undefined && !Predicate.isRecord(request)) {
      return yield* new InvalidRequest({ description: "the request must be an object" })
    }
    const username = request?.username
    if (username !== undefined && typeof username !== "string") {
      return yield* new InvalidRequest({ field: "username", description: "username must be a string" })
    }
    const endpoints = yield* ctx.endpointsFor(undefined)
    const environment = Cache.canonicalEnvironment(endpoints.environment)
    const aliases = new Set([...ctx.environments(), ...endpoints.aliases].map((h) => h.toLowerCase()))
    const byHome = new Map<string, Array<CacheEntry.Account>>()
    for (const a of yield* ctx.cache.list("Account")) {
      if (Cache.canonicalEnvironment(a.environment) !== environment && !aliases.has(a.environment.toLowerCase()))
        continue
      if (a.authority_type !== undefined && !KNOWN_TYPES.has(a.authority_type)) continue
      if (username !== undefined && (a.username ?? "").toLowerCase() !== username.toLowerCase()) continue
      const group = byHome.get(a.home_account_id)
      if (group === undefined) byHome.set(a.home_account_id, [a])
      else group.push(a)
    }
    const accounts: Array<Account> = []
    for (const group of byHome.values()) {
      const entry = preferred(group)
      // the tenant is the ID token's tid, as in the result that signed the account in
      const identity = yield* cachedIdentity(ctx, entry.home_account_id, {
        environment: entry.environment,
        realm: entry.realm
      })
      accounts.push(UserTokens.accountOf(entry, identity.idTokenClaims))
    }
    return accounts
  })

  /**
   * Removes the account's access tokens (any client, any tenant, on-behalf-of ones included),
   * ID tokens and account entries, and the refresh tokens of this client or its family
   * (MSAL Python's `remove_account`). Access tokens and on-behalf-of refresh tokens are found by a scan:
   * signing out is rare, lookups are not.
   */
  const removeAccount = Effect.fn("ConfidentialClient.removeAccount")(function*(input: Account) {
    const account = yield* (accountInput(input))
    const home = account.homeAccountId
    const environment = Cache.canonicalEnvironment(account.environment)
    const mine = (e: { readonly home_account_id?: string | null | undefined; readonly environment: string }) =>
      (e.home_account_id ?? "").toLowerCase() === home.toLowerCase() &&
      Cache.canonicalEnvironment(e.environment) === environment
    const partition = Cache.accountPartitionOf(home, account.environment)
    const appMetadata = yield* ctx.cache.get("AppMetadata", Cache.appMetadataKey(account.environment, ctx.clientId))
    const familyId = Option.getOrUndefined(Option.flatMapNullable(appMetadata, (m) => m.family_id))
    const ours = (rt: CacheEntry.RefreshToken) =>
      rt.client_id === ctx.clientId || (familyId !== undefined && rt.family_id === familyId)
    const [accessTokens, refreshTokens, oboRefreshTokens, idTokens, accounts] = yield* Effect.all([
      ctx.cache.list("AccessToken"),
      ctx.cache.list("RefreshToken", partition),
      ctx.cache.list("RefreshToken"),
      ctx.cache.list("IdToken", partition),
      ctx.cache.list("Account", partition)
    ])
    const changes: Array<Change> = []
    const remove = <S extends CacheEntry.Section>(section: S, entries: ReadonlyArray<CacheEntry.Entries[S]>) => {
      for (const e of entries) changes.push({ _tag: "Remove", section, key: Cache.keyOf(section, e) })
    }
    remove("AccessToken", accessTokens.filter(mine))
    remove("RefreshToken", refreshTokens.filter((rt) => mine(rt) && ours(rt)))
    remove(
      "RefreshToken",
      oboRefreshTokens.filter((rt) => rt.user_assertion_hash !== undefined && mine(rt) && ours(rt))
    )
    remove("IdToken", idTokens.filter(mine))
    remove("Account", accounts.filter(mine))
    yield* ctx.cache.modify(changes)
  })

  return { getAccounts, removeAccount }
}
