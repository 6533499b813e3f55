import * as Effect from "effect/Effect"
import type { RefreshTokenRequest, Service } from "../../ConfidentialClient.js"
import { ApiId, RefreshReason } from "../protocol/tokenRequest.js"
import type { UserContext } from "./userGrant.js"
import { redeem, requireRecord, scopesOf, secretInput } from "./userGrant.js"

/**
 * `acquireTokenByRefreshToken`: the migration path of refresh tokens obtained elsewhere. The
 * new refresh token is added to the cache (not used to update an older entry), with the
 * account (MSAL Python's `acquire_token_by_refresh_token`).
 * @internal
 */
export const make = (u: UserContext): Pick<Service, "acquireTokenByRefreshToken"> => {
  const { ctx } = u
  const acquireTokenByRefreshToken = Effect.fn("ConfidentialClient.acquireTokenByRefreshToken")(
    function*(request: RefreshTokenRequest) {
      yield* requireRecord(request, "refreshToken and scopes")
      const refreshToken = yield* (secretInput("refreshToken", request.refreshToken))
      const { decorated } = yield* (scopesOf(u, request.scopes))
      const endpoints = yield* ctx.endpointsFor(undefined)
      yield* Effect.annotateCurrentSpan({ "msal.grant": "refresh_token", "msal.tenant": endpoints.realm })
      return yield* redeem(u, {
        endpoints,
        grant: { grant_type: "refresh_token", refresh_token: refreshToken, scope: decorated.join(" ") },
        scopes: decorated,
        apiId: ApiId.acquireTokenByRefreshToken,
        idempotent: false,
        reason: RefreshReason.Forced
      })
    }
  )
  return { acquireTokenByRefreshToken }
}
