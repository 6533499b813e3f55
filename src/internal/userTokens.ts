import { Option, Predicate, Redacted } from "effect"
import type { Account, AuthenticationResult } from "../AuthenticationResult.js"
import type * as CacheEntry from "../CacheEntry.js"
import type { Change } from "../TokenCache.js"
import type * as Authority from "./authority.js"
import { resultOf } from "./context.js"
import type { IdTokenClaims } from "./idToken.js"
import { stringClaim } from "./idToken.js"
import type * as TokenResponse from "./tokenResponse.js"

/** The `client_info` the authority returns when asked with `client_info=1`. @internal */
export interface ClientInfo {
  readonly uid: string
  readonly utid: string
}

/** Decodes `client_info` (base64url JSON; padding and standard base64 tolerated). @internal */
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

/** `uid.utid` from `client_info`, else the ID token's `sub` (ADFS), else undefined. @internal */
export const homeAccountIdOf = (
  clientInfo: ClientInfo | undefined,
  claims: IdTokenClaims | undefined
): string | undefined =>
  clientInfo !== undefined ? `${clientInfo.uid}.${clientInfo.utid}` : stringClaim(claims, "sub")

/** The routing hint for a home account id: `Oid:<uid>@<utid>` (MSAL Python's `X-AnchorMailbox`). @internal */
export const anchorForHomeAccount = (homeAccountId: string): string => `Oid:${homeAccountId.replace(/\./g, "@")}`

/** A token response for a user, and what it is stored with. @internal */
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
  readonly accessToken: CacheEntry.AccessToken
  readonly refreshToken?: CacheEntry.RefreshToken | undefined
  readonly idToken?: CacheEntry.IdToken | undefined
  /** The account the tokens belong to (written unless `skipAccountCreation`). */
  readonly account?: Account | undefined
  readonly changes: ReadonlyArray<Change>
}

const targetOf = (token: TokenResponse.TokenResponse, scopes: ReadonlyArray<string>): string =>
  token.scope === undefined || token.scope.trim().length === 0
    ? Array.from(new Set(scopes)).sort().join(" ")
    : Array.from(new Set(token.scope.trim().split(/\s+/))).sort().join(" ")

/**
 * The unified-cache entries for a user token response (MSAL Python's `TokenCache.add`): the access
 * token, the refresh token (or the redeemed one with its new secret), the ID token, the
 * account and the app metadata.
 * @internal
 */
export const entries = (set: TokenSet): Written => {
  const { clientId, endpoints, token } = set
  const { environment, realm } = endpoints
  const now = Math.floor(set.requestedAtMillis / 1000)
  const clientInfo = parseClientInfo(token.client_info)
  const home = homeAccountIdOf(clientInfo, set.idTokenClaims) ?? set.homeAccountId
  const target = targetOf(token, set.scopes)
  const hash = set.userAssertionHash === undefined ? {} : { user_assertion_hash: set.userAssertionHash }
  const expiresIn = token.expires_in ?? (token.expires_on !== undefined ? token.expires_on - now : 600)
  const accessToken: CacheEntry.AccessToken = {
    credential_type: "AccessToken",
    secret: token.access_token,
    home_account_id: home ?? "",
    environment,
    client_id: clientId,
    realm,
    target,
    token_type: token.token_type ?? "Bearer",
    cached_at: now,
    expires_on: now + expiresIn,
    extended_expires_on: now + (token.ext_expires_in ?? expiresIn),
    ...(token.refresh_in === undefined ? {} : { refresh_on: now + token.refresh_in }),
    ...hash
  }
  const changes: Array<Change> = [{ _tag: "Put", section: "AccessToken", entry: accessToken }]

  let refreshToken: CacheEntry.RefreshToken | undefined
  if (token.refresh_token !== undefined && Redacted.value(token.refresh_token).length > 0) {
    refreshToken = set.redeemed !== undefined
      ? { ...set.redeemed, secret: token.refresh_token, last_modification_time: now }
      : {
        credential_type: "RefreshToken",
        secret: token.refresh_token,
        home_account_id: home ?? "",
        environment,
        client_id: clientId,
        target,
        last_modification_time: now,
        ...(token.foci === undefined ? {} : { family_id: token.foci }),
        ...hash
      }
    changes.push({ _tag: "Put", section: "RefreshToken", entry: refreshToken })
  }

  let idToken: CacheEntry.IdToken | undefined
  if (token.id_token !== undefined && home !== undefined) {
    idToken = {
      credential_type: "IdToken",
      secret: token.id_token,
      home_account_id: home,
      environment,
      realm,
      client_id: clientId
    }
    changes.push({ _tag: "Put", section: "IdToken", entry: idToken })
  }

  let account: Account | undefined
  if (home !== undefined) {
    const claims = set.idTokenClaims
    account = {
      homeAccountId: home,
      environment,
      tenantId: realm,
      username: stringClaim(claims, "preferred_username") ?? stringClaim(claims, "upn") ?? set.username ?? "",
      localAccountId: stringClaim(claims, "oid") ?? stringClaim(claims, "sub") ?? clientInfo?.uid ?? ""
    }
    if (set.skipAccountCreation !== true) {
      changes.push({
        _tag: "Put",
        section: "Account",
        entry: {
          home_account_id: home,
          environment,
          realm,
          local_account_id: account.localAccountId,
          username: account.username,
          authority_type: realm.toLowerCase() === "adfs" ? "ADFS" : "MSSTS",
          ...(set.accountSource === undefined ? {} : { account_source: set.accountSource })
        }
      })
    }
  }

  const existing = Option.getOrUndefined(set.appMetadata)
  changes.push({
    _tag: "Put",
    section: "AppMetadata",
    entry: {
      ...existing,
      client_id: clientId,
      environment,
      ...(token.foci === undefined ? {} : { family_id: token.foci })
    }
  })
  return { accessToken, refreshToken, idToken, account, changes }
}

/** The public view of a cached account. @internal */
export const accountOf = (entry: CacheEntry.Account): Account => ({
  homeAccountId: entry.home_account_id,
  environment: entry.environment,
  tenantId: entry.realm,
  username: entry.username ?? "",
  localAccountId: entry.local_account_id ?? ""
})

/** The result for a user access token, with the ID token and account when known. @internal */
export const userResult = (
  accessToken: CacheEntry.AccessToken,
  tokenSource: AuthenticationResult["tokenSource"],
  extra: {
    readonly idToken?: Redacted.Redacted<string> | undefined
    readonly idTokenClaims?: IdTokenClaims | undefined
    readonly account?: Account | undefined
    readonly correlationId?: string | undefined
  }
): AuthenticationResult => ({
  ...resultOf(accessToken, tokenSource, extra.correlationId),
  ...(extra.idToken === undefined ? {} : { idToken: extra.idToken }),
  ...(extra.idTokenClaims === undefined ? {} : { idTokenClaims: extra.idTokenClaims }),
  ...(extra.account === undefined ? {} : { account: extra.account })
})
