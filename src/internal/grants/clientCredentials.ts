import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import type { AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { ClientCredentialsRequest, Service } from "../../ConfidentialClient.js"
import type { MsalError } from "../../MsalError.js"
import { InvalidRequest } from "../../MsalError.js"
import * as Authority from "../authority.js"
import * as Cache from "../cacheKey.js"
import * as Claims from "../claims.js"
import type { ClientContext } from "../context.js"
import * as Engine from "../engine.js"
import * as HotMemo from "../hotMemo.js"
import * as Entries from "../protocol/entries.js"
import * as TokenRequest from "../protocol/tokenRequest.js"
import type * as Redeem from "../redeem.js"
import * as Scopes from "../scopes.js"

const GRANT = "client_credentials"

/** Tenants that name no tenant: an app token needs one (MSAL Python warns about them for client credentials). */
const TENANTLESS: ReadonlySet<string> = new Set(["common", "organizations", "consumers"])

/** The pure processor of an app token answer: its cache changes and its result. */
const store =
  (ctx: ClientContext, endpoints: Authority.Endpoints, scopes: ReadonlyArray<string>) =>
  (answer: Redeem.Answer): Redeem.Stored => {
    const { accessToken, changes } = Entries.appTokenChanges(
      {
        clientId: ctx.clientId,
        endpoints,
        scopes,
        homeAccountId: "",
        refreshLifetimeFraction: ctx.options.refreshLifetimeFraction
      },
      answer.token,
      answer.requestedAtMillis,
      answer.appMetadata
    )
    return { changes, result: Entries.resultOf(accessToken, "identity_provider", answer.correlationId) }
  }

/** The client-credentials request, through the regional endpoint when a region is set. */
const fetch =
  (ctx: ClientContext, endpoints: Authority.Endpoints, scopes: ReadonlyArray<string>, claims: string | undefined) =>
  (reason: TokenRequest.RefreshReason): Effect.Effect<AuthenticationResult, MsalError> =>
    ctx.redeem({
      endpoints,
      grant: TokenRequest.clientCredentials(scopes, claims),
      apiId: TokenRequest.ApiId.acquireTokenForClient,
      reason,
      regional: true,
      store: store(ctx, endpoints, scopes)
    })

/** Results served from the cache, one per entry (entries are immutable: a new token is a new entry). */
const servedFrom =
  (results: WeakMap<CacheEntry.AccessToken, AuthenticationResult>) =>
  (entry: CacheEntry.AccessToken): AuthenticationResult => {
    let result = results.get(entry)
    if (result === undefined) {
      result = Entries.resultOf(entry, "cache")
      results.set(entry, result)
    }
    return result
  }

/** What `acquireTokenForClient` asks of the engine. */
const planOf = (
  ctx: ClientContext,
  serve: Engine.Plan["serve"],
  endpoints: Authority.Endpoints,
  scopes: ReadonlyArray<string>,
  claims: string | undefined,
  bypass: boolean
): Engine.Plan => ({
  grant: GRANT,
  query: { homeAccountId: null, environment: endpoints.environment, clientId: ctx.clientId, realm: endpoints.realm },
  otherRealms: Authority.otherRealms(endpoints),
  scopes,
  aging: "background",
  bypass: bypass ? claims ?? "" : undefined,
  serve,
  fetch: fetch(ctx, endpoints, scopes, claims)
})

/** Validates a request: its scopes and its claims merged with the client's capabilities. */
const validate = (ctx: ClientContext, request: ClientCredentialsRequest) => {
  if (!Predicate.isRecord(request)) {
    return Either.left(new InvalidRequest({ description: "the request must be an object with scopes" }))
  }
  return Either.flatMap(
    Scopes.normalize(request.scopes),
    (scopes) =>
      Either.map(Claims.merge(ctx.options.clientCapabilities, request.claims), (claims) => ({ scopes, claims }))
  )
}

/** Removes the app's own tokens in every tenant of the authority's cloud (MSAL Python's `remove_tokens_for_client`). */
const removeTokensFor = (ctx: ClientContext) =>
  Effect.fn("ConfidentialClient.removeTokensForClient")(function*() {
    const environments = new Set(ctx.environments().flatMap(Cache.aliasesOf))
    const tokens = yield* ctx.cache.list("AccessToken")
    const mine = tokens.filter((t) =>
      t.client_id === ctx.clientId && (t.home_account_id ?? "") === "" && t.user_assertion_hash === undefined &&
      environments.has(t.environment.toLowerCase())
    )
    yield* ctx.cache.modify(
      mine.map((t) => ({ _tag: "Remove", section: "AccessToken", key: Cache.keyOf("AccessToken", t) }))
    )
  })

/** `acquireTokenForClient` and `removeTokensForClient`. @internal */
export const make = (ctx: ClientContext): Pick<Service, "acquireTokenForClient" | "removeTokensForClient"> => {
  const serveSync = servedFrom(new WeakMap())
  const serve = (entry: CacheEntry.AccessToken) => Effect.succeed(serveSync(entry))
  const hot = HotMemo.make<Engine.Hot>()
  let warnedTenantless = false
  const warnIfTenantless = (endpoints: Authority.Endpoints): Effect.Effect<void> => {
    if (warnedTenantless || endpoints.form !== "Aad" || !TENANTLESS.has(endpoints.realm.toLowerCase()))
      return Effect.void
    warnedTenantless = true
    return Effect.logWarning(
      `effect-msal: acquireTokenForClient with the tenantless authority "${endpoints.realm}": app tokens need a tenant id or domain`
    )
  }

  const acquire = (request: ClientCredentialsRequest): Effect.Effect<AuthenticationResult, MsalError> => {
    const valid = validate(ctx, request)
    if (Either.isLeft(valid)) return Effect.fail(valid.left)
    const { claims, scopes } = valid.right
    const bypass = request.claims !== undefined
    // the shape as validated now, for the fast path (the caller may change its request later)
    const shape = bypass ? undefined : { tenant: request.tenant, scopes: Array.from(request.scopes) }
    return Effect.flatMap(ctx.endpointsFor(request.tenant), (endpoints) => {
      const plan = planOf(ctx, serve, endpoints, scopes, claims, bypass)
      if (shape !== undefined) hot.add(shape.tenant, shape.scopes, Engine.hotOf(plan, Engine.serveOnce(serveSync)))
      return Effect.zipRight(warnIfTenantless(endpoints), ctx.engine.acquire(plan))
    })
  }

  const traced = (request: ClientCredentialsRequest): Effect.Effect<AuthenticationResult, MsalError> =>
    Effect.withSpan(Effect.suspend(() => acquire(request)), "ConfidentialClient.acquireTokenForClient", {
      captureStackTrace: false,
      attributes: {
        "msal.grant": GRANT,
        "msal.tenant": Predicate.isRecord(request) && typeof request.tenant === "string"
          ? request.tenant
          : ctx.authority.tenant
      }
    })

  // a cache hit of a shape seen before, with no tracer installed: served by the engine's fast
  // path in this fiber's step; anything else (and every miss) takes the traced full path
  const acquireTokenForClient = (request: ClientCredentialsRequest): Effect.Effect<AuthenticationResult, MsalError> =>
    Effect.withFiberRuntime((fiber) => {
      if (Engine.isUntraced(fiber) && Predicate.isRecord(request) && request.claims === undefined) {
        const shape = hot.find(request.tenant, request.scopes)
        const exit = shape === undefined ? undefined : ctx.engine.hit(shape, fiber)
        if (exit !== undefined) return exit
      }
      return traced(request)
    })

  return { acquireTokenForClient, removeTokensForClient: removeTokensFor(ctx) }
}
