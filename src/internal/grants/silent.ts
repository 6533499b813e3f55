import { Clock, Effect, Either, Option, Predicate } from "effect"
import type { Account, AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { Service, SilentRequest } from "../../ConfidentialClient.js"
import type { MsalError } from "../../MsalError.js"
import { InvalidRequest, TokenNotFound } from "../../MsalError.js"
import type * as Authority from "../authority.js"
import * as Cache from "../cacheKey.js"
import * as Claims from "../claims.js"
import { fromEither } from "../context.js"
import * as Metrics from "../metrics.js"
import { ApiId } from "../tokenRequest.js"
import type * as TokenRequest from "../tokenRequest.js"
import * as UserTokens from "../userTokens.js"
import type { UserContext } from "./userGrant.js"
import { cachedIdentity, findAccessToken, isAging, redeem, requireRecord, scopesOf } from "./userGrant.js"

/** The family of family refresh tokens (FOCI); Entra has one. */
const FAMILY = "1"

/** An account as given by the caller: at least its home account id and environment. @internal */
export const accountOf = (value: unknown): Either.Either<Account, InvalidRequest> => {
  if (
    Predicate.isRecord(value) && typeof value.homeAccountId === "string" && value.homeAccountId.length > 0 &&
    typeof value.environment === "string" && value.environment.length > 0
  ) {
    const str = (v: unknown) => (typeof v === "string" ? v : "")
    return Either.right({
      homeAccountId: value.homeAccountId,
      environment: value.environment,
      tenantId: str(value.tenantId),
      username: str(value.username),
      localAccountId: str(value.localAccountId)
    })
  }
  return Either.left(
    new InvalidRequest({ field: "account", description: "account must be an account from getAccounts or a result" })
  )
}

const newestFirst = (a: CacheEntry.RefreshToken, b: CacheEntry.RefreshToken) =>
  (b.last_modification_time ?? 0) - (a.last_modification_time ?? 0)

const isClientMismatch = (error: MsalError) => error._tag === "ServerError" && error.suberror === "client_mismatch"

/** `acquireTokenSilent`: the account's cached access token, else its refresh tokens. @internal */
export const make = (u: UserContext): Pick<Service, "acquireTokenSilent"> => {
  const { ctx } = u

  interface Refresh {
    readonly account: Account
    readonly endpoints: Authority.Endpoints
    readonly decorated: ReadonlyArray<string>
    readonly claims: string | undefined
    readonly reason: TokenRequest.RefreshReason
  }

  const redeemWith = (r: Refresh, rt: CacheEntry.RefreshToken) =>
    redeem(u, {
      endpoints: r.endpoints,
      grant: { grant_type: "refresh_token", refresh_token: rt.secret, scope: r.decorated.join(" "), claims: r.claims },
      scopes: r.decorated,
      apiId: ApiId.acquireTokenSilent,
      idempotent: false,
      reason: r.reason,
      anchor: UserTokens.anchorForHomeAccount(r.account.homeAccountId),
      skipAccountCreation: true,
      redeemed: rt,
      account: r.account
    })

  /**
   * The account's refresh tokens in MSAL Python's FOCI order: family tokens first when this
   * client has never been seen (stopping at `client_mismatch`), then those of the client's
   * family, then its own; newest first within each group, each token tried once.
   */
  const refreshFromCache = (r: Refresh): Effect.Effect<AuthenticationResult, MsalError> =>
    Effect.gen(function*() {
      const home = r.account.homeAccountId.toLowerCase()
      const all = (yield* ctx.cache.list(
        "RefreshToken",
        Cache.accountPartitionOf(r.account.homeAccountId, r.endpoints.environment)
      )).filter((rt) => (rt.home_account_id ?? "").toLowerCase() === home && rt.user_assertion_hash === undefined)
      const appMetadata = yield* ctx.cache.get("AppMetadata", Cache.appMetadataKey(r.endpoints.environment, ctx.clientId))
      const familyId = Option.getOrUndefined(Option.flatMapNullable(appMetadata, (m) => m.family_id))
      const groups: Array<{ readonly rts: ReadonlyArray<CacheEntry.RefreshToken>; readonly stopOnMismatch: boolean }> = []
      if (Option.isNone(appMetadata)) groups.push({ rts: all.filter((rt) => rt.family_id === FAMILY), stopOnMismatch: true })
      if (familyId !== undefined) groups.push({ rts: all.filter((rt) => rt.family_id === familyId), stopOnMismatch: false })
      groups.push({ rts: all.filter((rt) => rt.client_id === ctx.clientId), stopOnMismatch: false })
      const tried = new Set<string>()
      let last: MsalError | undefined
      for (const group of groups) {
        for (const rt of [...group.rts].sort(newestFirst)) {
          const key = Cache.keyOf("RefreshToken", rt)
          if (tried.has(key)) continue
          tried.add(key)
          const outcome = yield* Effect.either(redeemWith(r, rt))
          if (Either.isRight(outcome)) return outcome.right
          const error = outcome.left
          // only the authority's refusal moves on to the next token; anything else ends the search
          if (error._tag !== "ServerError") return yield* Effect.fail(error)
          last = error
          if (group.stopOnMismatch && isClientMismatch(error)) break
        }
      }
      if (last !== undefined) return yield* Effect.fail(last)
      return yield* new TokenNotFound({
        description: "the cache holds no usable access token and no refresh token for this account; sign the user in again"
      })
    })

  const acquireTokenSilent = Effect.fn("ConfidentialClient.acquireTokenSilent")(function*(request: SilentRequest) {
    yield* requireRecord(request, "scopes and account")
    const account = yield* fromEither(accountOf(request.account))
    const { decorated, requested } = yield* fromEither(scopesOf(u, request.scopes))
    if (request.forceRefresh !== undefined && typeof request.forceRefresh !== "boolean") {
      return yield* new InvalidRequest({ field: "forceRefresh", description: "forceRefresh must be a boolean" })
    }
    const claims = yield* fromEither(Claims.merge(ctx.options.clientCapabilities, request.claims))
    const endpoints = yield* ctx.endpointsFor(undefined)
    const query: Cache.AccessTokenQuery = {
      homeAccountId: account.homeAccountId,
      environment: endpoints.environment,
      clientId: ctx.clientId,
      realm: endpoints.realm
    }
    const key = Cache.accessTokenKey(query, requested.join(" "))
    const bypass = request.forceRefresh === true || request.claims !== undefined
    yield* Effect.annotateCurrentSpan({ "msal.grant": "silent", "msal.tenant": endpoints.realm })
    const fromCache = (at: CacheEntry.AccessToken) =>
      Effect.map(cachedIdentity(ctx, account.homeAccountId, endpoints), (identity) =>
        UserTokens.userResult(at, "cache", { ...identity, account: identity.account ?? account }))

    const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    let aging: Option.Option<CacheEntry.AccessToken> = Option.none()
    let reason: TokenRequest.RefreshReason = 1
    if (!bypass) {
      const found = yield* findAccessToken(ctx, query, requested, now)
      if (Option.isSome(found.usable) && !isAging(found.usable.value, now)) {
        yield* Metrics.cacheOutcome("silent", "hit")
        return yield* fromCache(found.usable.value)
      }
      aging = found.usable
      reason = Option.isSome(aging) ? 4 : found.expired ? 3 : 2
    }
    yield* Metrics.cacheOutcome("silent", bypass ? "bypass" : Option.isSome(aging) ? "aging" : "miss", true)
    const refresh: Refresh = { account, endpoints, decorated, claims, reason }
    const work = bypass ? refreshFromCache(refresh) : Effect.flatMap(
      // a flight that finished between our lookup and now has already stored the token
      findAccessToken(ctx, query, requested, now),
      (again) =>
        Option.isSome(again.usable) && !isAging(again.usable.value, now)
          ? fromCache(again.usable.value)
          : refreshFromCache(refresh)
    )
    const flightKey = bypass ? `silent\u0000${key}\u0000${claims ?? ""}` : `silent\u0000${key}`
    // instances sharing a store redeem a refresh token once: under the lock, the re-check
    // finds what another instance stored meanwhile
    return yield* ctx.flights.run(flightKey, bypass ? work : ctx.locked(key, work)).pipe(
      Effect.catchAll((error) =>
        Option.match(aging, {
          onNone: () => Effect.fail(error),
          onSome: (at) =>
            Effect.zipRight(
              Effect.annotateCurrentSpan("msal.refresh_error", error._tag),
              fromCache(at)
            )
        })
      )
    )
  })

  return { acquireTokenSilent }
}
