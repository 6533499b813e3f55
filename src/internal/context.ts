import { HttpClient } from "@effect/platform"
import type { Scope } from "effect"
import { Duration, Effect, Either, Option } from "effect"
import type { AuthenticationResult } from "../AuthenticationResult.js"
import type * as CacheEntry from "../CacheEntry.js"
import type { Options } from "../ConfidentialClient.js"
import type { ClientAuthFields } from "../CredentialSigner.js"
import { CredentialSigner } from "../CredentialSigner.js"
import { HttpCache } from "../HttpCache.js"
import type { AuthorityError, CredentialError, MsalError, NetworkError } from "../MsalError.js"
import { InvalidRequest } from "../MsalError.js"
import type { Service as TokenCacheService } from "../TokenCache.js"
import { TokenCache } from "../TokenCache.js"
import * as Authority from "./authority.js"
import * as Discovery from "./discovery.js"
import * as HttpCacheMemory from "./httpCache.js"
import * as Region from "./region.js"
import * as SingleFlight from "./singleFlight.js"
import * as TokenRequest from "./tokenRequest.js"
import * as Transport from "./transport.js"
import * as TokenResponse from "./tokenResponse.js"

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
  /**
   * The endpoints of the authority, or of another tenant of it: known at once for well-known
   * Entra hosts, else discovered at the first call (once per tenant, single-flight, through
   * the `HttpCache`).
   */
  readonly endpointsFor: (
    tenant: string | undefined
  ) => Effect.Effect<Authority.Endpoints, AuthorityError | InvalidRequest | NetworkError>
  /** The hosts that are one cache environment with the authority's (no I/O). */
  readonly environments: () => ReadonlyArray<string>
  /**
   * Runs `effect` holding the store's lock for `key` when the store is shared (file, Redis),
   * so that instances sharing it fetch or refresh a token once; as is otherwise.
   */
  readonly locked: <A, E>(key: string, effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
  /** Client-authentication fields for a request to these endpoints. */
  readonly clientAuth: (endpoints: Authority.Endpoints) => Effect.Effect<ClientAuthFields, CredentialError>
  /** The headers every token request carries. */
  readonly headers: Readonly<Record<string, string>>
  /** Sends a token request and decodes the answer; every failure is an `MsalError`. */
  readonly send: (
    request: TokenRequest.TokenRequest,
    requestedAtMillis: number
  ) => Effect.Effect<TokenResponse.TokenResponse, MsalError>
  /**
   * `send` through the regional endpoint when a region is configured (client credentials
   * only), falling back to `request.endpoint` when the regional host cannot be reached.
   */
  readonly sendRegional: Region.RegionalSend
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
    const authority = yield* fromEither(Authority.fromOptions(options))
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const cache = yield* TokenCache
    const signer = yield* CredentialSigner
    const scope = yield* Effect.scope

    const send = Transport.makeSend({ http, signer, scope, options })
    // the HttpCache in the context, else a private in-memory one: existing layers need no change
    const sharedHttpCache = yield* Effect.serviceOption(HttpCache)
    const httpCache = Option.isSome(sharedHttpCache) ? sharedHttpCache.value : yield* HttpCacheMemory.make()
    const resolver = Discovery.makeResolver(authority, {
      http,
      cache: httpCache,
      timeout: options.timeout ?? Duration.seconds(30),
      validateAuthority: options.validateAuthority,
      instanceDiscovery: options.instanceDiscovery
    }, scope)
    const sendRegional = yield* Region.makeSend({
      authority,
      setting: options.azureRegion,
      ctx: { http, cache: httpCache, timeout: options.azureRegionTimeout ?? Region.DEFAULT_IMDS_TIMEOUT },
      send
    })

    return {
      clientId,
      options,
      authority,
      cache,
      scope,
      flights: SingleFlight.make<AuthenticationResult, MsalError>(scope),
      endpointsFor: resolver.endpointsFor,
      locked: (key, effect) => (cache.withLock === undefined ? effect : cache.withLock(key, effect)),
      environments: resolver.environments,
      clientAuth: (endpoints) =>
        signer.clientAuth({
          clientId,
          tokenEndpoint: endpoints.tokenEndpoint,
          authorityKind: endpoints.kind,
          clientClaims: options.clientClaims
        }),
      headers: TokenRequest.libraryHeaders(options),
      send,
      sendRegional
    }
  })
