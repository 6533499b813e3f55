import * as Effect from "effect/Effect"
import type { GrantHandler } from "./grant.js"
import { authenticated } from "./grant.js"
import { isFamily, issueUserTokens, userError } from "./users.js"

/**
 * `grant_type=refresh_token`: redeems a refresh token of this client, or a family refresh
 * token when this client is in the family (else `invalid_grant` with suberror
 * `client_mismatch`). Answers with a new refresh token unless rotation is turned off.
 * @internal
 */
export const refreshToken: GrantHandler = authenticated((ctx) => {
  const { directory, form, settings } = ctx
  const clientId = form.client_id ?? ""
  const grant = form.refresh_token === undefined ? undefined : directory.refreshTokens.get(form.refresh_token)
  if (grant === undefined) {
    return Effect.succeed(
      userError(ctx, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
    )
  }
  if (grant.clientId !== clientId && !(grant.family && isFamily(settings, clientId))) {
    return Effect.succeed(
      userError(
        ctx,
        400,
        "invalid_grant",
        70000,
        "Provided grant is invalid or malformed: the refresh token was issued to another client.",
        {
          // MSAL Python stops its family-token loop on `"client_mismatch" in error_additional_info`
          // (msal/application.py); msal-node reads the same refusal's suberror
          suberror: "client_mismatch",
          error_additional_info: ["client_mismatch"]
        }
      )
    )
  }
  const scopes = (form.scope ?? "").split(" ").filter((s) => s.length > 0)
  if (scopes.length === 0) {
    return Effect.succeed(
      userError(ctx, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
    )
  }
  return issueUserTokens(ctx, directory, {
    user: grant.user,
    clientId,
    scopes,
    grantType: "refresh_token",
    authTime: grant.authTime,
    ...(settings.rotateRefreshTokens === false ? { refreshToken: form.refresh_token } : {})
  })
})
