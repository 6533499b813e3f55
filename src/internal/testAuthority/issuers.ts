import * as Crypto from "node:crypto"
import type { Settings } from "../../TestAuthority.js"
import { cloudOf } from "../authority.js"
import { usersOf } from "./directory.js"

/**
 * The issuers the test authority writes, as the real service does (each fact's source is in
 * `src/internal/idToken.ts` and docs/clouds.md): the cloud's v2 issuer host whatever alias
 * was asked (`login.chinacloudapi.cn` → `login.partner.microsoftonline.cn`), the tenant id
 * as a host label for External ID (CIAM) also on custom URL domains, the requested host for
 * B2C (also on custom domains), `https://{host}/adfs` for AD FS.
 */
const V2_ISSUER_HOST: Readonly<Record<string, string>> = {
  Public: "login.microsoftonline.com",
  UsGovernment: "login.microsoftonline.us",
  China: "login.partner.microsoftonline.cn"
}

/** The personal-account (MSA) tenant: the `tid` Entra gives `consumers` sign-ins. */
export const CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const B2C_SUFFIXES = [".b2clogin.com", ".b2clogin.cn", ".b2clogin.us", ".b2clogin.de"]

/** What kind of authority a request path on a host is for. @internal */
export type Kind = "Entra" | "B2C" | "Ciam" | "Adfs"

/** The kind of authority of a host and its tenant path (segments before `oauth2` or `v2.0`). @internal */
export const kindOf = (host: string, tenantPath: ReadonlyArray<string>, settings: Settings): Kind => {
  const lower = host.toLowerCase()
  if (lower.endsWith(".ciamlogin.com") || (settings.ciamCustomDomains ?? []).some((d) => d.toLowerCase() === lower)) {
    return "Ciam"
  }
  if (tenantPath[0]?.toLowerCase() === "adfs") return "Adfs"
  if (
    B2C_SUFFIXES.some((s) => lower.endsWith(s)) || tenantPath[0]?.toLowerCase() === "tfp" ||
    (tenantPath.length === 2 && tenantPath[1]!.toLowerCase().startsWith("b2c_"))
  ) return "B2C"
  return "Entra"
}

/** A stable tenant id for a domain no user of the directory has (Entra answers every tenant with its GUID). */
const derivedTenantId = (domain: string): string => {
  const h = Crypto.createHash("sha256").update(`tenant:${domain.toLowerCase()}`).digest("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/**
 * The tenant id Entra's discovery answers for a tenant segment: a GUID as it is; a domain
 * name (it has a dot) as the GUID of the tenant that owns it (`Settings.tenantIds`, else the
 * tenant of the users whose names end with `@domain`, else a stable GUID derived from the
 * name); `common`, `organizations` and other names (which real Entra refuses) as they are.
 * @internal
 */
export const tenantIdOf = (tenant: string, settings: Settings): string => {
  const configured = settings.tenantIds?.[tenant]
  if (configured !== undefined) return configured
  if (GUID.test(tenant) || !tenant.includes(".")) return tenant
  const owner = usersOf(settings).find((u) => u.username.toLowerCase().endsWith(`@${tenant.toLowerCase()}`))
  return owner?.tenantId ?? derivedTenantId(tenant)
}

/**
 * The issuer of an authority's ID tokens and discovery document. `tenantId` is the token's
 * `tid`, or `{tenantid}` for Entra's multi-tenant documents (`common`, `organizations`).
 * @internal
 */
export const issuerOf = (origin: string, kind: Kind, tenantId: string, settings: Settings): string => {
  if (settings.issuer !== undefined) return settings.issuer.replace(/\{tenantid\}/gi, tenantId)
  const host = new URL(origin).hostname.toLowerCase()
  switch (kind) {
    case "Adfs":
      return `${origin}/adfs`
    case "B2C":
      return `${origin}/${tenantId}/v2.0/`
    case "Ciam":
      return `https://${tenantId}.ciamlogin.com/${tenantId}/v2.0`
    case "Entra": {
      const v2 = V2_ISSUER_HOST[cloudOf(host) ?? ""]
      return v2 === undefined ? `${origin}/${tenantId}/v2.0` : `https://${v2}/${tenantId}/v2.0`
    }
  }
}

/** The kind of authority whose token endpoint this is; `undefined` for a generic OIDC provider. @internal */
export const kindOfTokenEndpoint = (tokenEndpoint: string, settings: Settings): Kind | undefined => {
  const url = new URL(tokenEndpoint)
  const segments = url.pathname.split("/").filter((s) => s.length > 0)
  if (/\/oauth2\/v2\.0\/token\/?$/.test(url.pathname)) return kindOf(url.hostname, segments.slice(0, -3), settings)
  return segments[0]?.toLowerCase() === "adfs" ? "Adfs" : undefined
}

/**
 * The issuer of an ID token answered at a token endpoint: Entra, B2C and CIAM endpoints end
 * in `/oauth2/v2.0/token`, AD FS's in `/adfs/oauth2/token`; any other path is a generic OIDC
 * provider whose issuer is the path before `/token` (as its discovery document says).
 * @internal
 */
export const idTokenIssuer = (tokenEndpoint: string, tid: string, settings: Settings): string => {
  const url = new URL(tokenEndpoint)
  const segments = url.pathname.split("/").filter((s) => s.length > 0)
  const entra = /\/oauth2\/v2\.0\/token\/?$/.test(url.pathname)
  const adfs = segments[0]?.toLowerCase() === "adfs"
  if (!entra && !adfs) {
    if (settings.issuer !== undefined) return settings.issuer.replace(/\{tenantid\}/gi, tid)
    const prefix = url.pathname.replace(/\/token\/?$/, "").replace(/\/+$/, "")
    return `${url.origin}${prefix}`
  }
  const tenantPath = entra ? segments.slice(0, -3) : segments.slice(0, 1)
  return issuerOf(url.origin, kindOf(url.hostname, tenantPath, settings), tid, settings)
}
