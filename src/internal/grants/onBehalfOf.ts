import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Crypto from "node:crypto"
import type * as Fiber from "effect/Fiber"
import * as Predicate from "effect/Predicate"
import type { AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type {
  LongRunningRequest,
  LongRunningStartRequest,
  OnBehalfOfRequest,
  Service
} from "../../ConfidentialClient.js"
import type { MsalError } from "../../MsalError.js"
import { InvalidRequest, TokenNotFound } from "../../MsalError.js"
import * as Authority from "../authority.js"
import * as Cache from "../cacheKey.js"
import * as Claims from "../claims.js"
import * as Engine from "../engine.js"
import * as HotMemo from "../hotMemo.js"
import * as Memory from "../memoryCache.js"
import * as Assertion from "../protocol/assertion.js"
import * as Entries from "../protocol/entries.js"
import * as TokenRequest from "../protocol/tokenRequest.js"
import type { UserContext } from "./userGrant.js"
import { redeem, requireRecord, scopesOf, secretInput, servedUserToken, servedUserTokenFast } from "./userGrant.js"

/** base64url (unpadded) SHA-256 of the assertion: the `user_assertion_hash` msal-node writes. @internal */
export const assertionHash = (assertion: Redacted.Redacted<string>): string =>
  Crypto.createHash("sha256").update(Redacted.value(assertion), "utf8").digest("base64url")

/** One exchange's inputs. */
interface Exchange {
  readonly endpoints: Authority.Endpoints
  /** Absent when a long-running session goes on without the user's token. */
  readonly assertion: Redacted.Redacted<string> | undefined
  readonly hash: string
  readonly decorated: ReadonlyArray<string>
  readonly claims: string | undefined
  /** Whether a refresh token from an earlier exchange may stand in for the assertion (a JWT valid now). */
  readonly mayRefresh: boolean
  /** The assertion's `tid` claim, when it is a JWT that has one. */
  readonly tenantId?: string | undefined
}

/** The jwt-bearer exchange. */
const exchange = (
  u: UserContext,
  x: Exchange,
  reason: TokenRequest.RefreshReason
): Effect.Effect<AuthenticationResult, MsalError> =>
  x.assertion === undefined ? Effect.fail(sessionEnded) : redeem(u, {
    endpoints: x.endpoints,
    grant: TokenRequest.onBehalfOf(x.assertion, x.decorated, x.claims),
    scopes: x.decorated,
    apiId: TokenRequest.ApiId.acquireTokenOnBehalfOf,
    reason,
    userAssertionHash: x.hash
  })

/** Redeems the refresh token of an earlier exchange for the same assertion. */
const refresh = (u: UserContext, x: Exchange, rt: CacheEntry.RefreshToken, reason: TokenRequest.RefreshReason) =>
  redeem(u, {
    endpoints: x.endpoints,
    grant: TokenRequest.refreshToken(rt.secret, x.decorated, x.claims),
    scopes: x.decorated,
    apiId: TokenRequest.ApiId.acquireTokenOnBehalfOf,
    reason,
    idempotent: false,
    userAssertionHash: x.hash,
    skipAccountCreation: true,
    redeemed: rt,
    ...(typeof rt.home_account_id === "string" && rt.home_account_id.length > 0
      ? { anchor: Entries.anchorForHomeAccount(rt.home_account_id) }
      : {})
  })

/** This client's newest refresh token from an exchange of this assertion. */
const findRefreshToken = ({ ctx }: UserContext, x: Exchange) =>
  Effect.map(
    ctx.cache.list("RefreshToken", Cache.oboRefreshTokenPartition(x.hash, x.endpoints.environment)),
    (rts) => {
      let best: CacheEntry.RefreshToken | undefined
      for (const rt of rts) {
        if (rt.client_id !== ctx.clientId || rt.user_assertion_hash !== x.hash) continue
        if (best === undefined || (rt.last_modification_time ?? 0) > (best.last_modification_time ?? 0)) best = rt
      }
      return Option.fromNullable(best)
    }
  )

/**
 * The earlier exchange's refresh token when there is one, else the assertion itself. A claims
 * challenge goes with the assertion; a long-running session (no assertion) has only its
 * refresh token, whose refusal is returned as it is.
 */
const fetch =
  (u: UserContext, x: Exchange) =>
  (reason: TokenRequest.RefreshReason): Effect.Effect<AuthenticationResult, MsalError> => {
    const Forced = TokenRequest.RefreshReason.Forced
    if (x.assertion !== undefined && (!x.mayRefresh || reason === Forced)) {
      return exchange(u, x, reason === Forced ? reason : TokenRequest.RefreshReason.NotSilent)
    }
    return Effect.flatMap(findRefreshToken(u, x), (rt) =>
      Option.match(rt, {
        onNone: () => exchange(u, x, TokenRequest.RefreshReason.NotSilent),
        // the refresh token may have been revoked: the assertion may still be good
        onSome: (rt) =>
          Effect.catchTag(refresh(u, x, rt, reason), "ServerError", (error) =>
            x.assertion === undefined ? Effect.fail(error) : exchange(u, x, TokenRequest.RefreshReason.NotSilent))
      }))
  }

const sessionEnded = new TokenNotFound({
  description:
    "the long-running on-behalf-of session has no usable refresh token: start it again with a valid user token"
})

/** What the engine is asked for one exchange (cached per assertion hash or session key). */
const planOf = (u: UserContext, x: Exchange, requested: ReadonlyArray<string>, bypass: boolean): Engine.Plan => ({
  grant: "on_behalf_of",
  query: {
    homeAccountId: undefined,
    environment: x.endpoints.environment,
    clientId: u.ctx.clientId,
    realm: x.endpoints.realm,
    userAssertionHash: x.hash
  },
  // msal-node finds on-behalf-of tokens by assertion hash in any realm (msal-node
  // `OnBehalfOfClient.readAccessTokenFromCacheForOBO` filters on no realm) and writes them
  // under the ID token's tid: the assertion's tid is looked in too
  otherRealms: Authority.otherRealms(x.endpoints, x.tenantId),
  scopes: requested,
  aging: "inline",
  bypass: bypass ? x.claims ?? "" : undefined,
  serve: servedUserToken(u.ctx, x.endpoints),
  fetch: fetch(u, x)
})

/** A session key given by the caller: printable, 16 to 256 characters. */
const sessionKeyOf = (value: unknown): Either.Either<string, InvalidRequest> =>
  typeof value === "string" && /^[\x21-\x7e]{16,256}$/.test(value)
    ? Either.right(value)
    : Either.left(
      new InvalidRequest({
        field: "sessionKey",
        description: "sessionKey must be 16 to 256 printable ASCII characters without spaces"
      })
    )

/** The most user assertions remembered for the fast path (per client); past it, the oldest is forgotten. */
const MAX_USERS = 20_000

/**
 * A user assertion met before, validated: its hash, its lifetime, and the request shapes
 * served for it. The fast path keeps the assertion text itself (the key of the map) while
 * remembered: what it saves per hit is decoding the JWT and hashing it (SHA-256).
 */
interface HotUser {
  readonly hash: string
  readonly lifetime: Assertion.AssertionLifetime
  readonly shapes: HotMemo.HotMemo<Engine.Hot>
}

/** The assertion's text, for the fast path's lookup; `undefined` when it is not a string (the full path says why). */
const assertionText = (value: unknown): string | undefined => {
  if (typeof value === "string") return value
  if (!Redacted.isRedacted(value)) return undefined
  try {
    const text = Redacted.value(value)
    return typeof text === "string" ? text : undefined
  } catch {
    return undefined // wiped: the full path fails with its own error
  }
}

/** The assertions and request shapes served before, and the fast path that serves them again. */
const makeFastPath = (ctx: UserContext["ctx"]) => {
  const syncGet = Memory.syncGetOf(ctx.cache)
  const users = new Map<string, HotUser>()

  /** Remembers a validated request's shape for its assertion (only when the store can serve the fast path). */
  const remember = (
    assertion: string,
    user: Omit<HotUser, "shapes">,
    scopes: ReadonlyArray<string>,
    plan: Engine.Plan,
    endpoints: Authority.Endpoints
  ) => {
    if (syncGet === undefined) return
    let known = users.get(assertion)
    if (known === undefined || known.hash !== user.hash) {
      if (users.size >= MAX_USERS) {
        const oldest = users.keys().next()
        if (oldest.done !== true) users.delete(oldest.value)
      }
      known = { ...user, shapes: HotMemo.make() }
      users.set(assertion, known)
    }
    known.shapes.add(undefined, scopes, Engine.hotOf(plan, servedUserTokenFast(ctx, syncGet, endpoints)))
  }

  /** A cache hit for an assertion and shape seen before, with no tracer installed; else `undefined`. */
  const fast = (request: OnBehalfOfRequest, fiber: Fiber.RuntimeFiber<unknown, unknown>) => {
    if (users.size === 0 || !Engine.isUntraced(fiber) || !Predicate.isRecord(request)) return undefined
    if (request.claims !== undefined) return undefined
    const text = assertionText(request.userAssertion)
    const user = text === undefined ? undefined : users.get(text)
    const hot = user?.shapes.find(undefined, request.scopes)
    if (user === undefined || hot === undefined || !Assertion.stillValid(user.lifetime, Engine.nowOf(fiber))) {
      return undefined
    }
    return ctx.engine.hit(hot, fiber)
  }
  return { remember, fast }
}

/** `acquireTokenOnBehalfOf`, cached per user assertion. @internal */
export const make = (
  u: UserContext
): Pick<Service, "acquireTokenOnBehalfOf" | "initiateLongRunningOnBehalfOf" | "acquireTokenInLongRunningProcess"> => {
  const { ctx } = u
  const { fast, remember } = makeFastPath(ctx)

  const traced = Effect.fn("ConfidentialClient.acquireTokenOnBehalfOf")(
    function*(request: OnBehalfOfRequest) {
      yield* requireRecord(request, "userAssertion and scopes")
      const shape = Array.isArray(request.scopes) ? Array.from(request.scopes as ReadonlyArray<string>) : []
      const assertion = yield* secretInput("userAssertion", request.userAssertion)
      const { decorated, requested } = yield* scopesOf(u, request.scopes)
      const claims = yield* Claims.merge(ctx.options.clientCapabilities, request.claims)
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const lifetime = yield* Assertion.checkLifetime(Redacted.value(assertion), now)
      const endpoints = yield* ctx.endpointsFor(undefined)
      const hash = assertionHash(assertion)
      const x: Exchange = {
        endpoints,
        assertion,
        hash,
        decorated,
        claims,
        mayRefresh: lifetime._tag === "Valid",
        tenantId: lifetime._tag === "Valid" ? lifetime.tid : undefined
      }
      yield* Effect.annotateCurrentSpan({ "msal.grant": "on_behalf_of", "msal.tenant": endpoints.realm })
      const plan = planOf(u, x, requested, request.claims !== undefined)
      if (request.claims === undefined) remember(Redacted.value(assertion), { hash, lifetime }, shape, plan, endpoints)
      return yield* ctx.engine.acquire(plan)
    }
  )

  const acquireTokenOnBehalfOf = (request: OnBehalfOfRequest): Effect.Effect<AuthenticationResult, MsalError> =>
    Effect.withFiberRuntime((fiber) => fast(request, fiber) ?? traced(request))

  return { acquireTokenOnBehalfOf, ...LongRunning.make(u) }
}

/** Long-running on-behalf-of sessions (MSAL.NET's `InitiateLongRunningProcessInWebApi`). */
const LongRunning = {
  make: (u: UserContext): Pick<Service, "initiateLongRunningOnBehalfOf" | "acquireTokenInLongRunningProcess"> => {
    const { ctx } = u
    const initiateLongRunningOnBehalfOf = Effect.fn("ConfidentialClient.initiateLongRunningOnBehalfOf")(
      function*(request: LongRunningStartRequest) {
        yield* requireRecord(request, "userAssertion and scopes")
        const assertion = yield* secretInput("userAssertion", request.userAssertion)
        const sessionKey = request.sessionKey === undefined
          ? assertionHash(assertion)
          : yield* sessionKeyOf(request.sessionKey)
        const { decorated, requested } = yield* scopesOf(u, request.scopes)
        const claims = yield* Claims.merge(ctx.options.clientCapabilities, request.claims)
        const lifetime = yield* Assertion.checkLifetime(
          Redacted.value(assertion),
          Math.floor((yield* Clock.currentTimeMillis) / 1000)
        )
        if (lifetime._tag === "Unknown") {
          return yield* new InvalidRequest({
            field: "userAssertion",
            description: "a long-running session starts only from a JWT whose expiry (exp) can be checked"
          })
        }
        const endpoints = yield* ctx.endpointsFor(undefined)
        const x: Exchange = { endpoints, assertion, hash: sessionKey, decorated, claims, mayRefresh: false }
        // the session starts with an exchange of the user's token itself, never from an earlier session's tokens
        const result = yield* ctx.engine.acquire(planOf(u, x, requested, true))
        return { result, sessionKey }
      }
    )
    const acquireTokenInLongRunningProcess = Effect.fn("ConfidentialClient.acquireTokenInLongRunningProcess")(
      function*(request: LongRunningRequest) {
        yield* requireRecord(request, "sessionKey and scopes")
        const sessionKey = yield* sessionKeyOf(request.sessionKey)
        const { decorated, requested } = yield* scopesOf(u, request.scopes)
        const claims = yield* Claims.merge(ctx.options.clientCapabilities, request.claims)
        const endpoints = yield* ctx.endpointsFor(undefined)
        const x: Exchange = { endpoints, assertion: undefined, hash: sessionKey, decorated, claims, mayRefresh: true }
        return yield* ctx.engine.acquire(planOf(u, x, requested, request.claims !== undefined))
      }
    )
    return { initiateLongRunningOnBehalfOf, acquireTokenInLongRunningProcess }
  }
}
