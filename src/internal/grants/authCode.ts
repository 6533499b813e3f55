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

/** The redirect's parameters; a repeated parameter is rejected (one of them may be forged). */
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

/** The auth-code flow and the deprecated code and URL helpers. @internal */
export const make = (
  u: UserContext
): Pick<
  Service,
  | "initiateAuthCodeFlow"
  | "acquireTokenByAuthCodeFlow"
  | "acquireTokenByAuthorizationCode"
  | "getAuthorizationRequestUrl"
> => {
  const { ctx } = u
  /** The authority the ID token must come from: its host and tenant, and what discovery said. */
  const issuer = (endpoints: Authority.Endpoints): IdToken.IssuerContext => ({
    host: ctx.authority.host,
    origin: ctx.authority.origin,
    tenant: ctx.authority.tenant,
    issuer: endpoints.issuer,
    tenantId: endpoints.realm
  })

  const authorizeUrl = (endpoint: string, params: ReadonlyArray<readonly [string, string | undefined]>): string => {
    const query = new URLSearchParams()
    for (const [k, v] of params) if (v !== undefined) query.append(k, v)
    return `${endpoint}${endpoint.includes("?") ? "&" : "?"}${query.toString()}`
  }

  const initiateAuthCodeFlow = Effect.fn("ConfidentialClient.initiateAuthCodeFlow")(
    function*(request: AuthCodeFlowRequest) {
      yield* requireRecord(request, "scopes")
      const { decorated } = yield* (signInScopesOf(u, request.scopes))
      const redirectUri = yield* (redirectUriOf(request.redirectUri))
      const given = yield* (optionalString("state", request.state))
      const prompt = yield* (optionalString("prompt", request.prompt))
      const loginHint = yield* (optionalString("loginHint", request.loginHint))
      const domainHint = yield* (optionalString("domainHint", request.domainHint))
      if (request.maxAge !== undefined && !(Number.isInteger(request.maxAge) && request.maxAge >= 0)) {
        return yield* new InvalidRequest({
          field: "maxAge",
          description: "maxAge must be a whole number of seconds, 0 or more"
        })
      }
      if (
        request.responseMode !== undefined && request.responseMode !== "query" && request.responseMode !== "form_post"
      ) {
        return yield* new InvalidRequest({
          field: "responseMode",
          description: "responseMode must be query or form_post"
        })
      }
      const claims = yield* (Claims.merge(ctx.options.clientCapabilities, request.claims))
      const endpoints = yield* ctx.endpointsFor(undefined)
      const state = given ?? randomToken(24)
      const verifier = randomToken(32)
      const nonce = randomToken(24)
      const authUri = authorizeUrl(endpoints.authorizationEndpoint, [
        ["client_id", ctx.clientId],
        ["response_type", "code"],
        ["redirect_uri", redirectUri],
        ["scope", decorated.join(" ")],
        ["state", state],
        ["code_challenge", codeChallenge(verifier)],
        ["code_challenge_method", "S256"],
        ["nonce", hashNonce(nonce)],
        ["login_hint", loginHint],
        ["prompt", prompt],
        ["domain_hint", domainHint],
        ["claims", claims],
        ["max_age", request.maxAge === undefined ? undefined : String(request.maxAge)],
        ["response_mode", request.responseMode],
        ["client_info", "1"],
        ["X-AnchorMailbox", loginHint === undefined ? undefined : `UPN:${loginHint}`]
      ])
      const createdAt = new Date(yield* Clock.currentTimeMillis)
      const flow: AuthCodeFlow = {
        authUri,
        state,
        codeVerifier: Redacted.make(verifier),
        nonce,
        ...(redirectUri === undefined ? {} : { redirectUri }),
        scopes: decorated,
        ...(request.maxAge === undefined ? {} : { maxAge: request.maxAge }),
        ...(request.claims === undefined ? {} : { claims: request.claims }),
        createdAt
      }
      return flow
    }
  )

  /** The fail-closed checks of the redirect, in MSAL Python's order. */
  const checkRedirect = (
    request: AuthCodeFlowRedirect,
    nowMillis: number
  ): Either.Either<
    {
      readonly flow: AuthCodeFlow
      readonly code: string
      readonly scopes: ReadonlyArray<string>
      readonly params: Readonly<Record<string, string>>
    },
    MsalError
  > =>
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
      const age = nowMillis - flow.createdAt.getTime()
      if (!(age <= Duration.toMillis(u.flowLifetime))) {
        return yield* flowError(
          "FlowExpired",
          `the flow is older than ${Duration.format(u.flowLifetime)}; start a new sign-in`
        )
      }
      let scopes: ReadonlyArray<string> = flow.scopes
      if (request.scopes !== undefined) {
        scopes = (yield* signInScopesOf(u, request.scopes)).decorated
        const inFlow = new Set(flow.scopes)
        const extra = scopes.find((s) => !inFlow.has(s))
        if (extra !== undefined)
          return yield* flowError("ScopeNotInFlow", `the scope ${extra} was not requested by the flow`)
      }
      if (params.error !== undefined) {
        return yield* Either.left(
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
      if (code === undefined || code.length === 0)
        return yield* flowError("CodeMissing", "the redirect carries neither a code nor an error")
      return { flow, code, scopes, params }
    })

  const acquireTokenByAuthCodeFlow = Effect.fn("ConfidentialClient.acquireTokenByAuthCodeFlow")(
    function*(request: AuthCodeFlowRedirect) {
      yield* requireRecord(request, "flow and response")
      const { code, flow, params, scopes } = yield* (checkRedirect(request, yield* Clock.currentTimeMillis))
      const claims = yield* (Claims.merge(ctx.options.clientCapabilities, flow.claims))
      const endpoints = yield* ctx.endpointsFor(undefined)
      const clientInfo = UserTokens.parseClientInfo(params.client_info)
      yield* Effect.annotateCurrentSpan({ "msal.grant": "authorization_code", "msal.tenant": endpoints.realm })
      return yield* redeem(u, {
        endpoints,
        signIn: true,
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
        check: (idClaims, now) =>
          Either.gen(function*() {
            if (idClaims === undefined) {
              return yield* Either.left(
                new IdTokenError({
                  reason: "Malformed",
                  description: "the authority returned no ID token for an openid request"
                })
              )
            }
            yield* IdToken.validate(idClaims, { clientId: ctx.clientId, issuer: issuer(endpoints), nowSeconds: now })
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
      })
    }
  )

  const acquireTokenByAuthorizationCode = Effect.fn("ConfidentialClient.acquireTokenByAuthorizationCode")(
    function*(request: AuthorizationCodeRequest) {
      yield* requireRecord(request, "code and scopes")
      const code = yield* (secretInput("code", request.code))
      const { decorated } = yield* (signInScopesOf(u, request.scopes))
      const redirectUri = yield* (redirectUriOf(request.redirectUri))
      const nonce = yield* (optionalString("nonce", request.nonce))
      const claims = yield* (Claims.merge(ctx.options.clientCapabilities, request.claims))
      const endpoints = yield* ctx.endpointsFor(undefined)
      yield* Effect.annotateCurrentSpan({ "msal.grant": "authorization_code", "msal.tenant": endpoints.realm })
      return yield* redeem(u, {
        endpoints,
        signIn: true,
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
        check: (idClaims, now) =>
          Either.gen(function*() {
            if (idClaims !== undefined) {
              yield* IdToken.validate(idClaims, { clientId: ctx.clientId, issuer: issuer(endpoints), nowSeconds: now })
            }
            if (nonce === undefined) return
            const got = idClaims?.nonce
            if (typeof got !== "string" || !safeEqual(got, nonce)) {
              return yield* Either.left(
                new IdTokenError({ reason: "Nonce", description: "the ID token's nonce is not the one given" })
              )
            }
          })
      })
    }
  )

  const getAuthorizationRequestUrl = Effect.fn("ConfidentialClient.getAuthorizationRequestUrl")(
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
      const claims = yield* (Claims.merge(ctx.options.clientCapabilities, request.claims))
      const endpoints = yield* ctx.endpointsFor(undefined)
      return authorizeUrl(endpoints.authorizationEndpoint, [
        ["client_id", ctx.clientId],
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

  return {
    initiateAuthCodeFlow,
    acquireTokenByAuthCodeFlow,
    acquireTokenByAuthorizationCode,
    getAuthorizationRequestUrl
  }
}
