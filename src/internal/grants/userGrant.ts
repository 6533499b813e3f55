import type { HttpClient } from "@effect/platform"
import { Clock, Duration, Effect, Either, Option, Predicate, Redacted } from "effect"
import type { AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { Options } from "../../ConfidentialClient.js"
import type { MsalError } from "../../MsalError.js"
import { InvalidRequest } from "../../MsalError.js"
import type * as Authority from "../authority.js"
import * as Cache from "../cacheKey.js"
import type { ClientContext } from "../context.js"
import { fromEither } from "../context.js"
import * as IdToken from "../idToken.js"
import * as Scopes from "../scopes.js"
import type * as TokenRequest from "../tokenRequest.js"
import * as UserTokens from "../userTokens.js"
import { EXPIRY_BUFFER_SECONDS } from "./clientCredentials.js"

/** How long an auth-code flow may wait for its redirect, unless configured. @internal */
export const DEFAULT_FLOW_LIFETIME = Duration.minutes(10)

/** What the user grants of one client share, on top of the client context. @internal */
export interface UserContext {
  readonly ctx: ClientContext
  /** Reserved scopes the client does not add (MSAL Python's `exclude_scopes`). */
  readonly excludeScopes: ReadonlySet<string>
  readonly flowLifetime: Duration.Duration
  readonly http: HttpClient.HttpClient
}

/** Validates the user-flow options: `excludeScopes` is a list of strings without `openid`. @internal */
export const makeUserContext = (
  ctx: ClientContext,
  options: Options,
  http: HttpClient.HttpClient
): Either.Either<UserContext, InvalidRequest> => {
  const exclude = options.excludeScopes
  if (exclude !== undefined && (!Array.isArray(exclude) || exclude.some((s) => typeof s !== "string"))) {
    return Either.left(new InvalidRequest({ field: "excludeScopes", description: "excludeScopes must be an array of scope strings" }))
  }
  if (exclude?.includes("openid") === true) {
    return Either.left(
      new InvalidRequest({ field: "excludeScopes", description: "openid cannot be excluded: the user flows need an ID token" })
    )
  }
  let flowLifetime = DEFAULT_FLOW_LIFETIME
  if (options.authCodeFlowLifetime !== undefined) {
    const d = Duration.decodeUnknown(options.authCodeFlowLifetime)
    if (Option.isNone(d) || !Duration.isFinite(d.value) || Duration.toMillis(d.value) <= 0) {
      return Either.left(new InvalidRequest({ field: "authCodeFlowLifetime", description: "must be a positive, finite duration" }))
    }
    flowLifetime = d.value
  }
  return Either.right({ ctx, excludeScopes: new Set(exclude ?? []), flowLifetime, http })
}

/**
 * Normalized request scopes, rejected when they contain a reserved OIDC scope (the client adds
 * those itself), and the decorated scopes sent on the wire: input plus `openid`, `profile`,
 * `offline_access`, minus the excluded ones, sorted.
 * @internal
 */
export const scopesOf = (
  u: UserContext,
  input: unknown
): Either.Either<{ readonly requested: ReadonlyArray<string>; readonly decorated: ReadonlyArray<string> }, InvalidRequest> =>
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
export const secretInput = (field: string, value: unknown): Either.Either<Redacted.Redacted<string>, InvalidRequest> => {
  const raw = Redacted.isRedacted(value) ? Redacted.value(value) : value
  return typeof raw === "string" && raw.length > 0
    ? Either.right(Redacted.isRedacted(value) ? (value as Redacted.Redacted<string>) : Redacted.make(raw))
    : Either.left(new InvalidRequest({ field, description: `${field} must be a non-empty string` }))
}

/** Fails with `InvalidRequest` unless the request is an object. @internal */
export const requireRecord = (request: unknown, what: string): Effect.Effect<void, InvalidRequest> =>
  Predicate.isRecord(request) ? Effect.void : Effect.fail(new InvalidRequest({ description: `the request must be an object with ${what}` }))

/** One user token request: what goes on the wire and how the answer is stored. @internal */
export interface Redemption {
  readonly endpoints: Authority.Endpoints
  /** The grant fields (`grant_type`, `scope`, `claims`, …). */
  readonly grant: Readonly<Record<string, string | Redacted.Redacted<string> | undefined>>
  /** The decorated scopes sent. */
  readonly scopes: ReadonlyArray<string>
  readonly apiId: number
  readonly reason: TokenRequest.RefreshReason
  /** False for single-use grants (codes, refresh tokens): not re-sent once the authority may have seen them. */
  readonly idempotent?: boolean | undefined
  /** `X-AnchorMailbox`, the routing hint. */
  readonly anchor?: string | undefined
  /** Checks on the ID token before anything is cached (audience is always checked). */
  readonly check?: ((claims: IdToken.IdTokenClaims | undefined, nowSeconds: number) => Either.Either<void, MsalError>) | undefined
  readonly accountSource?: string | undefined
  readonly userAssertionHash?: string | undefined
  readonly skipAccountCreation?: boolean | undefined
  readonly username?: string | undefined
  readonly redeemed?: CacheEntry.RefreshToken | undefined
  /** The account to report when none is derived from the answer. */
  readonly account?: AuthenticationResult["account"]
}

/**
 * Sends a user token request, validates the ID token, writes the token set to the cache and
 * returns the result.
 * @internal
 */
export const redeem = (u: UserContext, r: Redemption): Effect.Effect<AuthenticationResult, MsalError> =>
  Effect.gen(function*() {
    const { ctx } = u
    const auth = yield* ctx.clientAuth(r.endpoints)
    const correlationId = crypto.randomUUID()
    const requestedAt = yield* Clock.currentTimeMillis
    const token = yield* ctx.send({
      endpoint: r.endpoints.tokenEndpoint,
      clientId: ctx.clientId,
      grant: r.grant,
      auth,
      headers: r.anchor === undefined ? ctx.headers : { ...ctx.headers, "X-AnchorMailbox": r.anchor },
      correlationId,
      apiId: r.apiId,
      reason: r.reason,
      ...(r.idempotent === undefined ? {} : { idempotent: r.idempotent })
    }, requestedAt)
    let claims: IdToken.IdTokenClaims | undefined
    if (token.id_token !== undefined) {
      claims = yield* fromEither(IdToken.decode(Redacted.value(token.id_token)))
      yield* fromEither(IdToken.checkAudience(claims, ctx.clientId))
    }
    if (r.check !== undefined) {
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      yield* fromEither(r.check(claims, now))
    }
    const appMetadata = yield* ctx.cache.get("AppMetadata", Cache.appMetadataKey(r.endpoints.environment, ctx.clientId))
    const written = UserTokens.entries({
      clientId: ctx.clientId,
      endpoints: r.endpoints,
      scopes: r.scopes,
      token,
      idTokenClaims: claims,
      requestedAtMillis: requestedAt,
      appMetadata,
      accountSource: r.accountSource,
      userAssertionHash: r.userAssertionHash,
      skipAccountCreation: r.skipAccountCreation,
      username: r.username,
      redeemed: r.redeemed,
      homeAccountId: r.account?.homeAccountId ?? nonEmpty(r.redeemed?.home_account_id)
    })
    yield* ctx.cache.modify(written.changes)
    const account = written.account ?? r.account
    // personal data (user name, object ids) reaches logs only when the app allows it
    yield* Effect.logDebug("effect-msal: tokens stored for an account").pipe(
      Effect.annotateLogs(
        ctx.options.enablePiiLog === true && account !== undefined
          ? { "msal.username": account.username, "msal.home_account_id": account.homeAccountId }
          : { "msal.username": "<pii: set enablePiiLog to show>" }
      )
    )
    return UserTokens.userResult(written.accessToken, "identity_provider", {
      idToken: token.id_token,
      idTokenClaims: claims,
      account,
      correlationId
    })
  })

const nonEmpty = (s: string | null | undefined): string | undefined => (s === null || s === "" ? undefined : s)

/** A cached access token: usable (at least five minutes left), or only known to have expired. @internal */
export interface Lookup {
  readonly usable: Option.Option<CacheEntry.AccessToken>
  readonly expired: boolean
}

/**
 * A usable access token for the scopes: by key, else a cached superset in the same partition
 * (one account, client and realm, or one user assertion). Expired entries found on the way are
 * removed.
 * @internal
 */
/**
 * The key of the entry that last served a request key. A user token is stored under the
 * scopes the authority answered with (which add `openid`, `profile`, `email`, full resource
 * names…), so the key built from the requested scopes rarely finds it; after the first scan
 * of the partition, the request is served by one keyed lookup. Bounded; a stale entry only
 * costs a scan.
 */
const servedBy = new Map<string, string>()
const MAX_SERVED_BY = 10_000

const remember = (requestKey: string, entryKey: string): void => {
  if (requestKey === entryKey) return
  if (servedBy.size >= MAX_SERVED_BY && !servedBy.has(requestKey)) {
    const oldest = servedBy.keys().next()
    if (oldest.done !== true) servedBy.delete(oldest.value)
  }
  servedBy.set(requestKey, entryKey)
}

export const findAccessToken = (
  ctx: ClientContext,
  query: Cache.AccessTokenQuery,
  scopes: ReadonlyArray<string>,
  now: number
): Effect.Effect<Lookup, MsalError> =>
  Effect.gen(function*() {
    const requestKey = Cache.accessTokenKey(query, scopes.join(" "))
    const exact = yield* ctx.cache.get("AccessToken", servedBy.get(requestKey) ?? requestKey)
    if (
      Option.isSome(exact) && exact.value.expires_on - now >= EXPIRY_BUFFER_SECONDS &&
      Scopes.isSubset(scopes, exact.value.target)
    ) {
      return { usable: exact, expired: false }
    }
    const candidates = yield* ctx.cache.list("AccessToken", Cache.accessTokenPartition(query))
    let best: CacheEntry.AccessToken | undefined
    let expired = Option.isSome(exact)
    const gone: Array<string> = []
    for (const e of candidates) {
      if (!Scopes.isSubset(scopes, e.target)) continue
      if (e.expires_on - now < EXPIRY_BUFFER_SECONDS) {
        expired = true
        if (e.expires_on < now) gone.push(Cache.keyOf("AccessToken", e))
      } else if (best === undefined || e.expires_on > best.expires_on) best = e
    }
    if (gone.length > 0) yield* ctx.cache.modify(gone.map((key) => ({ _tag: "Remove", section: "AccessToken", key })))
    if (best !== undefined) remember(requestKey, Cache.keyOf("AccessToken", best))
    return { usable: Option.fromNullable(best), expired: expired && best === undefined }
  })

/** Whether a usable token is past its `refresh_on`. @internal */
export const isAging = (entry: CacheEntry.AccessToken, now: number): boolean =>
  entry.refresh_on !== undefined && entry.refresh_on < now

/** Decoded ID-token claims, once per cached entry (entries are immutable). */
const decodedClaims = new WeakMap<CacheEntry.IdToken, Option.Option<IdToken.IdTokenClaims>>()
const claimsOf = (entry: CacheEntry.IdToken): Option.Option<IdToken.IdTokenClaims> => {
  let claims = decodedClaims.get(entry)
  if (claims === undefined) {
    claims = Either.getRight(IdToken.decode(Redacted.value(entry.secret)))
    decodedClaims.set(entry, claims)
  }
  return claims
}

/** The cached ID token and account of a home account, for results served from the cache. @internal */
export const cachedIdentity = (
  ctx: ClientContext,
  homeAccountId: string | null | undefined,
  endpoints: Authority.Endpoints
): Effect.Effect<{
  readonly idToken?: Redacted.Redacted<string> | undefined
  readonly idTokenClaims?: IdToken.IdTokenClaims | undefined
  readonly account?: AuthenticationResult["account"]
}, MsalError> =>
  Effect.gen(function*() {
    if (homeAccountId === null || homeAccountId === undefined || homeAccountId.length === 0) return {}
    const [idToken, account] = yield* Effect.all([
      ctx.cache.get("IdToken", Cache.idTokenKey(homeAccountId, endpoints.environment, ctx.clientId, endpoints.realm)),
      ctx.cache.get("Account", Cache.accountKey(homeAccountId, endpoints.environment, endpoints.realm))
    ])
    const claims = Option.flatMap(idToken, claimsOf)
    return {
      ...(Option.isSome(idToken) ? { idToken: idToken.value.secret } : {}),
      ...(Option.isSome(claims) ? { idTokenClaims: claims.value } : {}),
      ...(Option.isSome(account) ? { account: UserTokens.accountOf(account.value) } : {})
    }
  })
