import { Clock, Effect, Option, Redacted } from "effect"
import * as Crypto from "node:crypto"
import type { AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { OnBehalfOfRequest, Service } from "../../ConfidentialClient.js"
import type { MsalError } from "../../MsalError.js"
import type * as Authority from "../authority.js"
import * as Cache from "../cacheKey.js"
import * as Claims from "../claims.js"
import * as Assertion from "../protocol/assertion.js"
import * as Entries from "../protocol/entries.js"
import * as TokenRequest from "../protocol/tokenRequest.js"
import type { UserContext } from "./userGrant.js"
import { redeem, requireRecord, scopesOf, secretInput, servedUserToken } from "./userGrant.js"

/** base64url (unpadded) SHA-256 of the assertion: the `user_assertion_hash` msal-node writes. @internal */
export const assertionHash = (assertion: Redacted.Redacted<string>): string =>
  Crypto.createHash("sha256").update(Redacted.value(assertion), "utf8").digest("base64url")

/** One exchange's inputs. */
interface Exchange {
  readonly endpoints: Authority.Endpoints
  readonly assertion: Redacted.Redacted<string>
  readonly hash: string
  readonly decorated: ReadonlyArray<string>
  readonly claims: string | undefined
  /** Whether a refresh token from an earlier exchange may stand in for the assertion (a JWT valid now). */
  readonly mayRefresh: boolean
}

/** The jwt-bearer exchange. */
const exchange = (u: UserContext, x: Exchange, reason: TokenRequest.RefreshReason) =>
    redeem(u, {
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

/** The earlier exchange's refresh token when there is one, else the assertion itself. */
const fetch = (u: UserContext, x: Exchange) => (reason: TokenRequest.RefreshReason): Effect.Effect<AuthenticationResult, MsalError> =>
  x.mayRefresh && reason !== TokenRequest.RefreshReason.Forced
    ? Effect.flatMap(findRefreshToken(u, x), (rt) =>
      Option.match(rt, {
        onNone: () => exchange(u, x, TokenRequest.RefreshReason.NotSilent),
        // the refresh token may have been revoked: the assertion may still be good
        onSome: (rt) =>
          Effect.catchTag(refresh(u, x, rt, reason), "ServerError", () => exchange(u, x, TokenRequest.RefreshReason.NotSilent))
      }))
    : exchange(u, x, reason === TokenRequest.RefreshReason.Forced ? reason : TokenRequest.RefreshReason.NotSilent)

/** `acquireTokenOnBehalfOf`, cached per user assertion. @internal */
export const make = (u: UserContext): Pick<Service, "acquireTokenOnBehalfOf"> => {
  const { ctx } = u

  const acquireTokenOnBehalfOf = Effect.fn("ConfidentialClient.acquireTokenOnBehalfOf")(
    function*(request: OnBehalfOfRequest) {
      yield* requireRecord(request, "userAssertion and scopes")
      const assertion = yield* secretInput("userAssertion", request.userAssertion)
      const { decorated, requested } = yield* scopesOf(u, request.scopes)
      const claims = yield* Claims.merge(ctx.options.clientCapabilities, request.claims)
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const lifetime = yield* Assertion.checkLifetime(Redacted.value(assertion), now)
      const endpoints = yield* ctx.endpointsFor(undefined)
      const hash = assertionHash(assertion)
      const x: Exchange = { endpoints, assertion, hash, decorated, claims, mayRefresh: lifetime._tag === "Valid" }
      yield* Effect.annotateCurrentSpan({ "msal.grant": "on_behalf_of", "msal.tenant": endpoints.realm })
      return yield* ctx.engine.acquire({
        grant: "on_behalf_of",
        query: {
          homeAccountId: undefined,
          environment: endpoints.environment,
          clientId: ctx.clientId,
          realm: endpoints.realm,
          userAssertionHash: hash
        },
        scopes: requested,
        aging: "inline",
        bypass: request.claims !== undefined ? claims ?? "" : undefined,
        serve: servedUserToken(ctx, endpoints),
        fetch: fetch(u, x)
      })
    }
  )

  return { acquireTokenOnBehalfOf }
}
