import * as HttpClient from "@effect/platform/HttpClient"
import type * as Duration from "effect/Duration"
import type * as Scope from "effect/Scope"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Options } from "../ConfidentialClient.js"
import type { Service as CredentialSignerService } from "../CredentialSigner.js"
import { CredentialSigner } from "../CredentialSigner.js"
import { HttpCache } from "../HttpCache.js"
import type { AuthorityError, InvalidRequest, NetworkError } from "../MsalError.js"
import { InvalidRequest as InvalidRequestError } from "../MsalError.js"
import type { Service as TokenCacheService } from "../TokenCache.js"
import { TokenCache } from "../TokenCache.js"
import * as Authority from "./authority.js"
import * as Discovery from "./discovery.js"
import * as Engine from "./engine.js"
import * as HttpCacheMemory from "./httpCache.js"
import * as Telemetry from "./protocol/telemetry.js"
import * as TokenRequest from "./protocol/tokenRequest.js"
import * as Redeem from "./redeem.js"
import * as Region from "./region.js"
import * as Transport from "./transport.js"

/** What every grant of one client shares; built once per client, defaults resolved. @internal */
export interface ClientContext {
  readonly clientId: string
  readonly options: Options
  readonly authority: Authority.Authority
  readonly cache: TokenCacheService
  /** The one HTTP client of this client (after `transformClient`), for requests outside the token pipeline. */
  readonly http: HttpClient.HttpClient
  /** The headers every request of this client carries (`x-client-sku`, …). */
  readonly headers: Readonly<Record<string, string>>
  /** The longest a request may take, all attempts included. */
  readonly timeout: Duration.Duration
  /** The client layer's scope: background work is forked into it. */
  readonly scope: Scope.Scope
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
  /** The acquisition engine every cached grant runs through. */
  readonly engine: Engine.Engine
  /** Sends one token request and stores its answer with the grant's processor. */
  readonly redeem: (r: Redeem.Redemption) => ReturnType<ReturnType<typeof Redeem.make>>
}

const clientIdOf = (options: Options) =>
  typeof options.clientId === "string" && options.clientId.trim().length > 0
    ? Effect.succeed(options.clientId)
    : Effect.fail(
      new InvalidRequestError({ field: "clientId", description: "the client id must be a non-empty string" })
    )

/** The HttpCache in the context, else a private in-memory one: existing layers need no change. */
const httpCacheOf = Effect.flatMap(
  Effect.serviceOption(HttpCache),
  Option.match({ onNone: () => HttpCacheMemory.make(), onSome: Effect.succeed })
)

/** Client-authentication fields for a request to these endpoints. */
const clientAuthOf =
  (signer: CredentialSignerService, clientId: string, options: Options) => (endpoints: Authority.Endpoints) =>
    signer.clientAuth({
      clientId,
      tokenEndpoint: endpoints.tokenEndpoint,
      authorityKind: endpoints.kind,
      clientClaims: options.clientClaims
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
    const clientId = yield* clientIdOf(options)
    const authority = yield* Authority.fromOptions(options)
    const base = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const http = options.transformClient === undefined ? base : options.transformClient(base)
    const cache = yield* TokenCache
    const signer = yield* CredentialSigner
    const scope = yield* Effect.scope
    const timeout = Transport.timeoutOf(options)

    const telemetry = Telemetry.make()
    const send = Transport.makeSend({ http, signer, scope, options, telemetry })
    const httpCache = yield* httpCacheOf
    const resolver = Discovery.makeResolver(authority, {
      http,
      cache: httpCache,
      timeout,
      validateAuthority: options.validateAuthority,
      instanceDiscovery: options.instanceDiscovery
    }, scope)
    const sendRegional = yield* Region.makeSend({
      authority,
      setting: options.azureRegion,
      ctx: { http, cache: httpCache, timeout: options.azureRegionTimeout ?? Region.DEFAULT_IMDS_TIMEOUT },
      send
    })
    const headers = TokenRequest.libraryHeaders(options)
    const locked = <A, E>(key: string, effect: Effect.Effect<A, E>) =>
      cache.withLock === undefined ? effect : cache.withLock(key, effect)

    return {
      clientId,
      options,
      authority,
      cache,
      http,
      headers,
      timeout,
      scope,
      endpointsFor: resolver.endpointsFor,
      environments: resolver.environments,
      engine: Engine.make({ cache, locked, scope, timeout, onHit: () => Telemetry.hit(telemetry) }),
      redeem: Redeem.make({
        clientId,
        cache,
        headers,
        clientAuth: clientAuthOf(signer, clientId, options),
        send: sendRegional,
        enablePiiLog: options.enablePiiLog === true
      })
    }
  })
