import { HttpClient } from "@effect/platform"
import type { HttpClientError } from "@effect/platform"
import type { Scope } from "effect"
import { Duration, Effect, Either, Predicate } from "effect"
import type { AuthenticationResult } from "../AuthenticationResult.js"
import type * as CacheEntry from "../CacheEntry.js"
import type { Options } from "../ConfidentialClient.js"
import type { ClientAuthFields } from "../CredentialSigner.js"
import { CredentialSigner } from "../CredentialSigner.js"
import type { AuthorityError, CredentialError, MsalError } from "../MsalError.js"
import { InvalidRequest, NetworkError } from "../MsalError.js"
import type { Service as TokenCacheService } from "../TokenCache.js"
import { TokenCache } from "../TokenCache.js"
import * as Authority from "./authority.js"
import * as SingleFlight from "./singleFlight.js"
import * as TokenRequest from "./tokenRequest.js"
import * as TokenResponse from "./tokenResponse.js"

const DEFAULT_TIMEOUT = Duration.seconds(30)

/** What every grant of one client shares. @internal */
export interface ClientContext {
  readonly clientId: string
  readonly options: Options
  readonly authority: Authority.Authority
  readonly cache: TokenCacheService
  /** The client layer's scope: background work is forked into it. */
  readonly scope: Scope.Scope
  /** Joins concurrent network acquisitions by key. */
  readonly flights: SingleFlight.SingleFlight<AuthenticationResult, MsalError>
  /** The endpoints of the authority, or of another tenant of it. */
  readonly endpointsFor: (tenant: string | undefined) => Effect.Effect<Authority.Endpoints, AuthorityError | InvalidRequest>
  /** Client-authentication fields for a request to these endpoints. */
  readonly clientAuth: (endpoints: Authority.Endpoints) => Effect.Effect<ClientAuthFields, CredentialError>
  /** The headers every token request carries. */
  readonly headers: Readonly<Record<string, string>>
  /** Sends a token request and decodes the answer; every failure is an `MsalError`. */
  readonly send: (
    request: TokenRequest.TokenRequest,
    requestedAtMillis: number
  ) => Effect.Effect<TokenResponse.TokenResponse, MsalError>
}

/** @internal */
export const fromEither = <A, E>(either: Either.Either<A, E>): Effect.Effect<A, E> =>
  Either.isRight(either) ? Effect.succeed(either.right) : Effect.fail(either.left)

/** The result for a cached or freshly stored access token. @internal */
export const resultOf = (
  entry: CacheEntry.AccessToken,
  tokenSource: AuthenticationResult["tokenSource"],
  correlationId?: string
): AuthenticationResult => ({
  accessToken: entry.secret,
  tokenType: entry.token_type ?? "Bearer",
  expiresOn: new Date(entry.expires_on * 1000),
  ...(entry.extended_expires_on === undefined ? {} : { extExpiresOn: new Date(entry.extended_expires_on * 1000) }),
  ...(entry.refresh_on === undefined ? {} : { refreshOn: new Date(entry.refresh_on * 1000) }),
  scopes: entry.target.split(" "),
  tokenSource,
  tenantId: entry.realm,
  ...(correlationId === undefined ? {} : { correlationId })
})

const transportError = (url: string) => (error: HttpClientError.HttpClientError): NetworkError => {
  const cause = error.cause
  const detail = cause instanceof Error
    ? `: ${cause.message}${Predicate.hasProperty(cause.cause, "code") ? ` (${String(cause.cause.code)})` : ""}`
    : ""
  return new NetworkError({ reason: "Transport", url, description: `could not reach the authority${detail}` })
}

/** @internal */
export const make = (
  options: Options
): Effect.Effect<
  ClientContext,
  AuthorityError | InvalidRequest,
  HttpClient.HttpClient | TokenCache | CredentialSigner | Scope.Scope
> =>
  Effect.gen(function*() {
    if (typeof options.clientId !== "string" || options.clientId.trim().length === 0) {
      return yield* new InvalidRequest({ field: "clientId", description: "the client id must be a non-empty string" })
    }
    const clientId = options.clientId
    const authority = yield* fromEither(Authority.parse(options.authority ?? Authority.DEFAULT_AUTHORITY))
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const cache = yield* TokenCache
    const signer = yield* CredentialSigner
    const scope = yield* Effect.scope
    const timeout = options.timeout === undefined ? DEFAULT_TIMEOUT : Duration.decode(options.timeout)

    const send = (request: TokenRequest.TokenRequest, requestedAt: number) =>
      http.execute(TokenRequest.toHttp(request)).pipe(
        Effect.mapError(transportError(request.endpoint)),
        Effect.flatMap((response) => TokenResponse.process(response, request.endpoint, requestedAt)),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new NetworkError({
              reason: "Timeout",
              url: request.endpoint,
              description: `no answer within ${Duration.format(timeout)}`
            })
        }),
        Effect.tapErrorTag("ServerError", (e) =>
          e.error === "invalid_client" ? Effect.forkIn(Effect.ignore(signer.reload), scope) : Effect.void),
        Effect.withSpan("ConfidentialClient.tokenRequest", {
          attributes: { "msal.api_id": request.apiId, "msal.refresh_reason": request.reason }
        })
      )

    return {
      clientId,
      options,
      authority,
      cache,
      scope,
      flights: SingleFlight.make<AuthenticationResult, MsalError>(scope),
      endpointsFor: (tenant) =>
        Effect.flatMap(
          fromEither(Authority.withTenant(authority, tenant)),
          (a) => fromEither(Authority.wellKnownEndpoints(a))
        ),
      clientAuth: (endpoints) =>
        signer.clientAuth({
          clientId,
          tokenEndpoint: endpoints.tokenEndpoint,
          authorityKind: endpoints.kind,
          clientClaims: options.clientClaims
        }),
      headers: TokenRequest.libraryHeaders(options),
      send
    }
  })
