/**
 * Authority URLs: the cloud hosts, a builder (MSAL Python's `AuthorityBuilder`), and a parser
 * that tells which form an authority is and where its metadata lives.
 *
 * Accepted forms of the `authority` option (https only):
 *
 * | form | example |
 * | --- | --- |
 * | Entra tenant | `https://login.microsoftonline.com/<tenant id or domain>`, `/common`, `/organizations`, `/consumers` |
 * | other clouds | `https://login.microsoftonline.us/<tenant>`, `https://login.chinacloudapi.cn/<tenant>` |
 * | B2C | `https://<tenant>.b2clogin.com/<tenant>.onmicrosoft.com/<policy>`, or with `/tfp/` before the tenant |
 * | CIAM (External ID) | `https://<tenant>.ciamlogin.com` or `https://<tenant>.ciamlogin.com/<tenant>` |
 * | AD FS | `https://<adfs host>/adfs` |
 *
 * Any other OpenID Connect provider goes in the `oidcAuthority` option instead.
 *
 * Well-known Entra hosts need no request at all. Other hosts are checked with Microsoft's
 * instance discovery (unless `validateAuthority` or `instanceDiscovery` is false); B2C, CIAM,
 * AD FS and generic OIDC authorities read their OpenID Connect metadata at the first request.
 *
 * @example
 * ```ts
 * import { Authority, ConfidentialClient } from "effect-msal"
 *
 * const options: ConfidentialClient.Options = {
 *   clientId: "11111111-2222-3333-4444-555555555555",
 *   authority: Authority.build(Authority.AzureUsGovernment, "contoso.onmicrosoft.com")
 * }
 * ```
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type { AuthorityError } from "./MsalError.js"
import * as internal from "./internal/authority.js"

/**
 * The Azure public cloud's authority host.
 *
 * @since 0.1.0
 * @category constants
 */
export const AzurePublic = "login.microsoftonline.com"

/**
 * The Azure US Government cloud's authority host.
 *
 * @since 0.1.0
 * @category constants
 */
export const AzureUsGovernment = "login.microsoftonline.us"

/**
 * The Azure China (21Vianet) cloud's authority host.
 *
 * @since 0.1.0
 * @category constants
 */
export const AzureChina = "login.chinacloudapi.cn"

/**
 * Entra hosts whose endpoints are known without any request (all aliases of all clouds).
 *
 * @since 0.1.0
 * @category constants
 */
export const wellKnownHosts: ReadonlySet<string> = internal.WELL_KNOWN_HOSTS

/**
 * An authority URL from a host (a cloud constant, or any host, with or without `https://`)
 * and a tenant: `https://<host>/<tenant>`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const build = (instance: string, tenant: string): string =>
  `https://${instance.replace(/^https:\/\//i, "").replace(/\/+$/, "")}/${tenant.replace(/^\/+|\/+$/g, "")}`

/**
 * The form of an authority: an Entra tenant (any cloud), B2C, CIAM, AD FS, or a generic
 * OpenID Connect provider.
 *
 * @since 0.1.0
 * @category models
 */
export type Form = "Aad" | "B2C" | "Ciam" | "Adfs" | "Oidc"

/**
 * What an authority URL says before any request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Info {
  /** The canonical URL (no query, no trailing slash). */
  readonly url: string
  readonly host: string
  /** The tenant as given (a path-less CIAM authority gets `<subdomain>.onmicrosoft.com`). */
  readonly tenant: string
  readonly form: Form
  /** The OpenID Connect metadata URL (not requested for well-known Entra hosts). */
  readonly openIdConfigurationUrl: string
  /** Token and authorization endpoints, when known without discovery. */
  readonly endpoints?: { readonly token: string; readonly authorization: string } | undefined
}

const infoOf = (a: internal.Authority): Info => {
  const known = internal.wellKnownEndpoints(a)
  return {
    url: a.url,
    host: a.host,
    tenant: a.tenant,
    form: a.form,
    openIdConfigurationUrl: internal.openIdConfigurationUrl(a),
    ...(known === undefined
      ? {}
      : { endpoints: { token: known.tokenEndpoint, authorization: known.authorizationEndpoint } })
  }
}

/**
 * Parses an `authority` option value, or an `oidcAuthority` one with `{ oidc: true }`. A
 * malformed URL, a non-https URL or a host without a tenant segment is an `AuthorityError`
 * that lists the accepted forms.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (
  url: string,
  options?: { readonly oidc?: boolean | undefined }
): Either.Either<Info, AuthorityError> =>
  Either.map(options?.oidc === true ? internal.parseOidc(url) : internal.parse(url), infoOf)
