import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import type { GrantHandler } from "./grant.js"
import { authenticated } from "./grant.js"
import { findUser, issueUserTokens, userError } from "./users.js"

const same = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && Crypto.timingSafeEqual(x, y)
}

/** `grant_type=password` (ROPC): managed users with the right password. @internal */
export const password: GrantHandler = authenticated((ctx) => {
  const { directory, form, settings } = ctx
  const user = findUser(settings, form.username)
  if (user === undefined) {
    return Effect.succeed(
      userError(ctx, 400, "invalid_grant", 50034, "The user account does not exist in the directory.")
    )
  }
  if (
    user.federated === true || user.password === undefined || form.password === undefined ||
    !same(form.password, user.password)
  ) {
    return Effect.succeed(
      userError(ctx, 400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
    )
  }
  const scopes = (form.scope ?? "").split(" ").filter((s) => s.length > 0)
  return issueUserTokens(ctx, directory, {
    user,
    clientId: form.client_id ?? "",
    scopes,
    grantType: "password",
    authTime: Math.floor(ctx.nowMillis / 1000)
  })
})
