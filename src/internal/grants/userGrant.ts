import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import type { AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { Options } from "../../ConfidentialClient.js"
import type { MsalError } from "../../MsalError.js"
import { InvalidRequest } from "../../MsalError.js"
import type * as Authority from "../authority.js"
import * as Cache from "../cacheKey.js"
import type { ClientContext } from "../context.js"
import type * as Engine from "../engine.js"
import * as IdToken from "../idToken.js"
import type * as Memory from "../memoryCache.js"
import * as Entries from "../protocol/entries.js"
import type * as TokenResponse from "../protocol/tokenResponse.js"
import type * as Redeem from "../redeem.js"
import * as Scopes from "../scopes.js"

/** How long an auth-code flow may wait for its redirect, unless configured. @internal */
export const DEFAULT_FLOW_LIFETIME = Duration.minutes(10)

/** What the user grants of one client share, on top of the client context. @internal */
export interface UserContext {
  readonly ctx: ClientContext
  /** Reserved scopes the client does not add (MSAL Python's `exclude_scopes`). */
  readonly excludeScopes: ReadonlySet<string>
  readonly flowLifetime: Duration.Duration
}

const flowLifetimeOf = (value: Options["authCodeFlowLifetime"]): Either.Either<Duration.Duration, InvalidRequest> => {
  if (value === undefined) return Either.right(DEFAULT_FLOW_LIFETIME)
  const d = Duration.decodeUnknown(value)
  return Option.isNone(d) || !Duration.isFinite(d.value) || Duration.toMillis(d.value) <= 0
    ? Either.left(
      new InvalidRequest({ field: "authCodeFlowLifetime", description: "must be a positive, finite duration" })
    )
    : Either.right(d.value)
}

/** Validates the user-flow options: `excludeScopes` is a list of strings without `openid`. @internal */
export const makeUserContext = (ctx: ClientContext): Either.Either<UserContext, InvalidRequest> => {
  const exclude = ctx.options.excludeScopes
  if (exclude !== undefined && (!Array.isArray(exclude) || exclude.some((s) => typeof s !== "string"))) {
    return Either.left(
      new InvalidRequest({ field: "excludeScopes", description: "excludeScopes must be an array of scope strings" })
    )
  }
  if (exclude?.includes("openid") === true) {
    return Either.left(
      new InvalidRequest({
        field: "excludeScopes",
        description: "openid cannot be excluded: the user flows need an ID token"
      })
    )
  }
  return Either.map(flowLifetimeOf(ctx.options.authCodeFlowLifetime), (flowLifetime) => ({
    ctx,
    excludeScopes: new Set(exclude ?? []),
    flowLifetime
  }))
}

/**
 * Normalized request scopes, rejected when they contain a reserved OIDC scope (the client adds
 * those itself), and the decorated scopes sent on the wire: input plus `openid`, `profile`,
 * `offline_access`, minus the excluded ones, sorted (MSAL Python's `_decorate_scope`).
 * @internal
 */
export const scopesOf = (
  u: UserContext,
  input: unknown
): Either.Either<
  { readonly requested: ReadonlyArray<string>; readonly decorated: ReadonlyArray<string> },
  InvalidRequest
> =>
  Either.flatMap(Scopes.normalize(input), (requested) => {
    const reserved = requested.find((s) => Scopes.RESERVED_SCOPES.includes(s))
    if (reserved !== undefined) {
      return Either.left(
        new InvalidRequest({
          field: "scopes",
          description: `${reserved} is reserved: the client adds openid, profile and offline_access itself`
        })
      )
    }
    const all = new Set([...requested, ...Scopes.RESERVED_SCOPES])
    for (const s of u.excludeScopes) all.delete(s)
    return Either.right({ requested, decorated: Array.from(all).sort() })
  })

/** A secret input (`string` or `Redacted<string>`), non-empty, kept `Redacted`. @internal */
export const secretInput = (
  field: string,
  value: unknown
): Either.Either<Redacted.Redacted<string>, InvalidRequest> => {
  const raw = Redacted.isRedacted(value) ? Redacted.value(value) : value
  return typeof raw === "string" && raw.length > 0
    ? Either.right(Redacted.isRedacted(value) ? (value as Redacted.Redacted<string>) : Redacted.make(raw))
    : Either.left(new InvalidRequest({ field, description: `${field} must be a non-empty string` }))
}

/** Fails with `InvalidRequest` unless the request is an object. @internal */
export const requireRecord = (request: unknown, what: string): Effect.Effect<void, InvalidRequest> =>
  Predicate.isRecord(request)
    ? Effect.void
    : Effect.fail(new InvalidRequest({ description: `the request must be an object with ${what}` }))

/** One user token request: what goes on the wire and how the answer is stored. @internal */
export interface UserRedemption extends Omit<Redeem.RedemptionBase, "regional"> {
  /** A sign-in (the authorization code grant, OpenID Connect scopes only): the answer may carry only an ID token. */
  readonly signIn?: boolean | undefined
  /** The decorated scopes sent. */
  readonly scopes: ReadonlyArray<string>
  readonly accountSource?: string | undefined
  readonly userAssertionHash?: string | undefined
  readonly skipAccountCreation?: boolean | undefined
  readonly username?: string | undefined
  readonly redeemed?: CacheEntry.RefreshToken | undefined
  /** The account to report when none is derived from the answer. */
  readonly account?: AuthenticationResult["account"]
}

const nonEmpty = (s: string | null | undefined): string | undefined => (s === null || s === "" ? undefined : s)

/** The pure processor of a user token answer: its cache entries and its result. @internal */
export const userStore = (clientId: string, r: UserRedemption) =>
(
  answer: Redeem.Answer<TokenResponse.TokenResponse>
): Redeem.Stored => {
  const written = Entries.userTokenChanges({
    clientId,
    endpoints: r.endpoints,
    scopes: r.scopes,
    token: answer.token,
    idTokenClaims: answer.idTokenClaims,
    requestedAtMillis: answer.requestedAtMillis,
    appMetadata: answer.appMetadata,
    accountSource: r.accountSource,
    userAssertionHash: r.userAssertionHash,
    skipAccountCreation: r.skipAccountCreation,
    username: r.username,
    redeemed: r.redeemed,
    homeAccountId: r.account?.homeAccountId ?? nonEmpty(r.redeemed?.home_account_id)
  })
  const identity = {
    idToken: answer.token.id_token,
    idTokenClaims: answer.idTokenClaims,
    account: written.account ?? r.account,
    correlationId: answer.correlationId
  }
  return {
    changes: written.changes,
    result: written.accessToken === undefined
      ? Entries.signInResult(answer.requestedAtMillis, identity)
      : Entries.userResult(written.accessToken, "identity_provider", identity)
  }
}

/** Sends a user token request and stores its answer. @internal */
export const redeem = (u: UserContext, r: UserRedemption): Effect.Effect<AuthenticationResult, MsalError> => {
  const store = userStore(u.ctx.clientId, r)
  return u.ctx.redeem(r.signIn === true ? { ...r, signIn: true, store } : { ...r, signIn: false, store })
}

/** Decoded ID-token claims, once per cached entry (entries are immutable: a new token is a new entry). */
const decodedClaims = new WeakMap<CacheEntry.IdToken, Option.Option<IdToken.IdTokenClaims>>()
const claimsOf = (entry: CacheEntry.IdToken): Option.Option<IdToken.IdTokenClaims> => {
  let claims = decodedClaims.get(entry)
  if (claims === undefined) {
    claims = Either.getRight(IdToken.decode(Redacted.value(entry.secret)))
    decodedClaims.set(entry, claims)
  }
  return claims
}

/** The identity part of a result from the cached ID token and account (either may be absent). */
const identityOf = (
  idToken: CacheEntry.IdToken | undefined,
  account: CacheEntry.Account | undefined
): Entries.Identity => {
  const claims = idToken === undefined ? undefined : Option.getOrUndefined(claimsOf(idToken))
  return {
    ...(idToken !== undefined ? { idToken: idToken.secret } : {}),
    ...(claims === undefined ? {} : { idTokenClaims: claims }),
    ...(account !== undefined ? { account: Entries.accountOf(account, claims) } : {})
  }
}

/** The cache keys of a home account's ID token and account entry. */
const identityKeys = (
  ctx: ClientContext,
  homeAccountId: string,
  endpoints: Pick<Authority.Endpoints, "environment" | "realm">
) => ({
  idToken: Cache.idTokenKey(homeAccountId, endpoints.environment, ctx.clientId, endpoints.realm),
  account: Cache.accountKey(homeAccountId, endpoints.environment, endpoints.realm)
})

/** The cached ID token and account of a home account, for results served from the cache. @internal */
export const cachedIdentity = (
  ctx: ClientContext,
  homeAccountId: string | null | undefined,
  endpoints: Pick<Authority.Endpoints, "environment" | "realm">
): Effect.Effect<Entries.Identity, MsalError> => {
  if (homeAccountId === null || homeAccountId === undefined || homeAccountId.length === 0) return Effect.succeed({})
  const keys = identityKeys(ctx, homeAccountId, endpoints)
  return Effect.map(
    Effect.all([ctx.cache.get("IdToken", keys.idToken), ctx.cache.get("Account", keys.account)]),
    ([idToken, account]) => identityOf(Option.getOrUndefined(idToken), Option.getOrUndefined(account))
  )
}

const withFallback = (
  identity: Entries.Identity,
  fallbackAccount: AuthenticationResult["account"] | undefined
): Entries.Identity =>
  identity.account === undefined && fallbackAccount !== undefined ? { ...identity, account: fallbackAccount } : identity

/**
 * `servedUserToken` for the engine's fast path, reading the ID token and account from the
 * in-memory store synchronously (the same entries, keys and result): the `Exit` is kept while
 * the access token, ID token and account entries stay the same objects. @internal
 */
export const servedUserTokenFast = (
  ctx: ClientContext,
  syncGet: Memory.SyncGet,
  endpoints: Authority.Endpoints,
  fallbackAccount?: AuthenticationResult["account"]
): Engine.Hot["serve"] => {
  let last: {
    readonly entry: CacheEntry.AccessToken
    readonly keys: ReturnType<typeof identityKeys> | undefined
    readonly idToken: CacheEntry.IdToken | undefined
    readonly account: CacheEntry.Account | undefined
    readonly exit: Exit.Exit<AuthenticationResult>
  } | undefined
  return (entry) => {
    const home = entry.home_account_id
    const keys = last?.entry === entry
      ? last.keys
      : home === null || home === undefined || home.length === 0
      ? undefined
      : identityKeys(ctx, home, { environment: endpoints.environment, realm: entry.realm })
    const idToken = keys === undefined ? undefined : syncGet("IdToken", keys.idToken)
    const account = keys === undefined ? undefined : syncGet("Account", keys.account)
    if (last !== undefined && last.entry === entry && last.idToken === idToken && last.account === account) {
      return last.exit
    }
    const result = Entries.userResult(entry, "cache", withFallback(identityOf(idToken, account), fallbackAccount))
    last = { entry, keys, idToken, account, exit: Exit.succeed(result) }
    return last.exit
  }
}

/**
 * The result for a cached user access token, with its ID token and account: those of the
 * token's own realm, under which every MSAL writes them with it (an access token found under
 * another realm than the authority's, see `Authority.lookupRealms`, has its identity there).
 * @internal
 */
export const servedUserToken = (
  ctx: ClientContext,
  endpoints: Authority.Endpoints,
  fallbackAccount?: AuthenticationResult["account"]
) =>
(entry: CacheEntry.AccessToken): Effect.Effect<AuthenticationResult, MsalError> =>
  Effect.map(
    cachedIdentity(ctx, entry.home_account_id, { environment: endpoints.environment, realm: entry.realm }),
    (identity) => Entries.userResult(entry, "cache", withFallback(identity, fallbackAccount))
  )
