import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
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

/** The `username` of a `getAccounts` request, checked: the request is absent or an object, the name a string. */
const usernameOf = (request: AccountsRequest | undefined): Either.Either<string | undefined, InvalidRequest> => {
  if (request !== undefined && !Predicate.isRecord(request)) {
    return Either.left(new InvalidRequest({ description: "the request must be an object" }))
  }
  const username = request?.username
  if (username !== undefined && typeof username !== "string") {
    return Either.left(new InvalidRequest({ field: "username", description: "username must be a string" }))
  }
  return Either.right(username)
}

/** Which cached accounts to list: those of the authority's cloud (or its aliases), of a known type, with the user name if given. */
interface AccountFilter {
  /** The authority's canonical environment. */
  readonly environment: string
  /** Every host name of the authority's cloud, lower-cased. */
  readonly aliases: ReadonlySet<string>
  readonly username: string | undefined
}

/** The account entries the filter keeps, grouped by home account, in the order first seen. */
const groupByHome = (
  entries: ReadonlyArray<CacheEntry.Account>,
  filter: AccountFilter
): ReadonlyArray<ReadonlyArray<CacheEntry.Account>> => {
  const { aliases, environment, username } = filter
  const byHome = new Map<string, Array<CacheEntry.Account>>()
  for (const a of entries) {
    if (Cache.canonicalEnvironment(a.environment) !== environment && !aliases.has(a.environment.toLowerCase())) {
      continue
    }
    if (a.authority_type !== undefined && !KNOWN_TYPES.has(a.authority_type)) continue
    if (username !== undefined && (a.username ?? "").toLowerCase() !== username.toLowerCase()) continue
    const group = byHome.get(a.home_account_id)
    if (group === undefined) byHome.set(a.home_account_id, [a])
    else group.push(a)
  }
  return Array.from(byHome.values())
}

/** The cached accounts of the client's authority, one per home account. */
const getAccounts = (u: UserContext) =>
  Effect.fn("ConfidentialClient.getAccounts")(function*(request?: AccountsRequest) {
    const { ctx } = u
    const username = yield* usernameOf(request)
    const endpoints = yield* ctx.endpointsFor(undefined)
    const filter: AccountFilter = {
      environment: Cache.canonicalEnvironment(endpoints.environment),
      aliases: new Set([...ctx.environments(), ...endpoints.aliases].map((h) => h.toLowerCase())),
      username
    }
    const groups = groupByHome(yield* ctx.cache.list("Account"), filter)
    const accounts: Array<Account> = []
    for (const group of groups) {
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

/** The cache entries a removal looks at: every access token and refresh token, and the account's partition. */
interface RemovalCandidates {
  readonly accessTokens: ReadonlyArray<CacheEntry.AccessToken>
  readonly refreshTokens: ReadonlyArray<CacheEntry.RefreshToken>
  readonly oboRefreshTokens: ReadonlyArray<CacheEntry.RefreshToken>
  readonly idTokens: ReadonlyArray<CacheEntry.IdToken>
  readonly accounts: ReadonlyArray<CacheEntry.Account>
}

/**
 * The removals that sign an account out: its access tokens, ID tokens and account entries,
 * and its refresh tokens (on-behalf-of ones included) issued to `clientId` or its family.
 */
const removalChanges = (
  account: { readonly homeAccountId: string; readonly environment: string },
  clientId: string,
  familyId: string | undefined,
  found: RemovalCandidates
): ReadonlyArray<Change> => {
  const home = account.homeAccountId.toLowerCase()
  const environment = Cache.canonicalEnvironment(account.environment)
  const mine = (e: { readonly home_account_id?: string | null | undefined; readonly environment: string }) =>
    (e.home_account_id ?? "").toLowerCase() === home && Cache.canonicalEnvironment(e.environment) === environment
  const ours = (rt: CacheEntry.RefreshToken) =>
    rt.client_id === clientId || (familyId !== undefined && rt.family_id === familyId)
  const changes: Array<Change> = []
  const remove = <S extends CacheEntry.Section>(section: S, entries: ReadonlyArray<CacheEntry.Entries[S]>) => {
    for (const e of entries) changes.push({ _tag: "Remove", section, key: Cache.keyOf(section, e) })
  }
  remove("AccessToken", found.accessTokens.filter(mine))
  remove("RefreshToken", found.refreshTokens.filter((rt) => mine(rt) && ours(rt)))
  remove(
    "RefreshToken",
    found.oboRefreshTokens.filter((rt) => rt.user_assertion_hash !== undefined && mine(rt) && ours(rt))
  )
  remove("IdToken", found.idTokens.filter(mine))
  remove("Account", found.accounts.filter(mine))
  return changes
}

/**
 * Removes the account's access tokens (any client, any tenant, on-behalf-of ones included),
 * ID tokens and account entries, and the refresh tokens of this client or its family
 * (MSAL Python's `remove_account`). Access tokens and on-behalf-of refresh tokens are found by a scan:
 * signing out is rare, lookups are not.
 */
const removeAccount = (u: UserContext) =>
  Effect.fn("ConfidentialClient.removeAccount")(function*(input: Account) {
    const { ctx } = u
    const account = yield* (accountInput(input))
    const partition = Cache.accountPartitionOf(account.homeAccountId, account.environment)
    const appMetadata = yield* ctx.cache.get("AppMetadata", Cache.appMetadataKey(account.environment, ctx.clientId))
    const familyId = Option.getOrUndefined(Option.flatMapNullable(appMetadata, (m) => m.family_id))
    const [accessTokens, refreshTokens, oboRefreshTokens, idTokens, accounts] = yield* Effect.all([
      ctx.cache.list("AccessToken"),
      ctx.cache.list("RefreshToken", partition),
      ctx.cache.list("RefreshToken"),
      ctx.cache.list("IdToken", partition),
      ctx.cache.list("Account", partition)
    ])
    yield* ctx.cache.modify(
      removalChanges(account, ctx.clientId, familyId, {
        accessTokens,
        refreshTokens,
        oboRefreshTokens,
        idTokens,
        accounts
      })
    )
  })

/** `getAccounts` and `removeAccount`. @internal */
export const make = (u: UserContext): Pick<Service, "getAccounts" | "removeAccount"> => ({
  getAccounts: getAccounts(u),
  removeAccount: removeAccount(u)
})
