import type { AliasGroup, OutgoingResponse, ScriptedResponse, Settings } from "../../TestAuthority.js"
import * as Issuers from "./issuers.js"
import { json, oauthError } from "./responses.js"

/** The alias groups instance discovery answers by default (Entra's public and sovereign clouds). @internal */
export const DEFAULT_ALIAS_GROUPS: ReadonlyArray<AliasGroup> = [
  {
    preferredNetwork: "login.microsoftonline.com",
    preferredCache: "login.windows.net",
    aliases: ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]
  },
  {
    preferredNetwork: "login.partner.microsoftonline.cn",
    preferredCache: "login.partner.microsoftonline.cn",
    aliases: ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"]
  },
  {
    preferredNetwork: "login.microsoftonline.us",
    preferredCache: "login.microsoftonline.us",
    aliases: ["login.microsoftonline.us", "login.usgovcloudapi.net"]
  }
]

/** A token request: a POST to a path ending in `/token` (Entra, B2C, AD FS, generic OIDC). @internal */
export const isTokenRequest = (method: string, pathname: string): boolean =>
  method === "POST" && /\/token\/?$/.test(pathname)

/** The tenant of a token endpoint path: its first segment, the one after `/tfp/` for B2C. @internal */
export const tenantOf = (segments: ReadonlyArray<string>): string =>
  (segments[0]?.toLowerCase() === "tfp" ? segments[1] : segments[0]) ?? ""

/**
 * An answer decided before routing: a broken connection for an unreachable host, or the
 * scripted answer of a GET (by `host/path`, then by path). @internal
 */
export const preRoute = (method: string, url: URL, settings: Settings): ScriptedResponse | undefined => {
  const host = url.hostname.toLowerCase()
  if ((settings.unreachableHosts ?? []).some((h) => h.toLowerCase() === host)) {
    return { status: 0, fault: "disconnect" }
  }
  if (method !== "GET" || settings.getResponses === undefined) return undefined
  return settings.getResponses[`${url.host}${url.pathname}`] ?? settings.getResponses[url.pathname]
}

const WELL_KNOWN = "/.well-known/openid-configuration"
const V2_WELL_KNOWN = `/v2.0${WELL_KNOWN}`

const openIdDocument = (origin: string, tenantPath: ReadonlyArray<string>, issuer: string, adfs: boolean) => {
  const base = `${origin}/${tenantPath.join("/")}`
  return adfs
    ? {
      issuer,
      token_endpoint: `${base}/oauth2/token/`,
      authorization_endpoint: `${base}/oauth2/authorize/`,
      jwks_uri: `${base}/discovery/keys`,
      response_types_supported: ["code", "id_token", "code id_token"],
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"]
    }
    : {
      issuer,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"]
    }
}

/** `GET …/v2.0/.well-known/openid-configuration` (Entra, B2C, CIAM) and `…/.well-known/openid-configuration` (AD FS, OIDC). */
const openIdConfiguration = (url: URL, settings: Settings): OutgoingResponse | undefined => {
  const path = url.pathname
  const entra = path.endsWith(V2_WELL_KNOWN)
  if (!entra && !path.endsWith(WELL_KNOWN)) return undefined
  const prefix = path.slice(0, -(entra ? V2_WELL_KNOWN : WELL_KNOWN).length).split("/").filter((s) => s.length > 0)
  const origin = url.origin
  if (entra) {
    const segments = prefix[0]?.toLowerCase() === "tfp" ? prefix.slice(1) : prefix
    const tenant = segments[0]
    if (tenant === undefined)
      return json(400, { error: "invalid_tenant", error_description: "AADSTS90002: Tenant '' not found." })
    // Entra answers a domain-named tenant with its GUID endpoints (the tenant id is read from
    // a domain's discovery document this way: pnp/cli-microsoft365#998 takes the token
    // endpoint's first segment; MSAL Python 1.21 `authority.py` re-derives its tenant from the
    // token endpoint, "Usually a GUID"), and names the tenant id in the issuer (`{tenantid}`
    // for the multi-tenant `common` and `organizations`, recorded in panva/wellknown; the
    // personal-account tenant for `consumers`, openiddict/openiddict-core#1764).
    const tenantId = Issuers.tenantIdOf(tenant, settings)
    const lower = tenantId.toLowerCase()
    const issuerTenant = lower === "common" || lower === "organizations"
      ? "{tenantid}"
      : lower === "consumers"
      ? Issuers.CONSUMERS_TENANT_ID
      : tenantId
    const tenantPath = [tenantId, ...segments.slice(1)]
    const issuer = Issuers.issuerOf(origin, Issuers.kindOf(url.hostname, prefix, settings), issuerTenant, settings)
    return json(200, openIdDocument(origin, tenantPath, issuer, false))
  }
  const adfs = prefix.length === 1 && prefix[0]!.toLowerCase() === "adfs"
  const issuer = settings.issuer ?? `${origin}${prefix.length === 0 ? "" : `/${prefix.join("/")}`}`
  if (adfs) return json(200, openIdDocument(origin, prefix, issuer, true))
  const base = issuer.replace(/\/+$/, "")
  return json(200, {
    issuer,
    token_endpoint: `${origin}${prefix.length === 0 ? "" : `/${prefix.join("/")}`}/token`,
    authorization_endpoint: `${origin}${prefix.length === 0 ? "" : `/${prefix.join("/")}`}/authorize`,
    jwks_uri: `${base}/jwks`,
    response_types_supported: ["code"],
    grant_types_supported: ["client_credentials", "authorization_code", "refresh_token"]
  })
}

/** `GET /common/discovery/instance`: Entra's instance discovery (any `api-version`). */
const instanceDiscovery = (
  url: URL,
  settings: Settings,
  correlationId: string,
  nowMillis: number
): OutgoingResponse => {
  const authorize = url.searchParams.get("authorization_endpoint") ?? ""
  let target: URL
  try {
    target = new URL(authorize)
  } catch {
    return oauthError(
      400,
      "invalid_request",
      90014,
      "The required field 'authorization_endpoint' is missing.",
      correlationId,
      nowMillis
    )
  }
  const host = target.hostname.toLowerCase()
  if ((settings.invalidInstances ?? []).some((h) => h.toLowerCase() === host)) {
    return oauthError(400, "invalid_instance", 50049, "Unknown or invalid instance.", correlationId, nowMillis)
  }
  const tenantPath = target.pathname.replace(/\/oauth2(\/v2\.0)?\/authorize\/?$/, "")
  const groups = settings.aliasGroups ?? DEFAULT_ALIAS_GROUPS
  const known = groups.some((g) => g.aliases.some((a) => a.toLowerCase() === host))
  const metadata = [...groups, ...(known ? [] : [{ preferredNetwork: host, preferredCache: host, aliases: [host] }])]
  return json(200, {
    tenant_discovery_endpoint: `https://${target.host}${tenantPath}/v2.0${WELL_KNOWN}`,
    "api-version": url.searchParams.get("api-version") ?? "1.1",
    metadata: metadata.map((g) => ({
      preferred_network: g.preferredNetwork,
      preferred_cache: g.preferredCache,
      aliases: g.aliases
    }))
  })
}

/** `GET /metadata/instance/compute`: the Azure instance metadata service. */
const imds = (headers: Readonly<Record<string, string>>, settings: Settings): OutgoingResponse => {
  if ((headers.metadata ?? "").toLowerCase() !== "true") {
    return json(400, { error: "Bad request. Required metadata header not specified" })
  }
  if (settings.imdsLocation === undefined) return { status: 0, headers: {}, body: "", fault: "disconnect" }
  return json(200, {
    azEnvironment: "AzurePublicCloud",
    location: settings.imdsLocation,
    name: "test-vm",
    resourceGroupName: "test-rg",
    subscriptionId: "00000000-0000-0000-0000-000000000000",
    vmId: "11111111-1111-1111-1111-111111111111",
    vmSize: "Standard_D2s_v5",
    zone: "1"
  })
}

/** The discovery routes (GET only): OIDC metadata, instance discovery, IMDS. @internal */
export const route = (
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  settings: Settings,
  correlationId: string,
  nowMillis: number
): OutgoingResponse | undefined => {
  if (method !== "GET") return undefined
  if (url.pathname === "/common/discovery/instance") return instanceDiscovery(url, settings, correlationId, nowMillis)
  if (url.pathname === "/metadata/instance/compute") return imds(headers, settings)
  return openIdConfiguration(url, settings)
}
