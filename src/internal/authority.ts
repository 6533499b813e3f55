import { Either } from "effect"
import type { AuthorityKind } from "../CredentialSigner.js"
import { AuthorityError, InvalidRequest } from "../MsalError.js"

/** The default authority of the seed. @internal */
export const DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common"

/** Entra hosts whose endpoints are known without a discovery request. @internal */
export const WELL_KNOWN_HOSTS: ReadonlySet<string> = new Set([
  "login.microsoftonline.com",
  "login.microsoftonline.us",
  "login-us.microsoftonline.com",
  "login.chinacloudapi.cn",
  "login.microsoft.com",
  "login.windows.net",
  "sts.windows.net"
])

/** A parsed authority. @internal */
export interface Authority {
  /** `https://host[:port]/tenant`, as given (without extra segments, query or fragment). */
  readonly url: string
  readonly origin: string
  /** The lower-cased host name: the cache `environment`. */
  readonly host: string
  readonly tenant: string
  readonly kind: AuthorityKind
}

/** The endpoints of one authority and tenant. @internal */
export interface Endpoints {
  readonly tokenEndpoint: string
  readonly authorizationEndpoint: string
  /** The cache `environment`: the central host. */
  readonly environment: string
  /** The cache `realm`: the tenant. */
  readonly realm: string
  readonly kind: AuthorityKind
}

const ACCEPTED =
  "An authority is an https URL with a tenant segment, such as https://login.microsoftonline.com/<tenant id or domain>, " +
  "https://login.microsoftonline.com/organizations or https://<tenant>.ciamlogin.com"

/** @internal */
export const parse = (input: string): Either.Either<Authority, AuthorityError> => {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    return Either.left(new AuthorityError({ authority: input, description: `Not a URL. ${ACCEPTED}` }))
  }
  if (url.protocol !== "https:") {
    return Either.left(new AuthorityError({ authority: input, description: `The authority must use https. ${ACCEPTED}` }))
  }
  const host = url.hostname.toLowerCase()
  const segments = url.pathname.split("/").filter((s) => s.length > 0)
  let tenant = segments[0]
  if (tenant === undefined && host.endsWith(".ciamlogin.com")) {
    tenant = `${host.slice(0, -".ciamlogin.com".length)}.onmicrosoft.com`
  }
  if (tenant === undefined) {
    return Either.left(new AuthorityError({ authority: input, description: `The authority has no tenant segment. ${ACCEPTED}` }))
  }
  const kind: AuthorityKind = tenant.toLowerCase() === "adfs" && !host.endsWith(".ciamlogin.com") ? "Adfs" : "Entra"
  return Either.right({ url: `${url.origin}/${tenant}`, origin: url.origin, host, tenant, kind })
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/** The same authority for another tenant (the `tenant` request override). @internal */
export const withTenant = (
  authority: Authority,
  tenant: string | undefined
): Either.Either<Authority, InvalidRequest> => {
  if (tenant === undefined || tenant === authority.tenant) return Either.right(authority)
  if (!TENANT.test(tenant)) {
    return Either.left(
      new InvalidRequest({ field: "tenant", description: "a tenant is a tenant id (GUID) or a domain name" })
    )
  }
  if (authority.kind !== "Entra") {
    return Either.left(
      new InvalidRequest({ field: "tenant", description: "the tenant can only be overridden for Entra authorities" })
    )
  }
  return Either.right({ ...authority, url: `${authority.origin}/${tenant}`, tenant })
}

/** Endpoints known without discovery, for the well-known Entra hosts. @internal */
export const wellKnownEndpoints = (authority: Authority): Either.Either<Endpoints, AuthorityError> =>
  WELL_KNOWN_HOSTS.has(authority.host) && authority.kind === "Entra"
    ? Either.right({
      tokenEndpoint: `${authority.url}/oauth2/v2.0/token`,
      authorizationEndpoint: `${authority.url}/oauth2/v2.0/authorize`,
      environment: authority.host,
      realm: authority.tenant,
      kind: authority.kind
    })
    : Either.left(
      new AuthorityError({
        authority: authority.url,
        description: "This host is not a well-known Entra host, and authority discovery is not supported yet"
      })
    )
