import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import type { GrantHandler } from "./grant.js"
import { authenticated } from "./grant.js"
import { tenantIdOf } from "./issuers.js"
import { issueUserTokens, userError } from "./users.js"

const challengeOf = (verifier: string, method: string | undefined): string =>
  method === "plain" ? verifier : Crypto.createHash("sha256").update(verifier, "utf8").digest("base64url")

/**
 * `grant_type=authorization_code`: redeems a code from the authorize endpoint once, for the
 * client and redirect URI it was issued to, checking the PKCE verifier against the challenge.
 * @internal
 */
export const authorizationCode: GrantHandler = authenticated((ctx) => {
  const { directory, form } = ctx
  const invalid = (code: number, text: string) => Effect.succeed(userError(ctx, 400, "invalid_grant", code, text))
  const grant = form.code === undefined ? undefined : directory.codes.get(form.code)
  if (grant === undefined) return invalid(9002313, "Invalid request. Request is malformed or invalid.")
  const now = Math.floor(ctx.nowMillis / 1000)
  if (grant.redeemed) {
    return invalid(
      54005,
      "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."
    )
  }
  if (grant.expiresAt < now)
    return invalid(70008, "The provided authorization code or refresh token has expired due to inactivity.")
  if (grant.clientId !== form.client_id) return invalid(70000, "Provided grant is invalid or malformed.")
  // a tenant named by domain and by tenant id is one tenant (Entra answers a domain with its GUID endpoints)
  if (tenantIdOf(grant.tenant, ctx.settings).toLowerCase() !== tenantIdOf(ctx.tenant, ctx.settings).toLowerCase()) {
    return invalid(70000, "Provided grant is invalid or malformed: it was issued for another tenant.")
  }
  if (grant.redirectUri !== form.redirect_uri) {
    return invalid(
      500112,
      "The reply address does not match the reply address provided when requesting the authorization code."
    )
  }
  if (grant.codeChallenge !== undefined) {
    if (form.code_verifier === undefined) {
      return invalid(
        501481,
        "The Code_Verifier does not match the code_challenge supplied in the authorization request."
      )
    }
    const computed = Buffer.from(challengeOf(form.code_verifier, grant.codeChallengeMethod))
    const expected = Buffer.from(grant.codeChallenge)
    if (computed.length !== expected.length || !Crypto.timingSafeEqual(computed, expected)) {
      return invalid(
        50148,
        "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE."
      )
    }
  }
  grant.redeemed = true
  const scopes = (form.scope ?? "").split(" ").filter((s) => s.length > 0)
  return issueUserTokens(ctx, directory, {
    user: grant.user,
    clientId: grant.clientId,
    scopes: scopes.length === 0 ? grant.scopes : scopes,
    grantType: "authorization_code",
    nonce: grant.nonce,
    authTime: grant.authTime
  })
})
