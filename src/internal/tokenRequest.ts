import { HttpClientRequest } from "@effect/platform"
import { Redacted } from "effect"
import type { ClientAuthFields } from "../CredentialSigner.js"
import { SKU, VERSION } from "./version.js"

/** Telemetry API ids (MSAL Python's `ClientApplication.ACQUIRE_TOKEN_*_ID`). @internal */
export const ApiId = {
  acquireTokenForClient: 730,
  acquireTokenOnBehalfOf: 523,
  acquireTokenByAuthorizationCode: 832,
  acquireTokenSilent: 84,
  acquireTokenByRefreshToken: 85,
  acquireTokenByUsernamePassword: 301
} as const

/** Why a request goes to the network: 0 not silent, 1 forced or claims, 2 absent, 3 expired, 4 aging. @internal */
export type RefreshReason = 0 | 1 | 2 | 3 | 4

/** The headers every token request of one client carries. @internal */
export const libraryHeaders = (options: {
  readonly appName?: string | undefined
  readonly appVersion?: string | undefined
}): Readonly<Record<string, string>> => ({
  "x-client-sku": SKU,
  "x-client-ver": VERSION,
  "x-client-os": process.platform,
  "x-ms-lib-capability": "retry-after, h429",
  ...(options.appName === undefined ? {} : { "x-app-name": options.appName }),
  ...(options.appVersion === undefined ? {} : { "x-app-ver": options.appVersion })
})

/** One token request, before it is turned into HTTP. @internal */
export interface TokenRequest {
  readonly endpoint: string
  readonly clientId: string
  /** Grant fields (`grant_type`, `scope`, `claims`, …); undefined values are left out. */
  readonly grant: Readonly<Record<string, string | Redacted.Redacted<string> | undefined>>
  readonly auth: ClientAuthFields
  readonly headers: Readonly<Record<string, string>>
  readonly correlationId: string
  readonly apiId: number
  readonly reason: RefreshReason
  /**
   * Whether the request may be sent again after the authority may have seen it (timeouts,
   * 5xx). False for authorization codes and refresh tokens, which are redeemed once.
   */
  readonly idempotent?: boolean | undefined
}

/**
 * The form of a token request: `client_id`, the grant fields, `client_info=1`, then client
 * authentication. Secrets stay `Redacted` until here.
 * @internal
 */
export const formOf = (request: TokenRequest): ReadonlyArray<readonly [string, string]> => {
  const body: Array<readonly [string, string]> = [["client_id", request.clientId]]
  for (const [k, v] of Object.entries(request.grant)) {
    if (v !== undefined) body.push([k, Redacted.isRedacted(v) ? Redacted.value(v) : v])
  }
  body.push(["client_info", "1"])
  for (const [k, v] of Object.entries(request.auth)) body.push([k, Redacted.value(v)])
  return body
}

/** The HTTP request for a token request: a form POST with the library's headers. @internal */
export const toHttp = (
  request: TokenRequest,
  form: ReadonlyArray<readonly [string, string]> = formOf(request)
): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.post(request.endpoint).pipe(
    HttpClientRequest.setHeaders(request.headers),
    HttpClientRequest.setHeaders({
      accept: "application/json",
      "client-request-id": request.correlationId,
      "x-client-current-telemetry": `4|${request.apiId},${request.reason}|`
    }),
    HttpClientRequest.bodyUrlParams(form)
  )
