import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import type {
  AuthorizeOptions,
  IssuedToken,
  OutgoingResponse,
  Settings,
  TestUser,
  UserAssertionOptions
} from "../../TestAuthority.js"
import type { GrantContext } from "./grant.js"
import { fail } from "./grant.js"
import { usersOf } from "./directory.js"
import { idTokenIssuer, kindOfTokenEndpoint } from "./issuers.js"
import { appToken, base64url, json } from "./responses.js"

export { DEFAULT_TENANT_ID, DEFAULT_USERS, usersOf } from "./directory.js"

/** How long an authorization code can be redeemed. */
const CODE_LIFETIME_SECONDS = 600
/** The ID token's lifetime (Entra's is one hour). */
const ID_TOKEN_LIFETIME_SECONDS = 3600
/** The well-known Microsoft Graph application id: the `aud` of tokens for bare scopes. */
const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
const OIDC_SCOPES: ReadonlySet<string> = new Set(["openid", "profile", "offline_access", "email"])

/** An authorization code the authority issued. @internal */
export interface CodeGrant {
  readonly clientId: string
  readonly tenant: string
  readonly redirectUri: string | undefined
  readonly codeChallenge: string | undefined
  readonly codeChallengeMethod: string | undefined
  readonly scopes: ReadonlyArray<string>
  readonly nonce: string | undefined
  readonly user: TestUser
  readonly authTime: number
  readonly expiresAt: number
  redeemed: boolean
}

/** A refresh token the authority issued. @internal */
export interface RefreshGrant {
  readonly clientId: string
  readonly user: TestUser
  readonly family: boolean
  readonly authTime: number
}

/** What the authority remembers about sign-ins. @internal */
export interface Directory {
  readonly codes: Map<string, CodeGrant>
  readonly refreshTokens: Map<string, RefreshGrant>
}

/** @internal */
export const findUser = (settings: Settings, name: string | undefined): TestUser | undefined =>
  name === undefined
    ? undefined
    : usersOf(settings).find((u) => u.username.toLowerCase() === name.toLowerCase() || u.objectId === name)

/** @internal */
export const isFamily = (settings: Settings, clientId: string): boolean =>
  settings.familyClients?.includes(clientId) === true

const scopesOf = (value: string | undefined): ReadonlyArray<string> =>
  (value ?? "").split(" ").filter((s) => s.length > 0)

/** The resource a set of scopes is for: `https://x/y` → `https://x`, bare scopes → Microsoft Graph. */
const resourceOf = (scopes: ReadonlyArray<string>): string => {
  const scope = scopes.find((s) => !OIDC_SCOPES.has(s))
  if (scope === undefined) return GRAPH_APP_ID
  const slash = scope.lastIndexOf("/")
  return slash > scope.indexOf("://") + 2 && scope.includes("://") ? scope.slice(0, slash) : GRAPH_APP_ID
}

/** A JWT with a fake signature, shaped like Entra's. */
const jwt = (claims: Record<string, unknown>): string => appToken(claims)

/** The `sub` Entra gives a user in one application (pairwise). */
const pairwiseSub = (user: TestUser, clientId: string): string =>
  Crypto.createHash("sha256").update(`${user.objectId}|${clientId}`).digest("base64url").slice(0, 43)

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Where a user signs in: the tenant the token endpoint names (a guest signing in to another
 * organization), else (`common`, `organizations`, B2C, AD FS, generic OIDC) the home tenant.
 * Entra's ID tokens name that tenant in `tid` and `iss` ("tid: the tenant that the user is
 * signing in to", Microsoft Learn, "ID token claims reference"), and the user's object there
 * in `oid`: a guest is another object in each tenant ("Properties of a B2B guest user",
 * Microsoft Learn). `client_info` keeps naming the home tenant and object (`uid`, `utid`).
 */
const signedInAs = (ctx: GrantContext, user: TestUser): { readonly tenantId: string; readonly objectId: string } => {
  const kind = kindOfTokenEndpoint(ctx.tokenEndpoint, ctx.settings)
  const tenantId = (kind === "Entra" || kind === "Ciam") && GUID.test(ctx.tenant) ? ctx.tenant : user.tenantId
  if (tenantId.toLowerCase() === user.tenantId.toLowerCase())
    return { tenantId: user.tenantId, objectId: user.objectId }
  const h = Crypto.createHash("sha256").update(`guest:${user.objectId}:${tenantId.toLowerCase()}`).digest("hex")
  return {
    tenantId,
    objectId: `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
  }
}

/** @internal */
export const clientInfoOf = (user: TestUser): string =>
  base64url(JSON.stringify({ uid: user.objectId, utid: user.tenantId }))

/** An Entra-shaped OAuth error with Entra's extra fields (`suberror`). @internal */
export const userError = (
  ctx: GrantContext,
  status: number,
  error: string,
  code: number,
  text: string,
  extra: Readonly<Record<string, unknown>> = {}
): OutgoingResponse => {
  const base = fail(ctx, status, error, code, text)
  return Object.keys(extra).length === 0
    ? base
    : { ...base, body: JSON.stringify({ ...JSON.parse(base.body), ...extra }) }
}

/** What a user token response is issued for. @internal */
export interface UserTokenRequest {
  readonly user: TestUser
  readonly clientId: string
  readonly scopes: ReadonlyArray<string>
  readonly grantType: string
  readonly nonce?: string | undefined
  readonly authTime: number
  /** Keep answering with this refresh token instead of a new one (no rotation). */
  readonly refreshToken?: string | undefined
}

/**
 * Azure AD B2C issues no access token when asked only for OIDC scopes: its answer carries the
 * ID and refresh tokens (AzureAD/microsoft-authentication-library-for-java#140,
 * microsoft-authentication-library-for-dotnet#3701); a scope naming an API (or the client id)
 * gets one ("Request an access token in Azure AD B2C", learn.microsoft.com).
 */
const isB2cSignIn = (ctx: GrantContext, granted: ReadonlyArray<string>): boolean =>
  granted.every((s) => OIDC_SCOPES.has(s)) && kindOfTokenEndpoint(ctx.tokenEndpoint, ctx.settings) === "B2C"

/**
 * B2C's sign-in answer: `not_before`, the ID token and its lifetime, the refresh token and its
 * lifetime (the fields and values of the token response in "OAuth 2.0 authorization code flow
 * in Azure Active Directory B2C", Microsoft Learn: `id_token_expires_in` 3600,
 * `refresh_token_expires_in` 1209600).
 */
const b2cSignInAnswer = (
  ctx: GrantContext,
  r: UserTokenRequest,
  now: number,
  idToken: string,
  refreshToken: string | undefined
) => ({
  token_type: "Bearer",
  scope: r.scopes.join(" "),
  not_before: now,
  id_token: idToken,
  id_token_expires_in: 3600,
  ...(refreshToken === undefined ? {} : { refresh_token: refreshToken, refresh_token_expires_in: 1_209_600 }),
  ...(ctx.form.client_info === "1" && ctx.settings.clientInfo !== false ? { client_info: clientInfoOf(r.user) } : {})
})

/** The user's v1 access token for the resource of the requested scopes, as Entra shapes it. */
const userAccessToken = (ctx: GrantContext, r: UserTokenRequest, granted: ReadonlyArray<string>, sequence: number) => {
  const { clientId, user } = r
  const now = Math.floor(ctx.nowMillis / 1000)
  const at = signedInAs(ctx, user)
  return jwt({
    aud: resourceOf(r.scopes),
    iss: `https://sts.windows.net/${at.tenantId}/`,
    iat: now,
    nbf: now,
    exp: now + ctx.settings.expiresIn,
    acr: "1",
    amr: ["pwd"],
    appid: clientId,
    name: user.displayName ?? user.username,
    oid: at.objectId,
    scp: granted.filter((s) => !OIDC_SCOPES.has(s)).map((s) => s.slice(s.lastIndexOf("/") + 1)).join(" "),
    sub: pairwiseSub(user, clientId),
    tid: at.tenantId,
    unique_name: user.username,
    upn: user.username,
    uti: `at-${sequence}`,
    ver: "1.0"
  })
}

/** The v2 ID token (when `openid` was asked for), with `Settings.idTokenClaims` added or removed. */
const userIdToken = (ctx: GrantContext, r: UserTokenRequest, sequence: number): string | undefined => {
  if (!r.scopes.includes("openid")) return undefined
  const { clientId, user } = r
  const { settings } = ctx
  const now = Math.floor(ctx.nowMillis / 1000)
  const at = signedInAs(ctx, user)
  const claims: Record<string, unknown> = {
    aud: clientId,
    iss: idTokenIssuer(ctx.tokenEndpoint, at.tenantId, settings),
    iat: now,
    nbf: now,
    exp: now + ID_TOKEN_LIFETIME_SECONDS,
    auth_time: r.authTime,
    name: user.displayName ?? user.username,
    ...(r.nonce === undefined ? {} : { nonce: r.nonce }),
    oid: at.objectId,
    preferred_username: user.username,
    rh: "0.AAAA",
    sub: pairwiseSub(user, clientId),
    tid: at.tenantId,
    uti: `id-${sequence}`,
    ver: "2.0"
  }
  for (const [k, v] of Object.entries(settings.idTokenClaims ?? {})) {
    if (v === undefined) delete claims[k]
    else claims[k] = v
  }
  return jwt(claims)
}

/** A refresh token (when `offline_access` was asked for), remembered in the directory. */
const userRefreshToken = (
  directory: Directory,
  r: UserTokenRequest,
  family: boolean,
  sequence: number
): string | undefined => {
  if (!r.scopes.includes("offline_access")) return undefined
  const refreshToken = r.refreshToken ?? `1.RT-${sequence}-${base64url(Crypto.randomBytes(48))}`
  directory.refreshTokens.set(refreshToken, { clientId: r.clientId, user: r.user, family, authTime: r.authTime })
  return refreshToken
}

/**
 * A user token response: access token, refresh token (with `offline_access`), ID token (with
 * `openid`), `client_info` (when asked), `foci` (family clients).
 * @internal
 */
export const issueUserTokens = (
  ctx: GrantContext,
  directory: Directory,
  r: UserTokenRequest
): Effect.Effect<OutgoingResponse> => {
  const { settings } = ctx
  const now = Math.floor(ctx.nowMillis / 1000)
  const sequence = ctx.nextSequence()
  const { clientId, user } = r
  const family = isFamily(settings, clientId)
  const granted = r.scopes.filter((s) => s !== "offline_access")
  const accessToken = userAccessToken(ctx, r, granted, sequence)
  const idToken = userIdToken(ctx, r, sequence)
  const refreshToken = userRefreshToken(directory, r, family, sequence)
  const issued: IssuedToken = {
    accessToken,
    sequence,
    grantType: r.grantType,
    clientId,
    tenant: ctx.tenant,
    scopes: r.scopes,
    expiresIn: settings.expiresIn,
    username: user.username,
    ...(ctx.form.claims === undefined ? {} : { claims: ctx.form.claims })
  }
  if (idToken !== undefined && isB2cSignIn(ctx, granted)) {
    return Effect.as(ctx.recordIssued(issued), json(200, b2cSignInAnswer(ctx, r, now, idToken, refreshToken)))
  }
  return Effect.as(
    ctx.recordIssued(issued),
    json(200, {
      token_type: "Bearer",
      scope: granted.join(" "),
      expires_in: settings.expiresIn,
      ext_expires_in: settings.extExpiresIn ?? settings.expiresIn,
      ...(settings.refreshIn === undefined ? {} : { refresh_in: settings.refreshIn }),
      access_token: accessToken,
      ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
      ...(idToken === undefined ? {} : { id_token: idToken }),
      ...(ctx.form.client_info === "1" && settings.clientInfo !== false ? { client_info: clientInfoOf(user) } : {}),
      ...(family ? { foci: "1" } : {})
    })
  )
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

const html = (status: number, body: string): OutgoingResponse => ({
  status,
  headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  body:
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body>\n${body}\n</body></html>`
})

const redirect = (location: string): OutgoingResponse => ({
  status: 302,
  headers: { location, "cache-control": "no-store" },
  body: ""
})

/**
 * The tenant of an authorize endpoint's path: `/{tenant}/oauth2/v2.0/authorize`, or with a B2C
 * policy, `/{tenant}/{policy}/oauth2/v2.0/authorize`.
 */
const authorizeTenant = (path: string): string | undefined => {
  const segments = path.split("/").filter((s) => s.length > 0)
  return (segments.length === 4 || segments.length === 5) && segments.slice(-3).join("/") === "oauth2/v2.0/authorize"
    ? segments[0]
    : undefined
}

/** The redirect for a completed sign-in (or an error), per `response_mode`. */
const redirectTo = (params: URLSearchParams, answer: Readonly<Record<string, string>>): string => {
  const target = new URL(params.get("redirect_uri") ?? "")
  for (const [k, v] of Object.entries(answer)) target.searchParams.set(k, v)
  return target.href
}

/** Checks an authorize request; the error text, or undefined. */
const invalidAuthorize = (s: Settings, params: URLSearchParams): string | undefined => {
  const clientId = params.get("client_id")
  if (clientId === null || clientId.length === 0)
    return "AADSTS900144: The request body must contain the following parameter: 'client_id'."
  if (s.clients !== undefined && s.clients[clientId] === undefined) {
    return `AADSTS700016: Application with identifier '${clientId}' was not found in the directory.`
  }
  if (params.get("response_type") !== "code") return "AADSTS900144: response_type must be code."
  const redirectUri = params.get("redirect_uri")
  if (redirectUri === null) return "AADSTS500113: No reply address is registered for the application."
  try {
    new URL(redirectUri)
  } catch {
    return "AADSTS50011: The redirect URI specified in the request is not a URL."
  }
  const method = params.get("code_challenge_method")
  if (params.get("code_challenge") !== null && method !== "S256" && method !== "plain" && method !== null) {
    return "AADSTS501491: Invalid code_challenge_method."
  }
  return undefined
}

/** Issues an authorization code to `user`, bound to the authorize request, and remembers it. */
const issueCode = (
  directory: Directory,
  tenant: string,
  params: URLSearchParams,
  user: TestUser,
  nowMillis: number
): string => {
  const now = Math.floor(nowMillis / 1000)
  const code = `1.AC-${base64url(Crypto.randomBytes(64))}`
  directory.codes.set(code, {
    clientId: params.get("client_id") ?? "",
    tenant,
    redirectUri: params.get("redirect_uri") ?? undefined,
    codeChallenge: params.get("code_challenge") ?? undefined,
    codeChallengeMethod: params.get("code_challenge_method") ?? undefined,
    scopes: scopesOf(params.get("scope") ?? undefined),
    nonce: params.get("nonce") ?? undefined,
    user,
    authTime: now,
    expiresAt: now + CODE_LIFETIME_SECONDS,
    redeemed: false
  })
  return code
}

/** Signs a user in: a code bound to the request, and the redirect answer (or the error asked for). */
const signIn = (
  directory: Directory,
  s: Settings,
  tenant: string,
  params: URLSearchParams,
  options: AuthorizeOptions | undefined
) =>
  Effect.map(Clock.currentTimeMillis, (nowMillis): Readonly<Record<string, string>> => {
    const state = params.get("state")
    const withState = (r: Record<string, string>) => (state === null ? r : { ...r, state })
    if (options?.error !== undefined) {
      return withState({
        error: options.error,
        ...(options.errorDescription === undefined ? {} : { error_description: options.errorDescription })
      })
    }
    const user = findUser(s, options?.user) ?? findUser(s, params.get("login_hint") ?? undefined) ?? usersOf(s)[0]
    if (user === undefined) return withState({ error: "access_denied", error_description: "No user can sign in" })
    const code = issueCode(directory, tenant, params, user, nowMillis)
    return withState({
      code,
      ...(params.get("client_info") === "1" && s.clientInfo !== false ? { client_info: clientInfoOf(user) } : {}),
      session_state: crypto.randomUUID()
    })
  })

/** The sign-in page: the request echoed in hidden fields, one radio button per user. */
const page = (s: Settings, tenant: string, params: URLSearchParams): OutgoingResponse => {
  const hidden = Array.from(params.entries())
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join("\n")
  const hint = params.get("login_hint")?.toLowerCase()
  const users = usersOf(s)
  const chosen = users.find((u) => u.username.toLowerCase() === hint) ?? users[0]
  const choices = users.map((u) =>
    `<label><input type="radio" name="login" value="${escapeHtml(u.username)}"${u === chosen ? " checked" : ""}> ${
      escapeHtml(u.displayName ?? u.username)
    } (${escapeHtml(u.username)})</label><br>`
  ).join("\n")
  return html(
    200,
    `<h1>Sign in to ${escapeHtml(tenant)}</h1>\n<form method="post" action="/${
      encodeURIComponent(tenant)
    }/oauth2/v2.0/authorize">\n${hidden}\n${choices}\n<button type="submit" name="consent" value="accept">Sign in</button>\n<button type="submit" name="consent" value="deny">Cancel</button>\n</form>`
  )
}

/** Delivers the answer: a 302 to `redirect_uri`, or a self-posting form for `form_post`. */
const deliver = (params: URLSearchParams, answer: Readonly<Record<string, string>>): OutgoingResponse => {
  if (params.get("response_mode") !== "form_post") return redirect(redirectTo(params, answer))
  const fields = Object.entries(answer)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join("\n")
  return html(
    200,
    `<form method="post" action="${
      escapeHtml(params.get("redirect_uri") ?? "")
    }">\n${fields}\n<noscript><button type="submit">Continue</button></noscript>\n</form>\n<script>document.forms[0].submit()</script>`
  )
}

/** User-realm discovery (`GET /common/userrealm/<name>`): whether the user is managed or federated. */
const userRealm = (s: Settings, name: string): OutgoingResponse => {
  const user = findUser(s, name)
  const domain = name.includes("@") ? name.slice(name.indexOf("@") + 1) : ""
  return json(200, {
    ver: "1.0",
    account_type: user === undefined ? "Unknown" : user.federated === true ? "Federated" : "Managed",
    domain_name: domain,
    cloud_instance_name: "microsoftonline.com",
    cloud_audience_urn: "urn:federation:MicrosoftOnline",
    ...(user?.federated === true
      ? {
        federation_protocol: "WSTrust",
        federation_metadata_url: `https://sts.${domain}/adfs/services/trust/mex`
      }
      : {})
  })
}

/**
 * The authorize endpoint of `tenant`: GET shows the sign-in page, POST (the page's form)
 * signs the chosen user in, or answers `access_denied` when consent was denied.
 */
const authorizeEndpoint = (
  directory: Directory,
  s: Settings,
  tenant: string,
  method: "GET" | "POST",
  url: URL,
  form: Readonly<Record<string, string>>
): Effect.Effect<OutgoingResponse> => {
  const params = method === "GET" ? url.searchParams : new URLSearchParams(Object.entries(form))
  const problem = invalidAuthorize(s, params)
  if (problem !== undefined) {
    return Effect.succeed(
      html(400, `<h1>Sorry, but we're having trouble signing you in.</h1>\n<p>${escapeHtml(problem)}</p>`)
    )
  }
  if (method === "GET") return Effect.succeed(page(s, tenant, params))
  const options: AuthorizeOptions = form.consent === "deny"
    ? { error: "access_denied", errorDescription: "AADSTS65004: User declined to consent to access the app." }
    : { user: form.login }
  return Effect.map(signIn(directory, s, tenant, params, options), (answer) => {
    const echoed = new URLSearchParams(params)
    echoed.delete("login")
    echoed.delete("consent")
    return deliver(echoed, answer)
  })
}

/** A user's access token for an API (`aud`), as a front-end app would send it to a middle tier. */
const userAssertionToken = (s: Settings, options: UserAssertionOptions, nowMillis: number) => {
  const user = findUser(s, options.user) ?? usersOf(s)[0]
  if (user === undefined) return undefined
  const now = Math.floor(nowMillis / 1000)
  return jwt({
    aud: options.audience,
    iss: `https://login.microsoftonline.com/${user.tenantId}/v2.0`,
    iat: now,
    nbf: now + (options.notBefore ?? 0),
    exp: now + (options.expiresIn ?? 3600),
    azp: "front-end-app",
    name: user.displayName ?? user.username,
    oid: user.objectId,
    preferred_username: user.username,
    scp: "access_as_user",
    sub: pairwiseSub(user, options.audience),
    tid: user.tenantId,
    uti: base64url(Crypto.randomBytes(12)),
    ver: "2.0"
  })
}

/**
 * The test authority's sign-in: the authorize page, its form POST, the non-interactive
 * `authorize` and `userAssertion`, and user-realm discovery.
 * @internal
 */
export const make = (settings: Effect.Effect<Settings>) => {
  const directory: Directory = { codes: new Map(), refreshTokens: new Map() }

  /** The sign-in routes; undefined when the request is not one of them. */
  const route = (
    method: string,
    url: URL,
    form: Readonly<Record<string, string>>
  ): Effect.Effect<OutgoingResponse | undefined> =>
    Effect.gen(function*() {
      const s = yield* settings
      const realm = /^\/common\/userrealm\/([^/]+)$/.exec(url.pathname)
      if (method === "GET" && realm !== null) return userRealm(s, decodeURIComponent(realm[1]!))
      const tenant = authorizeTenant(url.pathname)
      if (tenant === undefined || (method !== "GET" && method !== "POST")) return undefined
      return yield* authorizeEndpoint(directory, s, tenant, method, url, form)
    })

  const authorize = (authUri: string, options?: AuthorizeOptions): Effect.Effect<string> =>
    Effect.gen(function*() {
      const s = yield* settings
      const url = new URL(authUri)
      const tenant = authorizeTenant(url.pathname)
      if (tenant === undefined) return yield* Effect.dieMessage("not an authorize URL")
      const problem = invalidAuthorize(s, url.searchParams)
      if (problem !== undefined) return yield* Effect.dieMessage(problem)
      return redirectTo(url.searchParams, yield* signIn(directory, s, tenant, url.searchParams, options))
    })

  const userAssertion = (options: UserAssertionOptions): Effect.Effect<string> =>
    Effect.gen(function*() {
      const token = userAssertionToken(yield* settings, options, yield* Clock.currentTimeMillis)
      if (token === undefined) return yield* Effect.dieMessage("the directory has no users")
      return token
    })

  return { directory, route, authorize, userAssertion }
}
