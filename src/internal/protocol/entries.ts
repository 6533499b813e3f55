import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import type { Account, AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { Change } from "../../TokenCache.js"
import type * as Authority from "../authority.js"
import type { IdTokenClaims } from "../idToken.js"
import { stringClaim } from "../idToken.js"
import * as TokenResponse from "./tokenResponse.js"

/**
 * The lifetime assumed when a response gives neither `expires_in` nor `expires_on`
 * (RFC 6749 §5.1 makes `expires_in` only RECOMMENDED). @internal
 */
export const DEFAULT_LIFETIME_SECONDS = 600

/** The `client_info` the authority returns when asked with `client_info=1`. @internal */
export interface ClientInfo {
  readonly uid: string
  readonly utid: string
}

/** Decodes `client_info` (base64url JSON; padding and standard base64 tolerated, as MSAL Python). @internal */
export const parseClientInfo = (raw: string | undefined): ClientInfo | undefined => {
  if (raw === undefined || raw.length === 0) return undefined
  try {
    const json: unknown = JSON.parse(Buffer.from(raw.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8"))
    if (Predicate.isRecord(json) && typeof json.uid === "string" && typeof json.utid === "string") {
      return json.uid.length > 0 && json.utid.length > 0 ? { uid: json.uid, utid: json.utid } : undefined
    }
    return undefined
  } catch {
    return undefined
  }
}

/** `uid.utid` from `client_info`, else the ID token's `sub` (AD FS), else undefined (MSAL's `home_account_id`). @internal */
export const homeAccountIdOf = (
  clientInfo: ClientInfo | undefined,
  claims: IdTokenClaims | undefined
): string | undefined => clientInfo !== undefined ? `${clientInfo.uid}.${clientInfo.utid}` : stringClaim(claims, "sub")

/**
 * The routing hint for a home account id: `Oid:<uid>@<utid>` (msal-node's
 * `CcsCredentialType.HOME_ACCOUNT_ID`, MSAL Python's `X-AnchorMailbox`). @internal
 */
export const anchorForHomeAccount = (homeAccountId: string): string => `Oid:${homeAccountId.replace(/\./g, "@")}`

/** The cache `target` of a response: the scopes it names, else those requested; deduplicated and sorted. @internal */
export const targetOf = (token: TokenResponse.TokenResponse, scopes: ReadonlyArray<string>): string =>
  token.scope === undefined || token.scope.trim().length === 0
    ? Array.from(new Set(scopes)).sort().join(" ")
    : Array.from(new Set(token.scope.trim().split(/\s+/))).sort().join(" ")

/** Where and for whom an access token is stored. @internal */
export interface AccessTokenOwner {
  readonly clientId: string
  readonly endpoints: Authority.Endpoints
  /** The scopes requested; the target when the response names none. */
  readonly scopes: ReadonlyArray<string>
  /** `""` for app tokens (MSAL writes an empty or null home account id for them). */
  readonly homeAccountId: string
  readonly userAssertionHash?: string | undefined
  /** Refresh after this fraction of the lifetime when the authority sends no `refresh_in`. */
  readonly refreshLifetimeFraction?: number | undefined
}

/**
 * The unified-cache access token for a response, its times counted from when the request
 * was sent (MSAL's `cached_at`, `expires_on`, `extended_expires_on`, `refresh_on`).
 * @internal
 */
export const accessTokenEntry = (
  owner: AccessTokenOwner,
  token: TokenResponse.Issued,
  requestedAtMillis: number
): CacheEntry.AccessToken => {
  const now = Math.floor(requestedAtMillis / 1000)
  const expiresIn = token.expires_in ??
    (token.expires_on !== undefined ? token.expires_on - now : DEFAULT_LIFETIME_SECONDS)
  const fraction = owner.refreshLifetimeFraction
  const refreshIn = token.refresh_in ??
    (fraction !== undefined && fraction > 0 && fraction < 1 ? Math.floor(expiresIn * fraction) : undefined)
  return {
    credential_type: "AccessToken",
    secret: token.access_token,
    home_account_id: owner.homeAccountId,
    environment: owner.endpoints.environment,
    client_id: owner.clientId,
    realm: owner.endpoints.realm,
    target: targetOf(token, owner.scopes),
    token_type: token.token_type ?? "Bearer",
    cached_at: now,
    expires_on: now + expiresIn,
    extended_expires_on: now + (token.ext_expires_in ?? expiresIn),
    ...(refreshIn === undefined ? {} : { refresh_on: now + refreshIn }),
    ...(owner.userAssertionHash === undefined ? {} : { user_assertion_hash: owner.userAssertionHash })
  }
}

/**
 * App metadata for the client: the cached entry kept (with its family id) and the response's
 * `foci` added; written only when it changes.
 */
const appMetadataChange = (
  clientId: string,
  environment: string,
  existing: Option.Option<CacheEntry.AppMetadata>,
  foci: string | undefined
): ReadonlyArray<Change> =>
  Option.isSome(existing) && (foci === undefined || existing.value.family_id === foci)
    ? []
    : [{
      _tag: "Put",
      section: "AppMetadata",
      entry: {
        ...Option.getOrUndefined(existing),
        client_id: clientId,
        environment,
        ...(foci === undefined ? {} : { family_id: foci })
      }
    }]

/** The cache changes for an app token (client credentials, managed identity). @internal */
export const appTokenChanges = (
  owner: AccessTokenOwner,
  token: TokenResponse.Issued,
  requestedAtMillis: number,
  appMetadata: Option.Option<CacheEntry.AppMetadata>
): { readonly accessToken: CacheEntry.AccessToken; readonly changes: ReadonlyArray<Change> } => {
  const accessToken = accessTokenEntry(owner, token, requestedAtMillis)
  return {
    accessToken,
    changes: [
      { _tag: "Put", section: "AccessToken", entry: accessToken },
      ...appMetadataChange(owner.clientId, owner.endpoints.environment, appMetadata, undefined)
    ]
  }
}

/** A user token response, and what it is stored with. @internal */
export interface TokenSet {
  readonly clientId: string
  readonly endpoints: Authority.Endpoints
  /** The scopes requested (decorated); the target when the response names none. */
  readonly scopes: ReadonlyArray<string>
  readonly token: TokenResponse.TokenResponse
  readonly idTokenClaims: IdTokenClaims | undefined
  readonly requestedAtMillis: number
  /** The AppMetadata entry already cached for this client, if any. */
  readonly appMetadata: Option.Option<CacheEntry.AppMetadata>
  readonly accountSource?: string | undefined
  readonly userAssertionHash?: string | undefined
  /** Silent refreshes do not (re)create the account (as MSAL). */
  readonly skipAccountCreation?: boolean | undefined
  /** The user name the request was made for (the password grant), when the ID token has none. */
  readonly username?: string | undefined
  /** The refresh token that was redeemed: a rotated token replaces its secret instead of being added. */
  readonly redeemed?: CacheEntry.RefreshToken | undefined
  /** The account the request was made for (refreshes), when the answer names none. */
  readonly homeAccountId?: string | undefined
}

/** The entries written for one token response. @internal */
export interface Written {
  /** Absent when the answer was a sign-in with only an ID token. */
  readonly accessToken?: CacheEntry.AccessToken | undefined
  readonly refreshToken?: CacheEntry.RefreshToken | undefined
  readonly idToken?: CacheEntry.IdToken | undefined
  /** The account the tokens belong to (written unless `skipAccountCreation`). */
  readonly account?: Account | undefined
  readonly changes: ReadonlyArray<Change>
}

const refreshTokenEntry = (
  set: TokenSet,
  home: string | undefined,
  target: string
): CacheEntry.RefreshToken | undefined => {
  const { token } = set
  if (token.refresh_token === undefined || Redacted.value(token.refresh_token).length === 0) return undefined
  const now = Math.floor(set.requestedAtMillis / 1000)
  if (set.redeemed !== undefined) return { ...set.redeemed, secret: token.refresh_token, last_modification_time: now }
  return {
    credential_type: "RefreshToken",
    secret: token.refresh_token,
    home_account_id: home ?? "",
    environment: set.endpoints.environment,
    client_id: set.clientId,
    target,
    last_modification_time: now,
    ...(token.foci === undefined ? {} : { family_id: token.foci }),
    ...(set.userAssertionHash === undefined ? {} : { user_assertion_hash: set.userAssertionHash })
  }
}

/**
 * The tenant a user signed in to: the ID token's `tid`, else `client_info`'s `utid`, else
 * the realm (AD FS, B2C without `tid`). msal-node's `AccountInfo.tenantId` and MSAL Python's
 * `id_token_claims["tid"]` report the same.
 * @internal
 */
export const tenantOf = (claims: IdTokenClaims | undefined, utid: string | undefined, realm: string): string =>
  stringClaim(claims, "tid") ?? utid ?? realm

const accountFor = (set: TokenSet, home: string, clientInfo: ClientInfo | undefined): Account => {
  const claims = set.idTokenClaims
  return {
    homeAccountId: home,
    environment: set.endpoints.environment,
    tenantId: tenantOf(claims, clientInfo?.utid, set.endpoints.realm),
    username: stringClaim(claims, "preferred_username") ?? stringClaim(claims, "upn") ?? set.username ?? "",
    localAccountId: stringClaim(claims, "oid") ?? stringClaim(claims, "sub") ?? clientInfo?.uid ?? ""
  }
}

const accountEntry = (set: TokenSet, account: Account): CacheEntry.Account => {
  const realm = set.endpoints.realm
  return {
    home_account_id: account.homeAccountId,
    environment: set.endpoints.environment,
    realm,
    local_account_id: account.localAccountId,
    username: account.username,
    authority_type: realm.toLowerCase() === "adfs" ? "ADFS" : "MSSTS",
    ...(set.accountSource === undefined ? {} : { account_source: set.accountSource })
  }
}

/**
 * The unified-cache entries for a user token response: the access token, the refresh token
 * (or the redeemed one with its new secret), the ID token, the account and the app metadata
 * (the schema MSAL Python's `TokenCache.add` and msal-node's `CacheManager` write).
 * @internal
 */
export const userTokenChanges = (set: TokenSet): Written => {
  const { clientId, endpoints, token } = set
  const clientInfo = parseClientInfo(token.client_info)
  const home = homeAccountIdOf(clientInfo, set.idTokenClaims) ?? set.homeAccountId
  // an access token is stored only when the answer has one (MSAL Python's `TokenCache.add`)
  const accessToken = TokenResponse.isIssued(token)
    ? accessTokenEntry(
      { clientId, endpoints, scopes: set.scopes, homeAccountId: home ?? "", userAssertionHash: set.userAssertionHash },
      token,
      set.requestedAtMillis
    )
    : undefined
  const changes: Array<Change> = accessToken === undefined
    ? []
    : [{ _tag: "Put", section: "AccessToken", entry: accessToken }]
  const refreshToken = refreshTokenEntry(set, home, accessToken?.target ?? targetOf(token, set.scopes))
  if (refreshToken !== undefined) changes.push({ _tag: "Put", section: "RefreshToken", entry: refreshToken })
  let idToken: CacheEntry.IdToken | undefined
  if (token.id_token !== undefined && home !== undefined) {
    idToken = {
      credential_type: "IdToken",
      secret: token.id_token,
      home_account_id: home,
      environment: endpoints.environment,
      realm: endpoints.realm,
      client_id: clientId
    }
    changes.push({ _tag: "Put", section: "IdToken", entry: idToken })
  }
  const account = home === undefined ? undefined : accountFor(set, home, clientInfo)
  if (account !== undefined && set.skipAccountCreation !== true) {
    changes.push({ _tag: "Put", section: "Account", entry: accountEntry(set, account) })
  }
  changes.push(...appMetadataChange(clientId, endpoints.environment, set.appMetadata, token.foci))
  return { accessToken, refreshToken, idToken, account, changes }
}

const TENANTLESS: ReadonlySet<string> = new Set(["common", "organizations", "consumers"])

/**
 * The public view of a cached account. `tenantId` is its ID token's `tid` when known; an
 * account cached under a tenantless realm (`common`, …) signed in to its home tenant, the
 * `utid` of its home account id.
 * @internal
 */
export const accountOf = (entry: CacheEntry.Account, claims?: IdTokenClaims | undefined): Account => ({
  homeAccountId: entry.home_account_id,
  environment: entry.environment,
  tenantId: tenantOf(
    claims,
    TENANTLESS.has(entry.realm.toLowerCase()) ? entry.home_account_id.split(".")[1] : undefined,
    entry.realm
  ),
  username: entry.username ?? "",
  localAccountId: entry.local_account_id ?? ""
})

/** The result for a cached or freshly stored access token. @internal */
export const resultOf = (
  entry: CacheEntry.AccessToken,
  tokenSource: AuthenticationResult["tokenSource"],
  correlationId?: string
): AuthenticationResult => ({
  accessToken: entry.secret,
  tokenType: entry.token_type ?? "Bearer",
  expiresOn: new Date(entry.expires_on * 1000),
  ...(entry.extended_expires_on === undefined ? {} : { extExpiresOn: new Date(entry.extended_expires_on * 1000) }),
  ...(entry.refresh_on === undefined ? {} : { refreshOn: new Date(entry.refresh_on * 1000) }),
  scopes: entry.target.split(" "),
  tokenSource,
  tenantId: entry.realm,
  ...(correlationId === undefined ? {} : { correlationId })
})

/** What a user result carries beside its access token. @internal */
export interface Identity {
  readonly idToken?: Redacted.Redacted<string> | undefined
  readonly idTokenClaims?: IdTokenClaims | undefined
  readonly account?: Account | undefined
  readonly correlationId?: string | undefined
}

/**
 * The result of a sign-in whose answer carried only an ID token: no access token (an empty
 * one, as msal-node reports), no scopes, and valid until the ID token's `exp` (else until now).
 * @internal
 */
export const signInResult = (requestedAtMillis: number, extra: Identity): AuthenticationResult => {
  const exp = extra.idTokenClaims?.exp
  return {
    accessToken: Redacted.make(""),
    tokenType: "Bearer",
    expiresOn: new Date(typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : requestedAtMillis),
    scopes: [],
    tokenSource: "identity_provider",
    tenantId: extra.account?.tenantId ?? stringClaim(extra.idTokenClaims, "tid") ?? "",
    ...(extra.idToken === undefined ? {} : { idToken: extra.idToken }),
    ...(extra.idTokenClaims === undefined ? {} : { idTokenClaims: extra.idTokenClaims }),
    ...(extra.account === undefined ? {} : { account: extra.account }),
    ...(extra.correlationId === undefined ? {} : { correlationId: extra.correlationId })
  }
}

/** The result for a user access token, with the ID token and account when known; `tenantId` is the user's tenant. @internal */
export const userResult = (
  accessToken: CacheEntry.AccessToken,
  tokenSource: AuthenticationResult["tokenSource"],
  extra: Identity
): AuthenticationResult => ({
  ...resultOf(accessToken, tokenSource, extra.correlationId),
  tenantId: extra.account?.tenantId ?? tenantOf(extra.idTokenClaims, undefined, accessToken.realm),
  ...(extra.idToken === undefined ? {} : { idToken: extra.idToken }),
  ...(extra.idTokenClaims === undefined ? {} : { idTokenClaims: extra.idTokenClaims }),
  ...(extra.account === undefined ? {} : { account: extra.account })
})
