import type * as Scope from "effect/Scope"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { InvalidRequest } from "../MsalError.js"
import { AuthorityError, NetworkError } from "../MsalError.js"
import * as Authority from "./authority.js"
import * as HttpCache from "./httpCache.js"
import * as SingleFlight from "./singleFlight.js"

/** What discovery needs. @internal */
export interface DiscoveryContext extends HttpCache.GetContext {
  readonly validateAuthority?: boolean | undefined
  readonly instanceDiscovery?: boolean | undefined
}

const AliasGroup = Schema.Struct({
  preferred_network: Schema.optional(Schema.String),
  preferred_cache: Schema.optional(Schema.String),
  aliases: Schema.Array(Schema.String)
})

/** The instance discovery answer (`api-version=1.1`). @internal */
export const InstanceDiscovery = Schema.parseJson(Schema.Struct({
  tenant_discovery_endpoint: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String),
  error_description: Schema.optional(Schema.String),
  metadata: Schema.optional(Schema.Array(AliasGroup))
}))

/** The fields of an OpenID Connect discovery document that the client uses. @internal */
export const OpenIdConfiguration = Schema.parseJson(Schema.Struct({
  issuer: Schema.optional(Schema.String),
  token_endpoint: Schema.String,
  authorization_endpoint: Schema.String,
  device_authorization_endpoint: Schema.optional(Schema.String)
}))

type Group = typeof AliasGroup.Type

const statusFailure = (authority: Authority.Authority, url: string, status: number, what: string) =>
  status >= 500 || status === 429
    ? new NetworkError({ reason: "Status", url, status, description: `${what} is unavailable` })
    : new AuthorityError({
      authority: authority.url,
      description: authority.form === "Oidc"
        ? `${what} failed (HTTP ${status}) at ${url}. Check that the OIDC authority is the issuer URL.`
        : `${what} failed (HTTP ${status}) at ${url}. Check that the tenant name or id is correct. ${Authority.ACCEPTED_FORMS}`
    })

/**
 * The cache environment of a host that instance discovery placed in an alias group: a
 * well-known member of the group (so that the host and its well-known aliases share cached
 * tokens), else the group's `preferred_cache`. @internal
 */
export const environmentOf = (
  host: string,
  groups: ReadonlyArray<Group>
): { environment: string; aliases: ReadonlyArray<string> } => {
  const group = groups.find((g) => g.aliases.some((a) => a.toLowerCase() === host))
  if (group === undefined) return { environment: host, aliases: [host] }
  const aliases = group.aliases.map((a) => a.toLowerCase())
  const known = aliases.find((a) => Authority.WELL_KNOWN_HOSTS.has(a))
  return { environment: known ?? group.preferred_cache?.toLowerCase() ?? host, aliases }
}

const instanceDiscovery = (authority: Authority.Authority, ctx: DiscoveryContext) =>
  Effect.gen(function*() {
    const url = Authority.instanceDiscoveryUrl(authority)
    const display = url.split("?")[0]!
    const answer = yield* HttpCache.get(ctx, url)
    const decoded = Schema.decodeUnknownEither(InstanceDiscovery)(answer.body)
    if (Either.isLeft(decoded)) {
      return yield* answer.status >= 200 && answer.status < 300
        ? new AuthorityError({
          authority: authority.url,
          description: `instance discovery at ${display} gave an unreadable answer`
        })
        : statusFailure(authority, display, answer.status, "Instance discovery")
    }
    const body = decoded.right
    if (body.error === "invalid_instance") {
      return yield* new AuthorityError({
        authority: authority.url,
        description:
          `invalid_instance: ${authority.host} is not a Microsoft authority host known to instance discovery. ` +
          "If it is indeed a host you trust, turn this check off with validateAuthority: false or instanceDiscovery: false."
      })
    }
    if (answer.status < 200 || answer.status > 299)
      return yield* statusFailure(authority, display, answer.status, "Instance discovery")
    if (body.tenant_discovery_endpoint === undefined) {
      return yield* new AuthorityError({
        authority: authority.url,
        description: `instance discovery at ${display} named no tenant discovery endpoint`
      })
    }
    return { discoveryUrl: body.tenant_discovery_endpoint, groups: body.metadata ?? [] }
  })

const openIdConfiguration = (authority: Authority.Authority, url: string, ctx: DiscoveryContext) =>
  Effect.gen(function*() {
    const display = url.split("?")[0]!
    const answer = yield* HttpCache.get(ctx, url)
    if (answer.status < 200 || answer.status > 299) {
      return yield* statusFailure(authority, display, answer.status, "OpenID Connect discovery")
    }
    const decoded = Schema.decodeUnknownEither(OpenIdConfiguration)(answer.body)
    if (Either.isLeft(decoded)) {
      return yield* new AuthorityError({
        authority: authority.url,
        description:
          `the OpenID Connect discovery document at ${display} is not JSON with token_endpoint and authorization_endpoint`
      })
    }
    const doc = decoded.right
    for (
      const [name, endpoint] of [
        ["token_endpoint", doc.token_endpoint],
        ["authorization_endpoint", doc.authorization_endpoint],
        ["device_authorization_endpoint", doc.device_authorization_endpoint]
      ] as const
    ) {
      const problem = endpoint === undefined ? undefined : Authority.endpointProblem(authority, endpoint)
      if (problem !== undefined) {
        return yield* new AuthorityError({
          authority: authority.url,
          description: `the ${name} of the OpenID Connect discovery document ${problem}: ${endpoint}`
        })
      }
    }
    if (authority.form === "Oidc" && !Authority.isValidIssuer(doc.issuer, authority.url)) {
      return yield* new AuthorityError({
        authority: authority.url,
        description:
          `the issuer '${doc.issuer ?? ""}' of the discovery document does not match the authority or a known ` +
          "Microsoft pattern. For a Microsoft Entra authority (such as login.microsoftonline.com), use the authority " +
          "option instead of oidcAuthority."
      })
    }
    return doc
  })

/**
 * The endpoints of an authority: known without I/O for well-known Entra hosts; otherwise
 * instance discovery (when it applies) and the OpenID Connect discovery document, both
 * through the HTTP cache. Transport failures, timeouts and 5xx answers are `NetworkError`s
 * (worth retrying); every other failure is an `AuthorityError`. @internal
 */
export const resolve = (
  authority: Authority.Authority,
  ctx: DiscoveryContext
): Effect.Effect<Authority.Endpoints, AuthorityError | NetworkError> => {
  const known = Authority.wellKnownEndpoints(authority)
  if (known !== undefined) return Effect.succeed(known)
  return Effect.gen(function*() {
    const instance = Authority.needsInstanceDiscovery(authority, ctx)
      ? yield* instanceDiscovery(authority, ctx)
      : { discoveryUrl: Authority.openIdConfigurationUrl(authority), groups: [] }
    const doc = yield* openIdConfiguration(authority, instance.discoveryUrl, ctx)
    const found = environmentOf(authority.host, instance.groups)
    const { environment } = found
    const aliases = instance.groups.length === 0 ? Authority.knownAliases(authority.host) : found.aliases
    const realm = authority.form === "Oidc" && doc.issuer !== undefined && !Authority.isEntraIssuer(doc.issuer)
      ? Authority.oidcRealm(doc.issuer)
      : Authority.realmOf(doc.token_endpoint, authority.tenant)
    return {
      tokenEndpoint: doc.token_endpoint,
      authorizationEndpoint: doc.authorization_endpoint,
      environment,
      realm,
      ...(authority.form !== "Oidc" && authority.tenant.length > 0 &&
          authority.tenant.toLowerCase() !== realm.toLowerCase()
        ? { realmAsWritten: authority.tenant }
        : {}),
      kind: authority.kind,
      form: authority.form,
      aliases,
      ...(doc.device_authorization_endpoint === undefined
        ? {}
        : { deviceAuthorizationEndpoint: doc.device_authorization_endpoint }),
      ...(doc.issuer === undefined ? {} : { issuer: doc.issuer })
    }
  }).pipe(Effect.withSpan("ConfidentialClient.discovery", { attributes: { "msal.authority": authority.url } }))
}

/** Resolved endpoints kept per client (one per tenant asked for). @internal */
export const MAX_RESOLVED = 256

/** Endpoint resolution for one client. @internal */
export interface Resolver {
  /** The endpoints of the authority, or of another tenant of it: resolved once, lazily. */
  readonly endpointsFor: (
    tenant: string | undefined
  ) => Effect.Effect<Authority.Endpoints, AuthorityError | InvalidRequest | NetworkError>
  /** The hosts that are one cache environment with the authority's (known so far, no I/O). */
  readonly environments: () => ReadonlyArray<string>
}

/**
 * Resolves endpoints at the first request that needs them (never when the client is built),
 * once per authority and tenant: concurrent first calls share one resolution, a success is
 * kept for the client's life (the HTTP cache shares it with other clients for 24 hours), a
 * failure is not kept. @internal
 */
export const makeResolver = (
  authority: Authority.Authority,
  ctx: DiscoveryContext,
  scope: Scope.Scope
): Resolver => {
  const resolved = new Map<string, Authority.Endpoints>()
  const flights = SingleFlight.make<Authority.Endpoints, AuthorityError | NetworkError>(scope)
  const remember = (key: string, endpoints: Authority.Endpoints) => {
    if (resolved.size >= MAX_RESOLVED && !resolved.has(key)) {
      const oldest = resolved.keys().next()
      if (oldest.done !== true) resolved.delete(oldest.value)
    }
    resolved.set(key, endpoints)
  }
  const endpointsFor = (tenant: string | undefined) =>
    Effect.suspend((): Effect.Effect<Authority.Endpoints, AuthorityError | InvalidRequest | NetworkError> => {
      const target = Authority.withTenant(authority, tenant)
      if (Either.isLeft(target)) return Effect.fail(target.left)
      const a = target.right
      const hit = resolved.get(a.url)
      if (hit !== undefined) return Effect.succeed(hit)
      const known = Authority.wellKnownEndpoints(a)
      if (known !== undefined) {
        remember(a.url, known)
        return Effect.succeed(known)
      }
      return flights.run(a.url, Effect.tap(resolve(a, ctx), (e) => Effect.sync(() => remember(a.url, e))))
    })
  const environments = () => {
    const all = new Set<string>([authority.host])
    for (const e of resolved.values()) {
      all.add(e.environment)
      for (const alias of e.aliases) all.add(alias)
    }
    return Array.from(all)
  }
  return { endpointsFor, environments }
}
