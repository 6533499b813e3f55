import * as Either from "effect/Either"
import type { AuthorityKind } from "../CredentialSigner.js"
import { AuthorityError, InvalidRequest } from "../MsalError.js"

/** The default authority of MSAL Python and msal-node. @internal */
export const DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common"

/** The host that answers instance discovery for every cloud (MSAL Python's `msal/authority.py`). @internal */
export const INSTANCE_DISCOVERY_HOST = "login.microsoftonline.com"

/**
 * Microsoft clouds and their authority hosts. Hosts of one cloud are aliases of each other;
 * the first is the one the cloud constants name. @internal
 */
export const HOSTS_BY_CLOUD: Readonly<Record<string, ReadonlyArray<string>>> = {
  Public: ["login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net"],
  China: ["login.chinacloudapi.cn", "login.partner.microsoftonline.cn"],
  Germany: ["login.microsoftonline.de"],
  UsGovernment: ["login.microsoftonline.us", "login.usgovcloudapi.net"],
  UsAlternate: ["login-us.microsoftonline.com"],
  Bleu: ["login.sovcloud-identity.fr"],
  Delos: ["login.sovcloud-identity.de"],
  GovSingapore: ["login.sovcloud-identity.sg"]
}

/** Hosts that only identify a cloud for the issuer check; they never skip instance discovery. */
const EXTRA_HOSTS_BY_CLOUD: Readonly<Record<string, ReadonlyArray<string>>> = {
  Ppe: ["login.windows-ppe.net", "sts.windows-ppe.net", "login.microsoft-ppe.com"],
  Public: ["ciamlogin.com"]
}

const CLOUD_OF_HOST: ReadonlyMap<string, string> = new Map(
  [...Object.entries(HOSTS_BY_CLOUD), ...Object.entries(EXTRA_HOSTS_BY_CLOUD)].flatMap(([cloud, hosts]) =>
    hosts.map((h) => [h, cloud] as const)
  )
)

/** Entra hosts whose endpoints are known without any request. @internal */
export const WELL_KNOWN_HOSTS: ReadonlySet<string> = new Set(Object.values(HOSTS_BY_CLOUD).flat())

const B2C_SUFFIXES = [".b2clogin.com", ".b2clogin.cn", ".b2clogin.us", ".b2clogin.de"]
const CIAM_SUFFIX = ".ciamlogin.com"
/** A DNS label: the shape of a region prefix in a host name. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/**
 * The form of an authority: an Entra tenant (any cloud), Azure AD B2C, Entra External ID
 * (CIAM), AD FS, or a generic OpenID Connect provider. @internal
 */
import type { Form } from "../Authority.js"

export type { Form }

/** A parsed authority. @internal */
export interface Authority {
  /** The canonical URL: origin and path segments, no query, no trailing slash. */
  readonly url: string
  /** `scheme://host[:port]` */
  readonly origin: string
  /** The lower-cased host name (no port). */
  readonly host: string
  /** The path segments after the host; a path-less CIAM authority gets its derived tenant. */
  readonly segments: ReadonlyArray<string>
  /** Which segment is the tenant (-1: none, as for a path-less generic OIDC issuer). */
  readonly tenantIndex: number
  readonly tenant: string
  /** The query of the input (`?x=1` or ""), kept on the OIDC discovery URL as MSAL does. */
  readonly query: string
  readonly form: Form
  readonly kind: AuthorityKind
}

/** The endpoints of one authority and tenant. @internal */
export interface Endpoints {
  readonly tokenEndpoint: string
  readonly authorizationEndpoint: string
  /** The cache `environment`: the central host (never a regional one). */
  readonly environment: string
  /**
   * The cache `realm` written: the tenant id the discovered token endpoint names (what MSAL
   * Python writes on Entra), else the tenant as written; a generic OIDC authority's issuer.
   */
  readonly realm: string
  /**
   * The tenant as the authority wrote it, when it differs from `realm` (a domain-named tenant
   * resolved to its GUID): entries written under it (by msal-node, which keys app tokens by
   * the configured tenant, or by earlier versions) are read too. See `lookupRealms`.
   */
  readonly realmAsWritten?: string | undefined
  readonly kind: AuthorityKind
  readonly form: Form
  /** Hosts that are one environment with `environment` (from instance discovery). */
  readonly aliases: ReadonlyArray<string>
  readonly deviceAuthorizationEndpoint?: string | undefined
  /** The `issuer` of the discovery document, when one was read (the ID-token issuer check uses it). */
  readonly issuer?: string | undefined
}

/** @internal */
export const ACCEPTED_FORMS = "Accepted forms: https://login.microsoftonline.com/<tenant id or domain> " +
  "(or common, organizations, consumers; or the host of another cloud, such as login.microsoftonline.us), " +
  "https://<tenant>.b2clogin.com/<tenant>.onmicrosoft.com/<policy> (also with /tfp/), " +
  "https://<tenant>.ciamlogin.com[/<tenant>], https://<adfs host>/adfs, " +
  "or any OpenID Connect issuer through the oidcAuthority option."

const fail = (authority: string, description: string) =>
  Either.left(new AuthorityError({ authority, description: `${description} ${ACCEPTED_FORMS}` }))

/** 127.0.0.1, localhost or [::1]: plain http is accepted there for generic OIDC only. @internal */
export const isLoopback = (hostname: string): boolean =>
  hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]" || hostname === "::1"

const parseUrl = (input: unknown): Either.Either<URL, AuthorityError> => {
  if (typeof input !== "string" || input.trim().length === 0) {
    return fail(String(input), "The authority must be a non-empty https URL.")
  }
  try {
    return Either.right(new URL(input.trim()))
  } catch {
    return fail(input, "The authority is not a URL.")
  }
}

/** The URL without its user name and password, which must never reach an error. */
const withoutCredentials = (url: URL): string => `${url.protocol}//${url.host}${url.pathname}${url.search}`

const segmentsOf = (url: URL): Array<string> => url.pathname.split("/").filter((s) => s.length > 0)

const build = (
  url: URL,
  segments: ReadonlyArray<string>,
  tenantIndex: number,
  form: Form
): Authority => {
  const tenant = tenantIndex < 0 ? "" : segments[tenantIndex] ?? ""
  const kind: AuthorityKind = form === "Adfs" ? "Adfs" : form === "Oidc" ? "Oidc" : "Entra"
  const path = segments.length === 0 ? "" : `/${segments.join("/")}`
  return {
    url: `${url.origin}${path}`,
    origin: url.origin,
    host: url.hostname.toLowerCase(),
    segments,
    tenantIndex,
    tenant,
    query: url.search,
    form,
    kind
  }
}

/**
 * Parses an Entra authority (the `authority` option): an https URL whose first path segment
 * is the tenant, except on `*.ciamlogin.com`, where the tenant defaults to
 * `<subdomain>.onmicrosoft.com`. Extra segments, the query and the fragment do not change
 * the tenant. @internal
 */
export const parse = (input: string): Either.Either<Authority, AuthorityError> =>
  Either.flatMap(parseUrl(input), (url) => {
    if (url.protocol !== "https:") return fail(withoutCredentials(url), "The authority must be an https URL.")
    if (url.username !== "" || url.password !== "")
      return fail(withoutCredentials(url), "The authority must not carry credentials.")
    const host = url.hostname.toLowerCase()
    const segments = segmentsOf(url)
    if (host.endsWith(CIAM_SUFFIX)) {
      const derived = segments.length === 0 ? [`${host.slice(0, -CIAM_SUFFIX.length)}.onmicrosoft.com`] : segments
      return Either.right(build(url, derived, 0, "Ciam"))
    }
    const first = segments[0]
    if (first === undefined) {
      return fail(withoutCredentials(url), "The authority has no tenant segment (https://<host>/<tenant>).")
    }
    if (first.toLowerCase() === "adfs") return Either.right(build(url, segments, 0, "Adfs"))
    const tfp = first.toLowerCase() === "tfp"
    const isB2c = B2C_SUFFIXES.some((s) => host.endsWith(s)) ||
      (segments.length === 2 && segments[1]!.toLowerCase().startsWith("b2c_")) ||
      (tfp && segments.length >= 3)
    if (isB2c) {
      if (tfp && segments[1] === undefined) {
        return fail(withoutCredentials(url), "A /tfp/ authority needs a tenant after /tfp/.")
      }
      return Either.right(build(url, segments, tfp ? 1 : 0, "B2C"))
    }
    return Either.right(build(url, segments, 0, "Aad"))
  })

/**
 * Parses a generic OpenID Connect issuer (the `oidcAuthority` option). https is required,
 * except on a loopback host (127.0.0.1, localhost, [::1]), where plain http is accepted for
 * development and tests: nothing leaves the machine there. @internal
 */
export const parseOidc = (input: string): Either.Either<Authority, AuthorityError> =>
  Either.flatMap(parseUrl(input), (url) => {
    const secure = url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname))
    if (!secure) {
      return fail(
        withoutCredentials(url),
        "The OIDC authority must be an https URL (plain http only on 127.0.0.1, localhost or [::1])."
      )
    }
    if (url.username !== "" || url.password !== "")
      return fail(withoutCredentials(url), "The authority must not carry credentials.")
    const segments = segmentsOf(url)
    const isAdfs = segments[0]?.toLowerCase() === "adfs"
    return Either.right({
      ...build(url, segments, segments.length === 0 ? -1 : 0, "Oidc"),
      ...(isAdfs ? { kind: "Adfs" as const } : {})
    })
  })

/**
 * The authority of the client options: `authority` or `oidcAuthority` (not both), defaulting
 * to `https://login.microsoftonline.com/common`. @internal
 */
export const fromOptions = (options: {
  readonly authority?: string | undefined
  readonly oidcAuthority?: string | undefined
}): Either.Either<Authority, AuthorityError> => {
  if (options.authority !== undefined && options.oidcAuthority !== undefined) {
    return fail(options.oidcAuthority, "Pass either authority or oidcAuthority, not both.")
  }
  return options.oidcAuthority !== undefined
    ? parseOidc(options.oidcAuthority)
    : parse(options.authority ?? DEFAULT_AUTHORITY)
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * The same authority for another tenant (the `tenant` request override): the tenant segment
 * is replaced for every Entra form (tenants of any cloud, B2C, CIAM). AD FS and generic OIDC
 * authorities have no tenants. @internal
 */
export const withTenant = (
  authority: Authority,
  tenant: string | undefined
): Either.Either<Authority, InvalidRequest> => {
  if (tenant === undefined || tenant === authority.tenant) return Either.right(authority)
  if (typeof tenant !== "string" || !TENANT.test(tenant)) {
    return Either.left(
      new InvalidRequest({ field: "tenant", description: "a tenant is a tenant id (GUID) or a domain name" })
    )
  }
  if (authority.kind !== "Entra" || authority.tenantIndex < 0) {
    return Either.left(
      new InvalidRequest({ field: "tenant", description: "the tenant can only be overridden for Entra authorities" })
    )
  }
  const segments = authority.segments.map((s, i) => i === authority.tenantIndex ? tenant : s)
  return Either.right({ ...authority, segments, tenant, url: `${authority.origin}/${segments.join("/")}` })
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * A tenant named by a domain (`contoso.onmicrosoft.com`, a verified custom domain): not a
 * GUID, and with a dot. Entra's discovery answers it with endpoints that name the tenant's
 * GUID, and MSAL Python keys the cache by that GUID (MSAL Python `authority.py`: the tenant is
 * re-derived from the discovered `token_endpoint`'s first segment). @internal
 */
export const isDomainTenant = (tenant: string): boolean => !GUID.test(tenant) && tenant.includes(".")

/**
 * True when endpoints are known without any request: Entra tenants on well-known hosts, named
 * by GUID or as `common`, `organizations`, `consumers`. A domain-named tenant is discovered
 * (one GET, kept 24 hours by the HTTP cache) to learn its tenant id, as MSAL Python does.
 * @internal
 */
export const isWellKnown = (authority: Authority): boolean =>
  authority.form === "Aad" && WELL_KNOWN_HOSTS.has(authority.host) && !isDomainTenant(authority.tenant)

/** The hosts of the Microsoft cloud of a well-known host (its aliases), or just the host. @internal */
export const knownAliases = (host: string): ReadonlyArray<string> =>
  WELL_KNOWN_HOSTS.has(host) ? HOSTS_BY_CLOUD[CLOUD_OF_HOST.get(host) ?? ""] ?? [host] : [host]

/**
 * The realms to look a token up under, the written one first: `realm`, then the tenant as the
 * authority wrote it when that differs (case-insensitively), then, for a tenantless authority
 * (`common`, `organizations`, `consumers`), `others` (for user tokens, the account's or the
 * assertion's `tid`, under which msal-node writes them: msal-common
 * `ResponseHandler.generateCacheRecord` takes the ID token's `tid` as the realm). A cache
 * written by MSAL Python on Entra (the GUID of the discovered token endpoint), by msal-node
 * (app tokens under the configured tenant, user tokens under `tid`) or by an earlier version
 * of this library is found either way. AD FS and generic OIDC authorities have one realm.
 * @internal
 */
export const lookupRealms = (
  endpoints: Pick<Endpoints, "realm" | "realmAsWritten" | "form">,
  ...others: ReadonlyArray<string | undefined>
): ReadonlyArray<string> => {
  const realms = [endpoints.realm]
  if (endpoints.form === "Oidc" || endpoints.form === "Adfs") return realms
  // a `tid` stands in only for a tenantless authority: one that names a tenant never serves
  // another tenant's token
  const tenantless = TENANTLESS_REALMS.has(endpoints.realm.toLowerCase())
  for (const realm of [endpoints.realmAsWritten, ...(tenantless ? others : [])]) {
    if (realm !== undefined && realm.length > 0 && !realms.some((r) => r.toLowerCase() === realm.toLowerCase())) {
      realms.push(realm)
    }
  }
  return realms
}

/** Realms that name no tenant: the multi-tenant `common`, `organizations`, `consumers`. */
const TENANTLESS_REALMS: ReadonlySet<string> = new Set(["common", "organizations", "consumers"])

/** The realms of `lookupRealms` after the written one, or `undefined` when there are none. @internal */
export const otherRealms = (
  endpoints: Pick<Endpoints, "realm" | "realmAsWritten" | "form">,
  ...others: ReadonlyArray<string | undefined>
): ReadonlyArray<string> | undefined => {
  if (endpoints.realmAsWritten === undefined && others.every((o) => o === undefined)) return undefined
  const realms = lookupRealms(endpoints, ...others)
  return realms.length > 1 ? realms.slice(1) : undefined
}

/**
 * The cache realm of a generic OpenID Connect authority: its issuer (trailing slashes
 * trimmed), so that two issuers on one host (`/realms/a`, `/realms/b`) never share entries.
 * @internal
 */
export const oidcRealm = (issuer: string): string => issuer.replace(/\/+$/, "")

/**
 * Whether an issuer is Microsoft Entra's (a host of a Microsoft cloud, or `*.ciamlogin.com`):
 * an `oidcAuthority` that is really an Entra tenant (a CIAM custom URL domain) keeps the
 * tenant id as its realm, as MSAL Python writes it. @internal
 */
export const isEntraIssuer = (issuer: string): boolean => {
  try {
    const host = new URL(issuer).hostname.toLowerCase()
    return host.endsWith(CIAM_SUFFIX) || cloudOf(host) !== undefined
  } catch {
    return false
  }
}

/** Endpoints known without discovery, for Entra tenants on well-known hosts. @internal */
export const wellKnownEndpoints = (authority: Authority): Endpoints | undefined =>
  isWellKnown(authority)
    ? {
      tokenEndpoint: `${authority.origin}/${authority.tenant}/oauth2/v2.0/token`,
      authorizationEndpoint: `${authority.origin}/${authority.tenant}/oauth2/v2.0/authorize`,
      environment: authority.host,
      realm: authority.tenant,
      kind: authority.kind,
      form: authority.form,
      aliases: knownAliases(authority.host)
    }
    : undefined

/**
 * Whether instance discovery runs: for Entra tenants on hosts that are not well known, unless
 * `validateAuthority` or `instanceDiscovery` is false (MSAL Python's
 * `WELL_KNOWN_AUTHORITY_HOSTS`). B2C, CIAM, AD FS and
 * generic OIDC authorities are known to the developer and never checked. @internal
 */
export const needsInstanceDiscovery = (
  authority: Authority,
  switches: { readonly validateAuthority?: boolean | undefined; readonly instanceDiscovery?: boolean | undefined }
): boolean =>
  authority.form === "Aad" && !WELL_KNOWN_HOSTS.has(authority.host) &&
  switches.validateAuthority !== false && switches.instanceDiscovery !== false

/**
 * The instance discovery request: `api-version=1.1`, which answers both the tenant discovery
 * endpoint and the alias metadata in one GET. @internal
 */
export const instanceDiscoveryUrl = (authority: Authority): string => {
  const authorize = `https://${authority.host}/${authority.segments.join("/")}/oauth2/v2.0/authorize`
  return `https://${INSTANCE_DISCOVERY_HOST}/common/discovery/instance?api-version=1.1&authorization_endpoint=${
    encodeURIComponent(authorize)
  }`
}

/**
 * The OpenID Connect discovery URL (OpenID Connect Discovery 1.0 §4): the path plus `/v2.0` for Entra
 * forms, without it for AD FS; a generic OIDC issuer plus `/.well-known/openid-configuration`.
 * The query of the authority is kept. @internal
 */
export const openIdConfigurationUrl = (authority: Authority): string => {
  const path = authority.segments.length === 0 ? "" : `/${authority.segments.join("/")}`
  const version = authority.form === "Adfs" || authority.form === "Oidc" ? "" : "/v2.0"
  return `${authority.origin}${path}${version}/.well-known/openid-configuration${authority.query}`
}

/** The cloud of a Microsoft host, or of `{region}.{host}`; undefined for other hosts. @internal */
export const cloudOf = (host: string): string | undefined => {
  const lower = host.toLowerCase()
  const direct = CLOUD_OF_HOST.get(lower)
  if (direct !== undefined) return direct
  const dot = lower.indexOf(".")
  if (dot <= 0) return undefined
  return LABEL.test(lower.slice(0, dot)) ? CLOUD_OF_HOST.get(lower.slice(dot + 1)) : undefined
}

const hostOf = (url: URL): string => url.hostname.toLowerCase()

/**
 * The issuer check of a generic OIDC authority's discovery document, in the order of the
 * newest MSAL: exact match (trailing slash aside); same scheme and host; a CIAM issuer whose
 * tenant is the authority's; a known Microsoft host in the authority's cloud (any cloud for
 * a custom domain); a region-shaped prefix on the authority's host; a B2C host. @internal
 */
export const isValidIssuer = (issuer: string | undefined, authorityUrl: string): boolean => {
  if (issuer === undefined || issuer.length === 0) return false
  if (issuer.replace(/\/+$/, "") === authorityUrl.replace(/\/+$/, "")) return true
  let iss: URL
  let auth: URL
  try {
    iss = new URL(issuer)
    auth = new URL(authorityUrl)
  } catch {
    return false
  }
  const issuerHost = hostOf(iss)
  const authorityHost = hostOf(auth)
  if (issuerHost.length === 0) return false
  if (iss.protocol === auth.protocol && iss.host.toLowerCase() === auth.host.toLowerCase()) return true
  if (issuerHost.endsWith(CIAM_SUFFIX)) {
    const issuerTenant = issuerHost.slice(0, -CIAM_SUFFIX.length)
    const authorityTenant = segmentsOf(auth)[0]?.toLowerCase() ?? authorityHost.split(".")[0] ?? ""
    if (issuerTenant.length === 0 || issuerTenant !== authorityTenant) return false
    const path = iss.pathname.replace(/\/+$/, "").toLowerCase()
    return path === "" || path === `/${issuerTenant}` || path === `/${issuerTenant}/v2.0`
  }
  const issuerCloud = cloudOf(issuerHost)
  if (issuerCloud !== undefined && iss.protocol === "https:") {
    const authorityCloud = cloudOf(authorityHost)
    if (authorityCloud === undefined || authorityCloud === issuerCloud) return true
  }
  const dot = issuerHost.indexOf(".")
  if (dot > 0 && LABEL.test(issuerHost.slice(0, dot)) && issuerHost.slice(dot + 1) === authorityHost) return true
  return B2C_SUFFIXES.some((s) => issuerHost.endsWith(s))
}

/**
 * An endpoint of a discovery document is usable: https (or http on loopback when the
 * authority itself is plain-http loopback), and, when the authority is on a Microsoft host,
 * in the same Microsoft cloud. @internal
 */
export const endpointProblem = (authority: Authority, endpoint: string): string | undefined => {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    return "is not a URL"
  }
  const loopbackDev = authority.origin.startsWith("http:") && url.protocol === "http:" && isLoopback(url.hostname)
  if (url.protocol !== "https:" && !loopbackDev) return "is not an https URL"
  const authorityCloud = cloudOf(authority.host)
  if (authorityCloud !== undefined && cloudOf(hostOf(url)) !== authorityCloud) {
    return "is not in the authority's Microsoft cloud"
  }
  return undefined
}

/** The realm: the first path segment of the token endpoint, usually the tenant id (as MSAL Python derives it). @internal */
export const realmOf = (tokenEndpoint: string, fallback: string): string => {
  try {
    return segmentsOf(new URL(tokenEndpoint))[0] ?? fallback
  } catch {
    return fallback
  }
}
