/**
 * A managed identity as a confidential client's credential (workload identity federation):
 * the client assertion is a managed-identity token for the token-exchange audience, cached
 * and reused until it ages like any managed-identity token.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Scope from "effect/Scope"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { ManagedIdentityCredential } from "../../ClientCredential.js"
import type { AuthContext, Service } from "../../CredentialSigner.js"
import { CredentialError } from "../../MsalError.js"
import { TokenCache } from "../../TokenCache.js"
import * as Memory from "../memoryCache.js"
import * as Client from "./client.js"

/** The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2). */
const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/**
 * The audience of managed-identity tokens exchanged at each cloud's Entra: public
 * `api://AzureADTokenExchange`, US Government `api://AzureADTokenExchangeUSGov`, China
 * `api://AzureADTokenExchangeChina` (Microsoft docs, "Configure an application to trust a
 * managed identity": learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity).
 * @internal
 */
export const audienceFor = (tokenEndpoint: string): string => {
  let host = ""
  try {
    host = new URL(tokenEndpoint).hostname.toLowerCase()
  } catch {
    // an unparsable endpoint is refused by the client before this is asked
  }
  if (
    host === "login.microsoftonline.us" || host === "login.usgovcloudapi.net" ||
    host.endsWith(".login.microsoftonline.us")
  ) {
    return "api://AzureADTokenExchangeUSGov"
  }
  if (
    host === "login.chinacloudapi.cn" || host === "login.partner.microsoftonline.cn" ||
    host.endsWith(".login.chinacloudapi.cn")
  ) {
    return "api://AzureADTokenExchangeChina"
  }
  return "api://AzureADTokenExchange"
}

/**
 * The signer for a managed-identity credential: a `ManagedIdentity` client of its own (a
 * private in-memory cache, the given `HttpClient`); each request's assertion is its token
 * for the audience of the token endpoint's cloud, or `credential.audience`. After
 * `invalid_client` (`reload`), the next assertion is a fresh token.
 * @internal
 */
export const make = (
  credential: ManagedIdentityCredential
): Effect.Effect<Service, CredentialError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const cache = yield* Memory.make()
    const client = yield* Effect.provideService(
      Client.make({
        ...(credential.clientId === undefined ? {} : { clientId: credential.clientId }),
        ...(credential.objectId === undefined ? {} : { objectId: credential.objectId }),
        ...(credential.resourceId === undefined ? {} : { resourceId: credential.resourceId })
      }),
      TokenCache,
      cache
    )
    let forceNext = false
    const clientAuth = (context: AuthContext) =>
      Effect.suspend(() => {
        const forceRefresh = forceNext
        forceNext = false
        return client.acquireToken({
          resource: credential.audience ?? audienceFor(context.tokenEndpoint),
          forceRefresh
        })
      }).pipe(
        Effect.map((result) => ({
          client_assertion_type: Redacted.make(JWT_BEARER),
          client_assertion: result.accessToken
        })),
        Effect.mapError((error) =>
          new CredentialError({
            description:
              `the managed identity token for the client assertion could not be obtained (${error._tag}: ${error.message})`,
            cause: error
          })
        ),
        Effect.withSpan("CredentialSigner.managedIdentityAssertion")
      )
    return { clientAuth, reload: Effect.sync(() => void (forceNext = true)) }
  })
