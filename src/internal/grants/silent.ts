import type * as Fiber from "effect/Fiber"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type { Account, AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { Service, SilentRequest } from "../../ConfidentialClient.js"
import type { MsalError } from "../../MsalError.js"
import { InvalidRequest, TokenNotFound } from "../../MsalError.js"
import * as Authority from "../authority.js"
import * as Cache from "../cacheKey.js"
import * as Claims from "../claims.js"
import * as Engine from "../engine.js"
import * as HotMemo from "../hotMemo.js"
import * as Memory from "../memoryCache.js"
import * as Entries from "../protocol/entries.js"
import * as TokenRequest from "../protocol/tokenRequest.js"
import type { UserContext } from "./userGrant.js"
import { redeem, requireRecord, scopesOf, servedUserToken, servedUserTokenFast } from "./userGrant.js"

/** The family of family refresh tokens (FOCI); Entra has one (msal-node `THE_FAMILY_ID = "1"`). */
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

/**
 * The refusal of a family refresh token by a client outside the family: MSAL Python stops
 * trying family tokens when `"client_mismatch" in response.get("error_additional_info", [])`
 * (msal/application.py, the `break_condition` of its FOCI lookup). Entra also names it in
 * `suberror`, which msal-node reads; either is taken.
 */
const isClientMismatch = (error: MsalError) =>
  error._tag === "ServerError" &&
  (error.errorAdditionalInfo?.includes("client_mismatch") === true || error.suberror === "client_mismatch")

interface Refresh {
  readonly account: Account
  readonly endpoints: Authority.Endpoints
  readonly decorated: ReadonlyArray<string>
  readonly claims: string | undefined
}

interface Group {
  readonly rts: ReadonlyArray<CacheEntry.RefreshToken>
  readonly stopOnMismatch: boolean
}

/**
 * The account's refresh tokens in MSAL's FOCI order: family tokens first when this client has
 * never been seen (stopping at `client_mismatch`), then those of the client's family, then
 * its own; newest first within each group.
 */
const groupsOf = (
  all: ReadonlyArray<CacheEntry.RefreshToken>,
  appMetadata: Option.Option<CacheEntry.AppMetadata>,
  clientId: string
): ReadonlyArray<Group> => {
  const familyId = Option.getOrUndefined(Option.flatMapNullable(appMetadata, (m) => m.family_id))
  const groups: Array<Group> = []
  if (Option.isNone(appMetadata))
    groups.push({ rts: all.filter((rt) => rt.family_id === FAMILY), stopOnMismatch: true })
  if (familyId !== undefined) groups.push({ rts: all.filter((rt) => rt.family_id === familyId), stopOnMismatch: false })
  groups.push({ rts: all.filter((rt) => rt.client_id === clientId), stopOnMismatch: false })
  return groups.map((g) => ({ ...g, rts: [...g.rts].sort(newestFirst) }))
}

const redeemWith = (u: UserContext, r: Refresh, rt: CacheEntry.RefreshToken, reason: TokenRequest.RefreshReason) =>
  redeem(u, {
    endpoints: r.endpoints,
    grant: TokenRequest.refreshToken(rt.secret, r.decorated, r.claims),
    scopes: r.decorated,
    apiId: TokenRequest.ApiId.acquireTokenSilent,
    idempotent: false,
    reason,
    anchor: Entries.anchorForHomeAccount(r.account.homeAccountId),
    skipAccountCreation: true,
    redeemed: rt,
    account: r.account
  })

const refreshTokensOf = ({ ctx }: UserContext, r: Refresh) =>
  Effect.map(
    ctx.cache.list("RefreshToken", Cache.accountPartitionOf(r.account.homeAccountId, r.endpoints.environment)),
    (rts) => {
      const home = r.account.homeAccountId.toLowerCase()
      return rts.filter((rt) =>
        (rt.home_account_id ?? "").toLowerCase() === home && rt.user_assertion_hash === undefined
      )
    }
  )

/** Each refresh token tried once, in order; only the authority's refusal moves on to the next. */
const refreshFromCache =
  (u: UserContext, r: Refresh) =>
  (reason: TokenRequest.RefreshReason): Effect.Effect<AuthenticationResult, MsalError> =>
    Effect.gen(function*() {
      const all = yield* refreshTokensOf(u, r)
      const appMetadata = yield* u.ctx.cache.get(
        "AppMetadata",
        Cache.appMetadataKey(r.endpoints.environment, u.ctx.clientId)
      )
      const tried = new Set<string>()
      let last: MsalError | undefined
      for (const group of groupsOf(all, appMetadata, u.ctx.clientId)) {
        for (const rt of group.rts) {
          const key = Cache.keyOf("RefreshToken", rt)
          if (tried.has(key)) continue
          tried.add(key)
          const outcome = yield* Effect.either(redeemWith(u, r, rt, reason))
          if (Either.isRight(outcome)) return outcome.right
          if (outcome.left._tag !== "ServerError") return yield* Effect.fail(outcome.left)
          last = outcome.left
          if (group.stopOnMismatch && isClientMismatch(outcome.left)) break
        }
      }
      if (last !== undefined) return yield* Effect.fail(last)
      return yield* new TokenNotFound({
        description:
          "the cache holds no usable access token and no refresh token for this account; sign the user in again"
      })
    })

/** An account object met before, as validated, and the request shapes served for it. */
interface HotAccount {
  readonly account: Account
  readonly shapes: HotMemo.HotMemo<Engine.Hot>
}

const text = (v: unknown) => (typeof v === "string" ? v : "")

/** Whether the caller's account object still says what it said when it was validated. */
const unchanged = (value: Record<string, unknown>, a: Account): boolean =>
  value.homeAccountId === a.homeAccountId && value.environment === a.environment &&
  text(value.tenantId) === a.tenantId && text(value.username) === a.username &&
  text(value.localAccountId) === a.localAccountId

/** The account objects and request shapes served before, and the fast path that serves them again. */
const makeFastPath = (ctx: UserContext["ctx"]) => {
  const syncGet = Memory.syncGetOf(ctx.cache)
  const accounts = new WeakMap<object, HotAccount>()
  const remember = (
    value: object,
    account: Account,
    scopes: ReadonlyArray<string>,
    plan: Engine.Plan,
    endpoints: Authority.Endpoints
  ) => {
    if (syncGet === undefined || plan.bypass !== undefined) return
    let known = accounts.get(value)
    if (known === undefined || known.account !== account) {
      known = { account, shapes: HotMemo.make() }
      accounts.set(value, known)
    }
    known.shapes.add(undefined, scopes, Engine.hotOf(plan, servedUserTokenFast(ctx, syncGet, endpoints, account)))
  }
  const fast = (request: SilentRequest, fiber: Fiber.RuntimeFiber<unknown, unknown>) => {
    if (syncGet === undefined || !Engine.isUntraced(fiber) || !Predicate.isRecord(request)) return undefined
    if (request.claims !== undefined || (request.forceRefresh !== undefined && request.forceRefresh !== false)) {
      return undefined
    }
    const value: unknown = request.account
    if (!Predicate.isRecord(value)) return undefined
    const known = accounts.get(value)
    if (known === undefined || !unchanged(value, known.account)) return undefined
    const hot = known.shapes.find(undefined, request.scopes)
    return hot === undefined ? undefined : ctx.engine.hit(hot, fiber)
  }
  return { remember, fast }
}

/** `acquireTokenSilent`: the account's cached access token, else its refresh tokens. @internal */
export const make = (u: UserContext): Pick<Service, "acquireTokenSilent"> => {
  const { ctx } = u
  const { fast, remember } = makeFastPath(ctx)
  const traced = Effect.fn("ConfidentialClient.acquireTokenSilent")(function*(request: SilentRequest) {
    yield* requireRecord(request, "scopes and account")
    const shape = Array.isArray(request.scopes) ? Array.from(request.scopes as ReadonlyArray<string>) : []
    const given: unknown = request.account
    const account = yield* accountOf(given)
    const { decorated, requested } = yield* scopesOf(u, request.scopes)
    if (request.forceRefresh !== undefined && typeof request.forceRefresh !== "boolean") {
      return yield* new InvalidRequest({ field: "forceRefresh", description: "forceRefresh must be a boolean" })
    }
    const claims = yield* Claims.merge(ctx.options.clientCapabilities, request.claims)
    const endpoints = yield* ctx.endpointsFor(undefined)
    yield* Effect.annotateCurrentSpan({ "msal.grant": "silent", "msal.tenant": endpoints.realm })
    const bypass = request.forceRefresh === true || request.claims !== undefined
    const plan: Engine.Plan = {
      grant: "silent",
      query: {
        homeAccountId: account.homeAccountId,
        environment: endpoints.environment,
        clientId: ctx.clientId,
        realm: endpoints.realm
      },
      otherRealms: Authority.otherRealms(endpoints, account.tenantId),
      scopes: requested,
      aging: "inline",
      bypass: bypass ? `silent\u0000${claims ?? ""}` : undefined,
      serve: servedUserToken(ctx, endpoints, account),
      fetch: refreshFromCache(u, { account, endpoints, decorated, claims })
    }
    if (Predicate.isRecord(given)) remember(given, account, shape, plan, endpoints)
    return yield* ctx.engine.acquire(plan)
  })

  const acquireTokenSilent = (request: SilentRequest): Effect.Effect<AuthenticationResult, MsalError> =>
    Effect.withFiberRuntime((fiber) => fast(request, fiber) ?? traced(request))

  return { acquireTokenSilent }
}
