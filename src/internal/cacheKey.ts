import type { Entries, Section } from "../CacheEntry.js"

/** Host aliases of each Microsoft cloud, folded into one environment for lookups. */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ["login.microsoftonline.com", "login.microsoftonline.com"],
  ["login.windows.net", "login.microsoftonline.com"],
  ["login.microsoft.com", "login.microsoftonline.com"],
  ["sts.windows.net", "login.microsoftonline.com"],
  ["login.chinacloudapi.cn", "login.chinacloudapi.cn"],
  ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
  ["login.microsoftonline.us", "login.microsoftonline.us"],
  ["login.usgovcloudapi.net", "login.microsoftonline.us"]
])

/** @internal */
export const aliasesOf = (environment: string): ReadonlyArray<string> => {
  const canonical = canonicalEnvironment(environment)
  const group: Array<string> = []
  for (const [alias, c] of ALIASES) if (c === canonical) group.push(alias)
  return group.length === 0 ? [environment.toLowerCase()] : group
}

/** @internal */
export const canonicalEnvironment = (environment: string): string => {
  const lower = environment.toLowerCase()
  return ALIASES.get(lower) ?? lower
}

/** The fields that identify an access token. @internal */
export interface AccessTokenQuery {
  readonly homeAccountId: string | null | undefined
  readonly environment: string
  readonly clientId: string
  readonly realm: string
  readonly userAssertionHash?: string | undefined
}

/** @internal */
export const accessTokenPartition = (q: AccessTokenQuery): string => {
  const base = `${ownerOf(q.homeAccountId, q.userAssertionHash)}-${
    canonicalEnvironment(q.environment)
  }-${q.clientId}-${q.realm}`
    .toLowerCase()
  // the assertion hash is base64url: case matters, so it is appended after lower-casing
  return q.userAssertionHash === undefined ? base : `${base}-${q.userAssertionHash}`
}

/** `target` is the sorted, space-joined scope string; the key folds its case. @internal */
export const accessTokenKey = (q: AccessTokenQuery, target: string): string => {
  const base = `${ownerOf(q.homeAccountId, q.userAssertionHash)}-${
    canonicalEnvironment(q.environment)
  }-accesstoken-${q.clientId}-${q.realm}-${target}`
    .toLowerCase()
  return q.userAssertionHash === undefined ? base : `${base}-${q.userAssertionHash}`
}

const accountPartition = (home: string | null | undefined, environment: string): string =>
  `${home ?? ""}-${canonicalEnvironment(environment)}`.toLowerCase()

/**
 * On-behalf-of tokens are found by the user assertion they were obtained for (its hash), not
 * by the account, which is only known once the authority has answered: their keys and
 * partitions put `obo` where other tokens have the home account id.
 */
const ownerOf = (home: string | null | undefined, userAssertionHash: string | undefined): string =>
  userAssertionHash === undefined ? home ?? "" : "obo"

/** The partition of one account's refresh tokens, ID tokens and account entries. @internal */
export const accountPartitionOf = (homeAccountId: string | null | undefined, environment: string): string =>
  accountPartition(homeAccountId, environment)

/** The partition of the refresh tokens obtained on behalf of one user assertion. @internal */
export const oboRefreshTokenPartition = (userAssertionHash: string, environment: string): string =>
  `${accountPartition("obo", environment)}-${userAssertionHash}`

/** @internal */
export const idTokenKey = (homeAccountId: string, environment: string, clientId: string, realm: string): string =>
  `${accountPartition(homeAccountId, environment)}-idtoken-${clientId}-${realm}-`.toLowerCase()

/** @internal */
export const accountKey = (homeAccountId: string, environment: string, realm: string): string =>
  `${accountPartition(homeAccountId, environment)}-${realm}`.toLowerCase()

/** @internal */
export const appMetadataKey = (environment: string, clientId: string): string =>
  `appmetadata-${canonicalEnvironment(environment)}-${clientId}`

/** @internal */
export const keyOf = <S extends Section>(section: S, entry: Entries[S]): string => {
  const e = entry as Entries[Section]
  switch (section) {
    case "AccessToken": {
      const at = e as Entries["AccessToken"]
      return accessTokenKey({
        homeAccountId: at.home_account_id,
        environment: at.environment,
        clientId: at.client_id,
        realm: at.realm,
        userAssertionHash: at.user_assertion_hash
      }, at.target)
    }
    case "RefreshToken": {
      const rt = e as Entries["RefreshToken"]
      const owner = ownerOf(rt.home_account_id, rt.user_assertion_hash)
      const base = `${accountPartition(owner, rt.environment)}-refreshtoken-${rt.client_id}--${rt.target ?? ""}`
        .toLowerCase()
      return rt.user_assertion_hash === undefined ? base : `${base}-${rt.user_assertion_hash}`
    }
    case "IdToken": {
      const it = e as Entries["IdToken"]
      return `${accountPartition(it.home_account_id, it.environment)}-idtoken-${it.client_id}-${it.realm}-`
        .toLowerCase()
    }
    case "Account": {
      const a = e as Entries["Account"]
      return `${accountPartition(a.home_account_id, a.environment)}-${a.realm}`.toLowerCase()
    }
    default: {
      const m = e as Entries["AppMetadata"]
      return `appmetadata-${canonicalEnvironment(m.environment)}-${m.client_id}`
    }
  }
}

/** @internal */
export const partitionOf = <S extends Section>(section: S, entry: Entries[S]): string => {
  const e = entry as Entries[Section]
  switch (section) {
    case "AccessToken": {
      const at = e as Entries["AccessToken"]
      return accessTokenPartition({
        homeAccountId: at.home_account_id,
        environment: at.environment,
        clientId: at.client_id,
        realm: at.realm,
        userAssertionHash: at.user_assertion_hash
      })
    }
    case "AppMetadata":
      return canonicalEnvironment((e as Entries["AppMetadata"]).environment)
    case "RefreshToken": {
      const rt = e as Entries["RefreshToken"]
      return rt.user_assertion_hash === undefined
        ? accountPartition(rt.home_account_id, rt.environment)
        : oboRefreshTokenPartition(rt.user_assertion_hash, rt.environment)
    }
    default: {
      const x = e as Entries["RefreshToken" | "IdToken" | "Account"]
      return accountPartition(x.home_account_id, x.environment)
    }
  }
}
