import { Clock, Effect, Option, Redacted } from "effect"
import * as Crypto from "node:crypto"
import type * as CacheEntry from "../../CacheEntry.js"
import type { OnBehalfOfRequest, Service } from "../../ConfidentialClient.js"
import type * as Authority from "../authority.js"
import * as Cache from "../cacheKey.js"
import * as Claims from "../claims.js"
import { fromEither } from "../context.js"
import * as Metrics from "../metrics.js"
import { ApiId } from "../tokenRequest.js"
import type * as TokenRequest from "../tokenRequest.js"
import * as UserTokens from "../userTokens.js"
import type { UserContext } from "./userGrant.js"
import { cachedIdentity, findAccessToken, isAging, redeem, requireRecord, scopesOf, secretInput } from "./userGrant.js"

/** base64url (unpadded) SHA-256 of the assertion: the `user_assertion_hash` msal-node writes. @internal */
export const assertionHash = (assertion: Redacted.Redacted<string>): string =>
  Crypto.createHash("sha256").update(Redacted.value(assertion), "utf8").digest("base64url")

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

/** `acquireTokenOnBehalfOf`, cached per user assertion. @internal */
export const make = (u: UserContext): Pick<Service, "acquireTokenOnBehalfOf"> => {
  const { ctx } = u

  interface Exchange {
    readonly endpoints: Authority.Endpoints
    readonly assertion: Redacted.Redacted<string>
    readonly hash: string
    readonly decorated: ReadonlyArray<string>
    readonly claims: string | undefined
  }

  /** The jwt-bearer request (RFC 7523 §2.1, `requested_token_use=on_behalf_of`). */
  const exchange = (x: Exchange, reason: TokenRequest.RefreshReason) =>
    redeem(u, {
      endpoints: x.endpoints,
      grant: {
        grant_type: JWT_BEARER,
        assertion: x.assertion,
        requested_token_use: "on_behalf_of",
        scope: x.decorated.join(" "),
        claims: x.claims
      },
      scopes: x.decorated,
      apiId: ApiId.acquireTokenOnBehalfOf,
      reason,
      userAssertionHash: x.hash
    })

  /** Redeems the refresh token of an earlier exchange for the same assertion. */
  const refresh = (x: Exchange, rt: CacheEntry.RefreshToken, reason: TokenRequest.RefreshReason) =>
    redeem(u, {
      endpoints: x.endpoints,
      grant: { grant_type: "refresh_token", refresh_token: rt.secret, scope: x.decorated.join(" "), claims: x.claims },
      scopes: x.decorated,
      apiId: ApiId.acquireTokenOnBehalfOf,
      reason,
      idempotent: false,
      userAssertionHash: x.hash,
      skipAccountCreation: true,
      redeemed: rt,
      ...(typeof rt.home_account_id === "string" && rt.home_account_id.length > 0
        ? { anchor: UserTokens.anchorForHomeAccount(rt.home_account_id) }
        : {})
    })

  /** This client's newest refresh token from an exchange of this assertion. */
  const findRefreshToken = (x: Exchange) =>
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

  const acquireTokenOnBehalfOf = Effect.fn("ConfidentialClient.acquireTokenOnBehalfOf")(
    function*(request: OnBehalfOfRequest) {
      yield* requireRecord(request, "userAssertion and scopes")
      const assertion = yield* fromEither(secretInput("userAssertion", request.userAssertion))
      const { decorated, requested } = yield* fromEither(scopesOf(u, request.scopes))
      const claims = yield* fromEither(Claims.merge(ctx.options.clientCapabilities, request.claims))
      const endpoints = yield* ctx.endpointsFor(undefined)
      const hash = assertionHash(assertion)
      const x: Exchange = { endpoints, assertion, hash, decorated, claims }
      const query: Cache.AccessTokenQuery = {
        homeAccountId: undefined,
        environment: endpoints.environment,
        clientId: ctx.clientId,
        realm: endpoints.realm,
        userAssertionHash: hash
      }
      const key = Cache.accessTokenKey(query, requested.join(" "))
      yield* Effect.annotateCurrentSpan({ "msal.grant": "on_behalf_of", "msal.tenant": endpoints.realm })
      if (request.claims !== undefined) {
        yield* Metrics.cacheOutcome("on_behalf_of", "bypass")
        return yield* ctx.flights.run(`${key}\u0000${claims}`, exchange(x, 1))
      }
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const found = yield* findAccessToken(ctx, query, requested, now)
      if (Option.isSome(found.usable) && !isAging(found.usable.value, now)) {
        yield* Metrics.cacheOutcome("on_behalf_of", "hit")
        const at = found.usable.value
        return UserTokens.userResult(at, "cache", yield* cachedIdentity(ctx, at.home_account_id, endpoints))
      }
      const aging = found.usable
      yield* Metrics.cacheOutcome("on_behalf_of", Option.isSome(aging) ? "aging" : "miss", true)
      const reason: TokenRequest.RefreshReason = Option.isSome(aging) ? 4 : found.expired ? 3 : 2
      const work = Effect.gen(function*() {
        // a flight that finished between our lookup and now has already stored the token
        const again = yield* findAccessToken(ctx, query, requested, now)
        if (Option.isSome(again.usable) && !isAging(again.usable.value, now)) {
          const at = again.usable.value
          return UserTokens.userResult(at, "cache", yield* cachedIdentity(ctx, at.home_account_id, endpoints))
        }
        const rt = yield* findRefreshToken(x)
        return yield* Option.match(rt, {
          onNone: () => exchange(x, 0),
          // the refresh token may have been revoked: the assertion may still be good
          onSome: (rt) => Effect.catchTag(refresh(x, rt, reason), "ServerError", () => exchange(x, 0))
        })
      })
      // instances sharing a store exchange once: under the lock, the re-check finds what
      // another instance stored meanwhile
      return yield* ctx.flights.run(key, ctx.locked(key, work)).pipe(
        Effect.catchAll((error) =>
          Option.match(aging, {
            onNone: () => Effect.fail(error),
            onSome: (at) =>
              Effect.flatMap(
                cachedIdentity(ctx, at.home_account_id, endpoints),
                (identity) => Effect.succeed(UserTokens.userResult(at, "cache", identity))
              )
          })
        )
      )
    }
  )

  return { acquireTokenOnBehalfOf }
}
