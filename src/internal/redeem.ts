/**
 * Fetch and store: sends one token request (through the transport's retries, throttling and
 * timeouts), checks the ID token, turns the answer into cache changes with the grant's pure
 * processor, writes them, and returns the result. Every grant's network path ends here.
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { AuthenticationResult } from "../AuthenticationResult.js"
import type * as CacheEntry from "../CacheEntry.js"
import type { ClientAuthFields } from "../CredentialSigner.js"
import { type CredentialError, type MsalError, NetworkError } from "../MsalError.js"
import type { Change, Service as TokenCacheService } from "../TokenCache.js"
import type * as Authority from "./authority.js"
import * as Cache from "./cacheKey.js"
import * as IdToken from "./idToken.js"
import type * as TokenRequest from "./protocol/tokenRequest.js"
import * as TokenResponse from "./protocol/tokenResponse.js"
import type * as Region from "./region.js"

/** What came back, for a grant's processor. @internal */
export interface Answer<Token extends TokenResponse.TokenResponse = TokenResponse.Issued> {
  readonly token: Token
  readonly idTokenClaims: IdToken.IdTokenClaims | undefined
  readonly requestedAtMillis: number
  /** The client's cached app metadata (its family id), if any. */
  readonly appMetadata: Option.Option<CacheEntry.AppMetadata>
  readonly correlationId: string
}

/** What a grant's processor makes of an answer. @internal */
export interface Stored {
  readonly changes: ReadonlyArray<Change>
  readonly result: AuthenticationResult
}

/** One token request: what goes on the wire. @internal */
export interface RedemptionBase {
  readonly endpoints: Authority.Endpoints
  readonly grant: TokenRequest.GrantFields
  readonly apiId: number
  readonly reason: TokenRequest.RefreshReason
  /** False for single-use grants (codes, refresh tokens): not re-sent once the authority may have seen them. */
  readonly idempotent?: boolean | undefined
  /** `X-AnchorMailbox`, the routing hint. */
  readonly anchor?: string | undefined
  /** Through the regional endpoint when a region is configured (client credentials only). */
  readonly regional?: boolean | undefined
  /** Checks on the ID token before anything is cached (its audience is always checked). */
  readonly check?:
    | ((claims: IdToken.IdTokenClaims | undefined, nowSeconds: number) => Effect.Effect<void, MsalError>)
    | undefined
}

/** A token request whose answer must carry an access token (every grant but a sign-in). @internal */
export interface TokenRedemption extends RedemptionBase {
  readonly signIn?: false | undefined
  /** The grant's pure processor: the answer as cache changes and a result. */
  readonly store: (answer: Answer) => Stored
}

/**
 * A sign-in (the authorization code grant asking for OpenID Connect scopes only): its answer
 * may carry only an ID token, as Azure AD B2C's does when asked for `openid offline_access`
 * alone. A request that names an API still needs an access token. MSAL Python's `TokenCache.add`
 * then stores no access token; msal-node reports an empty `accessToken`.
 * @internal
 */
export interface SignInRedemption extends RedemptionBase {
  readonly signIn: true
  readonly store: (answer: Answer<TokenResponse.TokenResponse>) => Stored
}

/** One token request: what goes on the wire and how the answer is stored. @internal */
export type Redemption = TokenRedemption | SignInRedemption

/** What `redeem` needs from its client. @internal */
export interface Deps {
  readonly clientId: string
  readonly cache: TokenCacheService
  readonly headers: Readonly<Record<string, string>>
  readonly clientAuth: (endpoints: Authority.Endpoints) => Effect.Effect<ClientAuthFields, CredentialError>
  readonly send: Region.RegionalSend
  readonly enablePiiLog: boolean
}

const idTokenClaims = (token: TokenResponse.TokenResponse, clientId: string) =>
  Effect.gen(function*() {
    if (token.id_token === undefined) return undefined
    const claims = yield* IdToken.decode(Redacted.value(token.id_token))
    yield* IdToken.checkAudience(claims, clientId)
    return claims
  })

// personal data (user names, object ids) reaches logs only when the app allows it
const logStored = (result: AuthenticationResult, enablePiiLog: boolean) =>
  result.account === undefined ? Effect.void : Effect.logDebug("effect-msal: tokens stored for an account").pipe(
    Effect.annotateLogs(
      enablePiiLog
        ? { "msal.username": result.account.username, "msal.home_account_id": result.account.homeAccountId }
        : { "msal.username": "<pii: set enablePiiLog to show>" }
    )
  )

const missingAccessToken = (url: string) =>
  new NetworkError({
    url,
    status: 200,
    reason: "InvalidResponse",
    description: "the token response has missing or invalid fields: access_token"
  })

/** The grant's processor bound to the answer, or `undefined` when the answer lacks the access token it must carry. */
const processorFor = (
  r: Redemption,
  token: TokenResponse.TokenResponse
): ((context: Omit<Answer, "token">) => Stored) | undefined => {
  if (r.signIn === true) return (context) => r.store({ token, ...context })
  return TokenResponse.isIssued(token) ? (context) => r.store({ token, ...context }) : undefined
}

/** @internal */
export const make = (deps: Deps) => (r: Redemption): Effect.Effect<AuthenticationResult, MsalError> =>
  Effect.gen(function*() {
    const auth = yield* deps.clientAuth(r.endpoints)
    const correlationId = crypto.randomUUID()
    const requestedAtMillis = yield* Clock.currentTimeMillis
    const request: TokenRequest.TokenRequest = {
      endpoint: r.endpoints.tokenEndpoint,
      clientId: deps.clientId,
      grant: r.grant,
      auth,
      headers: r.anchor === undefined ? deps.headers : { ...deps.headers, "X-AnchorMailbox": r.anchor },
      correlationId,
      apiId: r.apiId,
      reason: r.reason,
      ...(r.idempotent === undefined ? {} : { idempotent: r.idempotent })
    }
    const token = yield* deps.send(r.endpoints, request, r.regional === true)
    // only a sign-in may be answered without an access token: checked before the ID token is read
    const store = processorFor(r, token)
    if (store === undefined) return yield* Effect.fail(missingAccessToken(r.endpoints.tokenEndpoint))
    const claims = yield* idTokenClaims(token, deps.clientId)
    if (r.check !== undefined) yield* r.check(claims, Math.floor((yield* Clock.currentTimeMillis) / 1000))
    const appMetadata = yield* deps.cache.get(
      "AppMetadata",
      Cache.appMetadataKey(r.endpoints.environment, deps.clientId)
    )
    const stored = store({ idTokenClaims: claims, requestedAtMillis, appMetadata, correlationId })
    yield* deps.cache.modify(stored.changes)
    yield* logStored(stored.result, deps.enablePiiLog)
    return stored.result
  })
