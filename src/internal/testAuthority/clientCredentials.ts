import * as Effect from "effect/Effect"
import type { IssuedToken, OutgoingResponse } from "../../TestAuthority.js"
import type { GrantContext, GrantHandler } from "./grant.js"
import { authenticated, fail } from "./grant.js"
import { appToken, json } from "./responses.js"

/**
 * Entra's refusal of a client-credentials scope list: none given (AADSTS900144), or one
 * without the `/.default` suffix (AADSTS1002012). Undefined when the scopes are acceptable.
 */
const refuseScopes = (ctx: GrantContext, scopes: ReadonlyArray<string>): OutgoingResponse | undefined => {
  if (scopes.length === 0) {
    return fail(ctx, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
  }
  const bad = scopes.find((s) => !s.endsWith("/.default"))
  if (bad === undefined) return undefined
  return fail(
    ctx,
    400,
    "invalid_scope",
    1002012,
    `The provided value for scope ${bad} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`
  )
}

/** The v1 app access token (claims as Entra issues them) for the first scope's resource. */
const appAccessToken = (ctx: GrantContext, clientId: string, resource: string, sequence: number): string => {
  const { form, settings, tenant } = ctx
  const now = Math.floor(ctx.nowMillis / 1000)
  return appToken({
    aud: resource,
    iss: `https://sts.windows.net/${tenant}/`,
    iat: now,
    nbf: now,
    exp: now + settings.expiresIn,
    aio: "E2ZgYJj0test",
    app_displayname: "effect-msal test app",
    appid: clientId,
    appidacr: "1",
    idp: `https://sts.windows.net/${tenant}/`,
    idtyp: "app",
    oid: crypto.randomUUID(),
    rh: "0.AAAA",
    roles: ["Test.Read.All"],
    sub: clientId,
    tid: tenant,
    uti: `at-${sequence}`,
    ver: "1.0",
    ...(form.claims === undefined ? {} : { xms_cc: ["CP1"] })
  })
}

/** The token endpoint's 200 answer carrying `accessToken` (no refresh or ID token for an app). */
const tokenAnswer = (ctx: GrantContext, accessToken: string): OutgoingResponse => {
  const { settings } = ctx
  return json(200, {
    token_type: "Bearer",
    expires_in: settings.expiresIn,
    ext_expires_in: settings.extExpiresIn ?? settings.expiresIn,
    ...(settings.refreshIn === undefined ? {} : { refresh_in: settings.refreshIn }),
    access_token: accessToken
  })
}

/** `grant_type=client_credentials`: an app token for `<resource>/.default` scopes. @internal */
export const clientCredentials: GrantHandler = authenticated((ctx) => {
  const { form, settings, tenant } = ctx
  const clientId = form.client_id ?? ""
  const scopes = (form.scope ?? "").split(" ").filter((s) => s.length > 0)
  const refusal = refuseScopes(ctx, scopes)
  if (refusal !== undefined) return Effect.succeed(refusal)
  const sequence = ctx.nextSequence()
  const resource = scopes[0]!.slice(0, -"/.default".length)
  const accessToken = appAccessToken(ctx, clientId, resource, sequence)
  const issued: IssuedToken = {
    accessToken,
    sequence,
    grantType: "client_credentials",
    clientId,
    tenant,
    scopes,
    expiresIn: settings.expiresIn,
    ...(form.claims === undefined ? {} : { claims: form.claims })
  }
  return Effect.as(ctx.recordIssued(issued), tokenAnswer(ctx, accessToken))
})
