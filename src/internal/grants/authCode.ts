import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Crypto from "node:crypto"
import { AuthCodeFlow } from "../../AuthCodeFlow.js"
import type {
  AuthCodeFlowRedirect,
  AuthCodeFlowRequest,
  AuthorizationCodeRequest,
  AuthorizationUrlRequest,
  Service
} from "../../ConfidentialClient.js"
import type { MsalError } from "../../MsalError.js"
import { AuthCodeFlowError, IdTokenError, InvalidRequest } from "../../MsalError.js"
import type * as Authority from "../authority.js"
import * as Claims from "../claims.js"
import * as IdToken from "../idToken.js"
import * as Scopes from "../scopes.js"
import { ApiId, RefreshReason } from "../protocol/tokenRequest.js"
import * as UserTokens from "../protocol/entries.js"
import type { UserContext } from "./userGrant.js"
import { redeem, requireRecord, scopesOf, secretInput } from "./userGrant.js"

const sha256 = (value: string) => Crypto.createHash("sha256").update(value, "utf8")

/** `n` cryptographically random bytes, base64url. @internal */
export const randomToken = (bytes: number): string => Crypto.randomBytes(bytes).toString("base64url")

/** The PKCE S256 challenge of a verifier (RFC 7636 §4.2). @internal */
export const codeChallenge = (verifier: string): string => sha256(verifier).digest("base64url")

/** What goes into the authorize URL for a raw nonce (as MSAL Python). @internal */
export const hashNonce = (nonce: string): string => sha256(nonce).digest("hex")

const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a, "utf8")
  const y = Buffer.from(b, "utf8")
  return x.length === y.length && Crypto.timingSafeEqual(x, y)
}

const optionalString = (field: string, value: unknown): Either.Either<string | undefined, InvalidRequest> =>
  value === undefined || (typeof value === "string" && value.length > 0)
    ? Either.right(value)
    : Either.left(new InvalidRequest({ field, description: `${field} must be a non-empty string when given` }))

const redirectUriOf = (value: unknown): Either.Either<string | undefined, InvalidRequest> =>
  Either.flatMap(optionalString("redirectUri", value), (uri) => {
    if (uri === undefined) return Either.right(undefined)
    try {
      const url = new URL(uri)
      if (url.protocol === "https:" || url.protocol === "http:") return Either.right(uri)
    } catch {
      // fall through
    }
    return Either.left(
      new InvalidRequest({ field: "redirectUri", description: "redirectUri must be an absolute http(s) URL" })
    )
  })

/** The redirect's parameters; a repeated parameter, or one that is not text, is rejected (one of them may be forged). */
const paramsOf = (response: unknown): Either.Either<Readonly<Record<string, string>>, InvalidRequest> => {
  const out: Record<string, string> = {}
  const repeated = (k: string) =>
    Either.left(new InvalidRequest({ field: "response", description: `the redirect repeats the parameter ${k}` }))
  if (response instanceof URLSearchParams) {
    for (const k of new Set(response.keys())) {
      const all = response.getAll(k)
      if (all.length > 1) return repeated(k)
      out[k] = all[0]!
    }
    return Either.right(out)
  }
  if (!Predicate.isRecord(response)) {
    return Either.left(
      new InvalidRequest({ field: "response", description: "response must be the redirect's parameters" })
    )
  }
  for (const [k, v] of Object.entries(response)) {
    if (typeof v === "string") out[k] = v
    else if (Array.isArray(v)) return repeated(k)
    else if (v !== undefined) {
      // fail closed: a parameter that is not text (`error: {}` from a nested query parser) is
      // not dropped, or an error could be skipped and the code redeemed
      return Either.left(
        new InvalidRequest({ field: "response", description: `the redirect's parameter ${k} is not a string` })
      )
    }
  }
  return Either.right(out)
}

const flowError = (
  reason: AuthCodeFlowError["reason"],
  description: string
): Either.Either<never, AuthCodeFlowError> => Either.left(new AuthCodeFlowError({ reason, description }))

const isFlow = Schema.is(AuthCodeFlow)

/**
 * The scopes of a sign-in: as `scopesOf`, except that no API scope at all is a sign-in only,
 * sent as `openid profile offline_access` (MSAL Python decorates an empty list so:
 * `initiate_auth_code_flow([])`: MSAL Python `application.py` `_decorate_scope`).
 */
const signInScopesOf = (u: UserContext, input: unknown) =>
  Array.isArray(input) && input.length === 0
    ? Either.right({
      requested: [] as ReadonlyArray<string>,
      decorated: Scopes.RESERVED_SCOPES.filter((s) => !u.excludeScopes.has(s)).sort() as ReadonlyArray<string>
    })
    : scopesOf(u, input)

/** The authority the ID token must come from: its host and tenant, and what discovery said. */
const issuerOf = (u: UserContext, endpoints: Authority.Endpoints): IdToken.IssuerContext => ({
  host: u.ctx.authority.host,
  origin: u.ctx.authority.origin,
  tenant: u.ctx.authority.tenant,
  issuer: endpoints.issuer,
  tenantId: endpoints.realm
})

/** An authorize URL: the endpoint (which may have a query already) and the parameters that are set. */
const authorizeUrl = (endpoint: string, params: ReadonlyArray<readonly [string, string | undefined]>): string => {
  const query = new URLSearchParams()
  for (const [k, v] of params) if (v !== undefined) query.append(k, v)
  return `${endpoint}${endpoint.includes("?") ? "&" : "?"}${query.toString()}`
}

/** An `initiateAuthCodeFlow` request, checked: the decorated scopes and the optional fields. */
interface FlowInput {
  readonly decorated: ReadonlyArray<string>
  readonly redirectUri: string | undefined
  readonly state: string | undefined
  readonly prompt: string | undefined
  readonly loginHint: string | undefined
  readonly domainHint: string | undefined
  readonly maxAge: number | undefined
  readonly responseMode: "query" | "form_post" | undefined
  /** The request's claims merged with the client capabilities. */
  readonly claims: string | undefined
}

/** Checks an `initiateAuthCodeFlow` request (an `InvalidRequest` names the first bad field). */
const flowInputOf = (u: UserContext, request: AuthCodeFlowRequest): Either.Either<FlowInput, InvalidRequest> =>
  Either.gen(function*() {
    const { decorated } = yield* signInScopesOf(u, request.scopes)
    const redirectUri = yield* redirectUriOf(request.redirectUri)
    const state = yield* optionalString("state", request.state)
    const prompt = yield* optionalString("prompt", request.prompt)
    const loginHint = yield* optionalString("loginHint", request.loginHint)
    const domainHint = yield* optionalString("domainHint", request.domainHint)
    if (request.maxAge !== undefined && !(Number.isInteger(request.maxAge) && request.maxAge >= 0)) {
      return yield* Either.left(
        new InvalidRequest({ field: "maxAge", description: "maxAge must be a whole number of seconds, 0 or more" })
      )
    }
    if (
      request.responseMode !== undefined && request.responseMode !== "query" && request.responseMode !== "form_post"
    ) {
      return yield* Either.left(
        new InvalidRequest({ field: "responseMode", description: "responseMode must be query or form_post" })
      )
    }
    const claims = yield* Claims.merge(u.ctx.options.clientCapabilities, request.claims)
    const { maxAge, responseMode } = request
    return { decorated, redirectUri, state, prompt, loginHint, domainHint, maxAge, responseMode, claims }
  })

/** The random values of one sign-in: the state (unless given), the PKCE verifier and the raw nonce. */
interface FlowSecrets {
  readonly state: string
  readonly verifier: string
  readonly nonce: string
}

/**
 * The authorize parameters of a flow's sign-in: the code with PKCE S256 (RFC 7636 §4.3), the
 * hashed nonce, the hints, and `client_info=1` and the `X-AnchorMailbox` hint as MSAL Python sends them.
 */
const flowAuthorizeParams = (
  clientId: string,
  input: FlowInput,
  secrets: FlowSecrets
): ReadonlyArray<readonly [string, string | undefined]> => [
  ["client_id", clientId],
  ["response_type", "code"],
  ["redirect_uri", input.redirectUri],
  ["scope", input.decorated.join(" ")],
  ["state", secrets.state],
  ["code_challenge", codeChallenge(secrets.verifier)],
  ["code_challenge_method", "S256"],
  ["nonce", hashNonce(secrets.nonce)],
  ["login_hint", input.loginHint],
  ["prompt", input.prompt],
  ["domain_hint", input.domainHint],
  ["claims", input.claims],
  ["max_age", input.maxAge === undefined ? undefined : String(input.maxAge)],
  ["response_mode", input.responseMode],
  ["client_info", "1"],
  ["X-AnchorMailbox", input.loginHint === undefined ? undefined : `UPN:${input.loginHint}`]
]

/** Starts a sign-in: the authorize URL and the flow to keep until its redirect. */
const initiateAuthCodeFlow = (u: UserContext) =>
  Effect.fn("ConfidentialClient.initiateAuthCodeFlow")(
    function*(request: AuthCodeFlowRequest) {
      yield* requireRecord(request, "scopes")
      const input = yield* flowInputOf(u, request)
      const endpoints = yield* u.ctx.endpointsFor(undefined)
      const secrets: FlowSecrets = {
        state: input.state ?? randomToken(24),
        verifier: randomToken(32),
        nonce: randomToken(24)
      }
      const authUri = authorizeUrl(
        endpoints.authorizationEndpoint,
        flowAuthorizeParams(u.ctx.clientId, input, secrets)
      )
      const createdAt = new Date(yield* Clock.currentTimeMillis)
      const flow: AuthCodeFlow = {
        authUri,
        state: secrets.state,
        codeVerifier: Redacted.make(secrets.verifier),
        nonce: secrets.nonce,
        ...(input.redirectUri === undefined ? {} : { redirectUri: input.redirectUri }),
        scopes: input.decorated,
        ...(request.maxAge === undefined ? {} : { maxAge: request.maxAge }),
        ...(request.claims === undefined ? {} : { claims: request.claims }),
        createdAt
      }
      return flow
    }
  )

/** A redirect that passed the checks: its flow, code, scopes to redeem and parameters. */
interface CheckedRedirect {
  readonly flow: AuthCodeFlow
  readonly code: string
  readonly scopes: ReadonlyArray<string>
  readonly params: Readonly<Record<string, string>>
}

/** The flow and the redirect's parameters, with the redirect's state matching the flow's (compared in constant time). */
const checkState = (
  request: AuthCodeFlowRedirect
): Either.Either<{ readonly flow: AuthCodeFlow; readonly params: Readonly<Record<string, string>> }, MsalError> =>
  Either.gen(function*() {
    const flow: unknown = request.flow
    if (!Predicate.isRecord(flow)) {
      return yield* Either.left(
        new InvalidRequest({ field: "flow", description: "flow must be the value initiateAuthCodeFlow returned" })
      )
    }
    const params = yield* paramsOf(request.response)
    if (typeof flow.state !== "string" || flow.state.length === 0) {
      return yield* flowError("StateMissing", "the flow has no state; was it made by initiateAuthCodeFlow?")
    }
    const state = params.state
    if (state === undefined || !safeEqual(state, flow.state)) {
      return yield* flowError(
        "StateMismatch",
        "the redirect's state does not match the flow's (a forged, stale or crossed redirect)"
      )
    }
    if (!isFlow(flow)) {
      return yield* Either.left(
        new InvalidRequest({ field: "flow", description: "the flow is malformed; decode it with AuthCodeFlow.Json" })
      )
    }
    return { flow, params }
  })

/** The scopes to redeem: the flow's, or those asked for at redemption if the flow requested them all. */
const redeemScopesOf = (
  u: UserContext,
  flow: AuthCodeFlow,
  requested: unknown
): Either.Either<ReadonlyArray<string>, MsalError> => {
  if (requested === undefined) return Either.right(flow.scopes)
  return Either.flatMap(signInScopesOf(u, requested), ({ decorated }) => {
    const inFlow = new Set(flow.scopes)
    const extra = decorated.find((s) => !inFlow.has(s))
    return extra === undefined
      ? Either.right(decorated)
      : flowError("ScopeNotInFlow", `the scope ${extra} was not requested by the flow`)
  })
}

/** The redirect's code, or the authority's error it carries instead. */
const codeOf = (params: Readonly<Record<string, string>>): Either.Either<string, AuthCodeFlowError> => {
  if (params.error !== undefined) {
    return Either.left(
      new AuthCodeFlowError({
        reason: "AuthorizationError",
        description: "the authority returned an error instead of a code",
        error: params.error,
        ...(params.error_description === undefined ? {} : { errorDescription: params.error_description }),
        ...(params.error_uri === undefined ? {} : { errorUri: params.error_uri })
      })
    )
  }
  const code = params.code
  return code === undefined || code.length === 0
    ? flowError("CodeMissing", "the redirect carries neither a code nor an error")
    : Either.right(code)
}

/** The fail-closed checks of the redirect, in MSAL Python's order: flow and state, age, scopes, code. */
const checkRedirect = (
  u: UserContext,
  request: AuthCodeFlowRedirect,
  nowMillis: number
): Either.Either<CheckedRedirect, MsalError> =>
  Either.gen(function*() {
    const { flow, params } = yield* checkState(request)
    const age = nowMillis - flow.createdAt.getTime()
    if (!(age <= Duration.toMillis(u.flowLifetime))) {
      return yield* flowError(
        "FlowExpired",
        `the flow is older than ${Duration.format(u.flowLifetime)}; start a new sign-in`
      )
    }
    const scopes = yield* redeemScopesOf(u, flow, request.scopes)
    const code = yield* codeOf(params)
    return { flow, code, scopes, params }
  })

/**
 * The ID-token checks of a flow's redemption: an ID token is required and valid, its nonce
 * is the flow's (hashed), and with `maxAge` its `auth_time` is recent enough.
 */
const checkFlowIdToken = (u: UserContext, endpoints: Authority.Endpoints, flow: AuthCodeFlow) =>
(
  idClaims: IdToken.IdTokenClaims | undefined,
  now: number
): Either.Either<void, MsalError> =>
  Either.gen(function*() {
    if (idClaims === undefined) {
      return yield* Either.left(
        new IdTokenError({
          reason: "Malformed",
          description: "the authority returned no ID token for an openid request"
        })
      )
    }
    yield* IdToken.validate(idClaims, { clientId: u.ctx.clientId, issuer: issuerOf(u, endpoints), nowSeconds: now })
    const nonce = idClaims.nonce
    if (typeof nonce !== "string" || !safeEqual(nonce, hashNonce(flow.nonce))) {
      return yield* flowError("NonceMismatch", "the ID token's nonce is not the flow's (a replayed ID token?)")
    }
    if (flow.maxAge !== undefined) {
      const authTime = yield* IdToken.authTime(idClaims)
      if (authTime === undefined) {
        return yield* flowError("MaxAgeExceeded", "maxAge was requested but the ID token has no auth_time")
      }
      if (now - IdToken.CLOCK_SKEW_SECONDS > authTime + flow.maxAge) {
        return yield* flowError("MaxAgeExceeded", "the user authenticated longer ago than maxAge allows")
      }
    }
  })

/** Redeems the code of a flow's redirect, after the redirect's and then the ID token's checks. */
const acquireTokenByAuthCodeFlow = (u: UserContext) =>
  Effect.fn("ConfidentialClient.acquireTokenByAuthCodeFlow")(
    function*(request: AuthCodeFlowRedirect) {
      yield* requireRecord(request, "flow and response")
      const { code, flow, params, scopes } = yield* (checkRedirect(u, request, yield* Clock.currentTimeMillis))
      const claims = yield* (Claims.merge(u.ctx.options.clientCapabilities, flow.claims))
      const endpoints = yield* u.ctx.endpointsFor(undefined)
      const clientInfo = UserTokens.parseClientInfo(params.client_info)
      yield* Effect.annotateCurrentSpan({ "msal.grant": "authorization_code", "msal.tenant": endpoints.realm })
      return yield* redeem(u, {
        endpoints,
        signIn: Scopes.isSignInOnly(scopes),
        grant: {
          grant_type: "authorization_code",
          code: Redacted.make(code),
          redirect_uri: flow.redirectUri,
          scope: scopes.join(" "),
          code_verifier: flow.codeVerifier,
          claims
        },
        scopes,
        apiId: ApiId.acquireTokenByAuthorizationCode,
        idempotent: false,
        reason: RefreshReason.NotSilent,
        anchor: clientInfo === undefined ? undefined : `Oid:${clientInfo.uid}@${clientInfo.utid}`,
        accountSource: "authorization_code",
        check: checkFlowIdToken(u, endpoints, flow)
      })
    }
  )

/** The ID-token checks of a bare code's redemption: valid if present, and its nonce the one given, if any. */
const checkCodeIdToken = (u: UserContext, endpoints: Authority.Endpoints, nonce: string | undefined) =>
(
  idClaims: IdToken.IdTokenClaims | undefined,
  now: number
): Either.Either<void, MsalError> =>
  Either.gen(function*() {
    if (idClaims !== undefined) {
      yield* IdToken.validate(idClaims, { clientId: u.ctx.clientId, issuer: issuerOf(u, endpoints), nowSeconds: now })
    }
    if (nonce === undefined) return
    const got = idClaims?.nonce
    if (typeof got !== "string" || !safeEqual(got, nonce)) {
      return yield* Either.left(
        new IdTokenError({ reason: "Nonce", description: "the ID token's nonce is not the one given" })
      )
    }
  })

/** Redeems a code the application got itself (the deprecated helper without a flow). */
const acquireTokenByAuthorizationCode = (u: UserContext) =>
  Effect.fn("ConfidentialClient.acquireTokenByAuthorizationCode")(
    function*(request: AuthorizationCodeRequest) {
      yield* requireRecord(request, "code and scopes")
      const code = yield* (secretInput("code", request.code))
      const { decorated } = yield* (signInScopesOf(u, request.scopes))
      const redirectUri = yield* (redirectUriOf(request.redirectUri))
      const nonce = yield* (optionalString("nonce", request.nonce))
      const claims = yield* (Claims.merge(u.ctx.options.clientCapabilities, request.claims))
      const endpoints = yield* u.ctx.endpointsFor(undefined)
      yield* Effect.annotateCurrentSpan({ "msal.grant": "authorization_code", "msal.tenant": endpoints.realm })
      return yield* redeem(u, {
        endpoints,
        signIn: Scopes.isSignInOnly(decorated),
        grant: {
          grant_type: "authorization_code",
          code,
          redirect_uri: redirectUri,
          scope: decorated.join(" "),
          claims
        },
        scopes: decorated,
        apiId: ApiId.acquireTokenByAuthorizationCode,
        idempotent: false,
        reason: RefreshReason.NotSilent,
        accountSource: "authorization_code",
        check: checkCodeIdToken(u, endpoints, nonce)
      })
    }
  )

/** An authorize URL for an application that keeps its own state (the deprecated helper without a flow). */
const getAuthorizationRequestUrl = (u: UserContext) =>
  Effect.fn("ConfidentialClient.getAuthorizationRequestUrl")(
    function*(request: AuthorizationUrlRequest) {
      yield* requireRecord(request, "scopes")
      const { decorated } = yield* (signInScopesOf(u, request.scopes))
      const redirectUri = yield* (redirectUriOf(request.redirectUri))
      const fields = yield* (
        Either.all({
          state: optionalString("state", request.state),
          nonce: optionalString("nonce", request.nonce),
          loginHint: optionalString("loginHint", request.loginHint),
          prompt: optionalString("prompt", request.prompt),
          domainHint: optionalString("domainHint", request.domainHint)
        })
      )
      const claims = yield* (Claims.merge(u.ctx.options.clientCapabilities, request.claims))
      const endpoints = yield* u.ctx.endpointsFor(undefined)
      return authorizeUrl(endpoints.authorizationEndpoint, [
        ["client_id", u.ctx.clientId],
        ["response_type", "code"],
        ["redirect_uri", redirectUri],
        ["scope", decorated.join(" ")],
        ["state", fields.state],
        ["nonce", fields.nonce],
        ["login_hint", fields.loginHint],
        ["prompt", fields.prompt],
        ["domain_hint", fields.domainHint],
        ["claims", claims]
      ])
    }
  )

/** The auth-code flow and the deprecated code and URL helpers. @internal */
export const make = (
  u: UserContext
): Pick<
  Service,
  | "initiateAuthCodeFlow"
  | "acquireTokenByAuthCodeFlow"
  | "acquireTokenByAuthorizationCode"
  | "getAuthorizationRequestUrl"
> => ({
  initiateAuthCodeFlow: initiateAuthCodeFlow(u),
  acquireTokenByAuthCodeFlow: acquireTokenByAuthCodeFlow(u),
  acquireTokenByAuthorizationCode: acquireTokenByAuthorizationCode(u),
  getAuthorizationRequestUrl: getAuthorizationRequestUrl(u)
})
