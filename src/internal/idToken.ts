import { Either } from "effect"
import { decodeJwt } from "jose"
import { IdTokenError } from "../MsalError.js"

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
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Entra hosts by cloud: an ID token may name any host of the authority's cloud as its issuer. */
const CLOUDS: ReadonlyMap<string, string> = new Map([
  ["login.microsoftonline.com", "public"],
  ["login.windows.net", "public"],
  ["login.microsoft.com", "public"],
  ["sts.windows.net", "public"],
  ["login.microsoftonline.us", "usgov"],
  ["login-us.microsoftonline.com", "usgov"],
  ["login.chinacloudapi.cn", "china"],
  ["sts.chinacloudapi.cn", "china"]
])

/**
 * Whether `iss` is consistent with the authority: an https URL on the authority's host (or a
 * host of the same Entra cloud, or another `*.ciamlogin.com` host for CIAM); for Entra, its
 * tenant segment equals the token's `tid` and, when the authority names a tenant by GUID,
 * that GUID.
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
  const host = url.hostname.toLowerCase()
  const cloud = CLOUDS.get(host)
  const sameCloud = host === authority.host ||
    (cloud !== undefined && cloud === CLOUDS.get(authority.host)) ||
    (host.endsWith(".ciamlogin.com") && authority.host.endsWith(".ciamlogin.com"))
  if (url.protocol !== "https:" && url.origin !== authority.origin) return bad("the ID token's issuer (iss) is not https")
  if (!sameCloud) return bad(`the ID token was issued by ${url.origin}, not by the authority's host`)
  if (cloud !== undefined) {
    const issTenant = url.pathname.split("/").filter((s) => s.length > 0)[0]
    const tid = str(claims, "tid")
    if (tid !== undefined && issTenant !== tid) return bad("the ID token's issuer (iss) does not name its tenant (tid)")
    if (GUID.test(authority.tenant) && issTenant?.toLowerCase() !== authority.tenant.toLowerCase()) {
      return bad("the ID token was issued by another tenant than the authority's")
    }
  }
  return Either.void
}

/** `exp` and `nbf` against now, with clock skew. @internal */
export const checkLifetime = (claims: IdTokenClaims, nowSeconds: number): Either.Either<void, IdTokenError> => {
  const exp = num(claims, "exp")
  if (exp === undefined) return Either.left(new IdTokenError({ reason: "Malformed", description: "the ID token has no exp" }))
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

