import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type { GrantHandler } from "./grant.js"
import { authenticated } from "./grant.js"
import { findUser, issueUserTokens, userError } from "./users.js"

const payloadOf = (jwt: string): Record<string, unknown> | undefined => {
  const parts = jwt.split(".")
  if (parts.length !== 3) return undefined
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"))
    return Predicate.isRecord(payload) ? payload : undefined
  } catch {
    return undefined
  }
}

/**
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with
 * `requested_token_use=on_behalf_of`: the assertion must be a user's token for this client
 * (`aud` the client id or `api://<client id>`) that has not expired.
 * @internal
 */
export const onBehalfOf: GrantHandler = authenticated((ctx) => {
  const { directory, form, settings } = ctx
  const invalid = (status: number, error: string, code: number, text: string) =>
    Effect.succeed(userError(ctx, status, error, code, text))
  if (form.requested_token_use !== "on_behalf_of") {
    return invalid(
      400,
      "invalid_request",
      900144,
      "The request body must contain the following parameter: 'requested_token_use'."
    )
  }
  const claims = form.assertion === undefined ? undefined : payloadOf(form.assertion)
  if (claims === undefined) return invalid(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
  const clientId = form.client_id ?? ""
  if (claims.aud !== clientId && claims.aud !== `api://${clientId}`) {
    return invalid(
      400,
      "invalid_grant",
      500131,
      "Assertion audience does not match the Client app presenting the assertion."
    )
  }
  const now = Math.floor(ctx.nowMillis / 1000)
  if (typeof claims.exp !== "number" || claims.exp <= now) {
    return invalid(400, "invalid_grant", 500133, "Assertion is not within its valid time range.")
  }
  const user = findUser(settings, typeof claims.oid === "string" ? claims.oid : undefined)
  if (user === undefined)
    return invalid(400, "invalid_grant", 50034, "The user account does not exist in the directory.")
  const scopes = (form.scope ?? "").split(" ").filter((s) => s.length > 0)
  if (scopes.length === 0) {
    return invalid(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
  }
  return issueUserTokens(ctx, directory, {
    user,
    clientId,
    scopes,
    grantType: "on_behalf_of",
    authTime: typeof claims.iat === "number" ? claims.iat : now
  })
})
