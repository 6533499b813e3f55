import { Effect, Either, Predicate } from "effect"
import type { AuthenticationResult } from "../../AuthenticationResult.js"
import type * as CacheEntry from "../../CacheEntry.js"
import type { ClientCredentialsRequest, Service } from "../../ConfidentialClient.js"
import type { MsalError } from "../../MsalError.js"
import { InvalidRequest } from "../../MsalError.js"
import type * as Authority from "../authority.js"
import * as Cache from "../cacheKey.js"
import * as Claims from "../claims.js"
import type { ClientContext } from "../context.js"
import type * as Engine from "../engine.js"
import * as Entries from "../protocol/entries.js"
import * as TokenRequest from "../protocol/tokenRequest.js"
import type * as Redeem from "../redeem.js"
import * as Scopes from "../scopes.js"

const GRANT = "client_credentials"

/** Tenants that name no tenant: an app token needs one (MSAL Python warns about them for client credentials). */
const TENANTLESS: ReadonlySet<string> = new Set(["common", "organizations", "consumers"])

/** `acquireTokenForClient` and `removeTokensForClient`. @internal */
export const make = (ctx: ClientContext): Pick<Service, "acquireTokenForClient" | "removeTokensForClient"> => {
  const { cache, clientId } = ctx
  let warnedTenantless = false

  /** Results served from the cache, one per entry (entries are immutable: a new token is a new entry). */
  const cachedResults = new WeakMap<CacheEntry.AccessToken, AuthenticationResult>()
  const serve = (entry: CacheEntry.AccessToken): Effect.Effect<AuthenticationResult> => {
    let result = cachedResults.get(entry)
    if (result === undefined) {
      result = Entries.resultOf(entry, "cache")
      cachedResults.set(entry, result)
    }
    return Effect.succeed(result)
  }

  const store = (endpoints: Authority.Endpoints, scopes: ReadonlyArray<string>) => (answer: Redeem.Answer): Redeem.Stored => {
    const { accessToken, changes } = Entries.appTokenChanges(
      {
        clientId,
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

  const fetch = (endpoints: Authority.Endpoints, scopes: ReadonlyArray<string>, claims: string | undefined) =>
  (reason: TokenRequest.RefreshReason): Effect.Effect<AuthenticationResult, MsalError> =>
    ctx.redeem({
      endpoints,
      grant: TokenRequest.clientCredentials(scopes, claims),
      apiId: TokenRequest.ApiId.acquireTokenForClient,
      reason,
      regional: true,
      store: store(endpoints, scopes)
    })

  const warnIfTenantless = (endpoints: Authority.Endpoints): Effect.Effect<void> => {
    if (warnedTenantless || endpoints.form !== "Aad" || !TENANTLESS.has(endpoints.realm.toLowerCase())) return Effect.void
    warnedTenantless = true
    return Effect.logWarning(
      `effect-msal: acquireTokenForClient with the tenantless authority "${endpoints.realm}": app tokens need a tenant id or domain`
    )
  }

  const planOf = (
    endpoints: Authority.Endpoints,
    scopes: ReadonlyArray<string>,
    claims: string | undefined,
    bypass: boolean
  ): Engine.Plan => ({
    grant: GRANT,
    query: { homeAccountId: null, environment: endpoints.environment, clientId, realm: endpoints.realm },
    scopes,
    aging: "background",
    bypass: bypass ? claims ?? "" : undefined,
    serve,
    fetch: fetch(endpoints, scopes, claims)
  })

  const acquire = (request: ClientCredentialsRequest): Effect.Effect<AuthenticationResult, MsalError> => {
    if (!Predicate.isRecord(request)) {
      return Effect.fail(new InvalidRequest({ description: "the request must be an object with scopes" }))
    }
    const scopes = Scopes.normalize(request.scopes)
    if (Either.isLeft(scopes)) return Effect.fail(scopes.left)
    const claims = Claims.merge(ctx.options.clientCapabilities, request.claims)
    if (Either.isLeft(claims)) return Effect.fail(claims.left)
    return Effect.flatMap(ctx.endpointsFor(request.tenant), (endpoints) =>
      Effect.zipRight(
        warnIfTenantless(endpoints),
        ctx.engine.acquire(planOf(endpoints, scopes.right, claims.right, request.claims !== undefined))
      ))
  }

  const acquireTokenForClient = (request: ClientCredentialsRequest): Effect.Effect<AuthenticationResult, MsalError> =>
    Effect.withSpan(Effect.suspend(() => acquire(request)), "ConfidentialClient.acquireTokenForClient", {
      captureStackTrace: false,
      attributes: {
        "msal.grant": GRANT,
        "msal.tenant": Predicate.isRecord(request) && typeof request.tenant === "string" ? request.tenant : ctx.authority.tenant
      }
    })

  const removeTokensForClient = Effect.fn("ConfidentialClient.removeTokensForClient")(function*() {
    const environments = new Set(ctx.environments().flatMap(Cache.aliasesOf))
    const tokens = yield* cache.list("AccessToken")
    const mine = tokens.filter((t) =>
      t.client_id === clientId && (t.home_account_id ?? "") === "" && t.user_assertion_hash === undefined &&
      environments.has(t.environment.toLowerCase())
    )
    yield* cache.modify(mine.map((t) => ({ _tag: "Remove", section: "AccessToken", key: Cache.keyOf("AccessToken", t) })))
  })

  return { acquireTokenForClient, removeTokensForClient }
}
