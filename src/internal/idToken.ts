import * as Either from "effect/Either"
import { decodeJwtPayload as decodeJwt } from "./jwt.js"
import { IdTokenError } from "../MsalError.js"
import { cloudOf } from "./authority.js"

/** The claims of an ID token, as decoded (no signature check: the token came over TLS from the token endpoint). @internal */
export type IdTokenClaims = Readonly<Record<string, unknown>>

/** Tolerated difference between our clock and the authority's, in seconds (as MSAL). @internal */
export const CLOCK_SKEW_SECONDS = 120

/** Decodes the payload of an ID token; never echoes the token in the error. @internal */
export const decode = (token: string): Either.Either<IdTokenClaims, IdTokenError> => {
  try {
    return Either.right(decodeJwt(token) as IdTokenClaims)
  } catch {
    return Either.left(new IdTokenError({ reason: "Malformed", description: "the ID token is not a decodable JWT" }))
  }
}

const str = (claims: IdTokenClaims, name: string): string | undefined => {
  const v = claims[name]
  return typeof v === "string" ? v : undefined
}

const num = (claims: IdTokenClaims, name: string): number | undefined => {
  const v = claims[name]
  return typeof v === "number" && Number.isFinite(v) ? v : undefined
}

/** `aud` equals or contains the client id (what every MSAL checks on every ID token). @internal */
export const checkAudience = (claims: IdTokenClaims, clientId: string): Either.Either<void, IdTokenError> => {
  const aud = claims.aud
  const ok = aud === clientId || (Array.isArray(aud) && aud.includes(clientId))
  return ok ? Either.void : Either.left(
    new IdTokenError({ reason: "Audience", description: "the ID token was issued to another application (aud)" })
  )
}

/** What the issuer is checked against. @internal */
export interface IssuerContext {
  /** The authority's host, lower-cased. */
  readonly host: string
  /** The authority's origin (`https://host[:port]`). */
  readonly origin: string
  /** The authority's tenant segment (a GUID, a domain, `common`, `organizations`, `adfs`, …). */
  readonly tenant: string
  /**
   * The `issuer` of the authority's OpenID Connect discovery document, when one was read
   * (B2C, CIAM, AD FS, generic OIDC, domain-named tenants, hosts that are not well known).
   * Entra's multi-tenant documents write `{tenantid}` for the token's `tid`.
   */
  readonly issuer?: string | undefined
  /** The tenant id the discovered token endpoint names (the realm), when discovery ran. */
  readonly tenantId?: string | undefined
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** `https://{host}/{tid}/v2.0` (v2 ID tokens) or `https://{host}/{tid}/` (v1 tokens). */
interface IssuerShape {
  readonly host: string
  readonly version: "v2.0" | "v1"
}

/**
 * The issuers Entra really writes in ID tokens, by cloud (the cloud of the authority's host,
 * `authority.ts` `cloudOf`). An ID token from the v2.0 endpoint names the cloud's v2 issuer
 * whichever alias of the cloud the request went to.
 *
 * | cloud | issuer | source |
 * | --- | --- | --- |
 * | Public | `https://login.microsoftonline.com/{tid}/v2.0` | Microsoft Learn, "ID token claims reference" (`iss`, v2.0) |
 * | Public | `https://sts.windows.net/{tid}/` (v1 tokens) | Microsoft Learn, "ID token claims reference" (`iss`, v1.0) |
 * | US Government | `https://login.microsoftonline.us/{tid}/v2.0` | Microsoft Learn, "National clouds" (authentication endpoints) |
 * | China (21Vianet) | `https://login.partner.microsoftonline.cn/{tid}/v2.0`, also for authorities on `login.chinacloudapi.cn` | jenkinsci/azure-ad-plugin#679 (a real ID token's `iss`), Azure/azure-dev#5912 (the discovery `issuer` for a `login.chinacloudapi.cn` authority) |
 * | China (21Vianet) | `https://sts.chinacloudapi.cn/{tid}/` (v1 tokens) | MicrosoftDocs/azure-docs#123050 |
 *
 * Other clouds (`login.microsoftonline.de`, `login-us.microsoftonline.com`, the
 * `sovcloud-identity` hosts) have no public record of their issuer: a host of the same cloud
 * is accepted there, as before.
 */
const ENTRA_ISSUERS: Readonly<Record<string, ReadonlyArray<IssuerShape>>> = {
  Public: [{ host: "login.microsoftonline.com", version: "v2.0" }, { host: "sts.windows.net", version: "v1" }],
  UsGovernment: [{ host: "login.microsoftonline.us", version: "v2.0" }],
  China: [{ host: "login.partner.microsoftonline.cn", version: "v2.0" }, {
    host: "sts.chinacloudapi.cn",
    version: "v1"
  }]
}

/**
 * External ID (CIAM) tenants, on `{tenant}.ciamlogin.com` or on a custom URL domain, issue
 * `https://{tid}.ciamlogin.com/{tid}/v2.0`: the tenant id is the host's first label
 * (AzureAD/microsoft-authentication-library-for-js#8595; AzureAD/microsoft-authentication-library-for-android#2029:
 * custom URL domains keep the `ciamlogin.com` issuer).
 */
const CIAM_ISSUER_SUFFIX = ".ciamlogin.com"

const trimSlash = (s: string): string => s.replace(/\/+$/, "")

const segmentsOf = (url: URL): Array<string> => url.pathname.split("/").filter((s) => s.length > 0)

/** The issuer's tenant segment, when `iss` has an Entra shape on an Entra issuer host. */
const entraIssuerTenant = (
  url: URL,
  cloud: string | undefined
): { readonly tenant: string | undefined } | undefined => {
  const host = url.hostname.toLowerCase()
  const segments = segmentsOf(url)
  if (host.endsWith(CIAM_ISSUER_SUFFIX)) return { tenant: segments[0] }
  const shapes = cloud === undefined ? undefined : ENTRA_ISSUERS[cloud]
  const shape = shapes?.find((s) => s.host === host)
  if (shape === undefined) return undefined
  const okShape = shape.version === "v2.0"
    ? segments.length === 2 && segments[1] === "v2.0"
    : segments.length === 1
  return okShape ? { tenant: segments[0] } : { tenant: undefined }
}

/**
 * Whether `iss` is an issuer the authority really uses:
 * - when the authority's discovery document named an `issuer`, `iss` is that issuer (OpenID
 *   Connect Discovery 1.0 §4.3: they must be identical), `{tenantid}` standing for `tid`
 *   (Entra's multi-tenant documents); this covers B2C (also on custom domains), CIAM (also on
 *   custom URL domains), AD FS and generic OIDC providers;
 * - otherwise (well-known Entra hosts, no discovery) `iss` is one of the cloud's issuers
 *   (`ENTRA_ISSUERS`), a `ciamlogin.com` issuer for a CIAM authority, or on the authority's own
 *   host;
 * - for Entra-shaped issuers, the issuer's tenant is the token's `tid`, and the authority's
 *   tenant id when the authority names one (by GUID, or by a domain discovery resolved).
 * @internal
 */
export const checkIssuer = (claims: IdTokenClaims, authority: IssuerContext): Either.Either<void, IdTokenError> => {
  const bad = (description: string) => Either.left(new IdTokenError({ reason: "Issuer", description }))
  const iss = str(claims, "iss")
  if (iss === undefined) return bad("the ID token has no issuer (iss)")
  let url: URL
  try {
    url = new URL(iss)
  } catch {
    return bad("the ID token's issuer (iss) is not a URL")
  }
  if (url.protocol !== "https:" && url.origin !== authority.origin)
    return bad("the ID token's issuer (iss) is not https")
  const tid = str(claims, "tid")
  const host = url.hostname.toLowerCase()
  const cloud = cloudOf(authority.host)
  const discovered = authority.issuer !== undefined && authority.issuer.length > 0 ? authority.issuer : undefined
  const template = discovered?.toLowerCase().includes("{tenantid}") === true && tid !== undefined
    ? discovered.replace(/\{tenantid\}/gi, tid)
    : discovered
  // an Entra authority of a known cloud also takes the cloud's other issuers (v1, aliases)
  if (discovered !== undefined && (cloud === undefined || ENTRA_ISSUERS[cloud] === undefined)) {
    if (template!.toLowerCase().includes("{tenantid}")) {
      return bad("the ID token has no tenant (tid) for the authority's multi-tenant issuer")
    }
    if (trimSlash(template!) !== trimSlash(iss))
      return bad(`the ID token was issued by ${url.origin}, not by the authority's issuer`)
  } else if (template === undefined || trimSlash(template) !== trimSlash(iss)) {
    const known = entraIssuerTenant(url, cloud)
    const sameHost = host === authority.host
    const ciam = host.endsWith(CIAM_ISSUER_SUFFIX) && authority.host.endsWith(CIAM_ISSUER_SUFFIX)
    const untabledCloud = cloud !== undefined && ENTRA_ISSUERS[cloud] === undefined && cloudOf(host) === cloud
    const inTable = known !== undefined && !host.endsWith(CIAM_ISSUER_SUFFIX)
    if (!(sameHost || ciam || inTable || untabledCloud)) {
      return bad(`the ID token was issued by ${url.origin}, not by an issuer of the authority's cloud`)
    }
    if (inTable && known.tenant === undefined)
      return bad("the ID token's issuer (iss) does not have the shape of its cloud's issuers")
  }
  const entra = entraIssuerTenant(url, cloudOf(host))
  if (entra !== undefined || (cloud !== undefined && cloudOf(host) === cloud)) {
    const issTenant = entra?.tenant ?? segmentsOf(url)[0]
    if (tid !== undefined && issTenant !== tid) return bad("the ID token's issuer (iss) does not name its tenant (tid)")
    const expected = GUID.test(authority.tenant) ? authority.tenant : authority.tenantId
    if (expected !== undefined && GUID.test(expected) && issTenant?.toLowerCase() !== expected.toLowerCase()) {
      return bad("the ID token was issued by another tenant than the authority's")
    }
  }
  return Either.void
}

/** `exp` and `nbf` against now, with clock skew. @internal */
export const checkLifetime = (claims: IdTokenClaims, nowSeconds: number): Either.Either<void, IdTokenError> => {
  const exp = num(claims, "exp")
  if (exp === undefined)
    return Either.left(new IdTokenError({ reason: "Malformed", description: "the ID token has no exp" }))
  if (exp + CLOCK_SKEW_SECONDS < nowSeconds) {
    return Either.left(new IdTokenError({ reason: "Expired", description: "the ID token has expired (exp)" }))
  }
  const nbf = num(claims, "nbf")
  if (nbf !== undefined && nbf - CLOCK_SKEW_SECONDS > nowSeconds) {
    return Either.left(new IdTokenError({ reason: "NotYetValid", description: "the ID token is not valid yet (nbf)" }))
  }
  return Either.void
}

/** What the sign-in flows check on top of the audience. @internal */
export interface Expectations {
  readonly clientId: string
  readonly issuer: IssuerContext
  readonly nowSeconds: number
}

/** Audience, issuer and lifetime. @internal */
export const validate = (claims: IdTokenClaims, expect: Expectations): Either.Either<void, IdTokenError> =>
  Either.flatMap(
    checkAudience(claims, expect.clientId),
    () => Either.flatMap(checkIssuer(claims, expect.issuer), () => checkLifetime(claims, expect.nowSeconds))
  )

/** `auth_time` as a number, or undefined when absent; malformed values are an error. @internal */
export const authTime = (claims: IdTokenClaims): Either.Either<number | undefined, IdTokenError> => {
  const v = claims.auth_time
  if (v === undefined) return Either.right(undefined)
  return typeof v === "number" && Number.isFinite(v)
    ? Either.right(v)
    : Either.left(new IdTokenError({ reason: "AuthTime", description: "the ID token's auth_time is not a number" }))
}

/** The claim as a string, when it is one. @internal */
export const stringClaim = (claims: IdTokenClaims | undefined, name: string): string | undefined =>
  claims === undefined ? undefined : str(claims, name)
