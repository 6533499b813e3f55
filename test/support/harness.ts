import { Effect, Layer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"

export const CLIENT_ID = "11111111-2222-3333-4444-555555555555"
export const SECRET = "s3cret-Value~with.special/chars+=&"
export const AUTHORITY = "https://login.microsoftonline.com/contoso.onmicrosoft.com"
/** The tenant id of contoso.onmicrosoft.com in the test authority's directory (its users' `tid`). */
export const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
/**
 * The token endpoint the client uses for AUTHORITY: Entra answers a domain's discovery with
 * its tenant id's endpoints, and the test authority does the same.
 */
export const TOKEN_ENDPOINT = `https://login.microsoftonline.com/${TENANT_ID}/oauth2/v2.0/token`
/**
 * The same tenant by its id: endpoints known without discovery, so the token request is the
 * first request (for tests that count time or requests from it).
 */
export const BY_TENANT_ID = `https://login.microsoftonline.com/${TENANT_ID}`
/** The discovery request the client makes once for AUTHORITY. */
export const DISCOVERY = `${AUTHORITY}/v2.0/.well-known/openid-configuration`
export const GRAPH = "https://graph.microsoft.com/.default"

/** A client, its memory cache and an in-process test authority, all fresh. */
export const testLayer = (options?: {
  readonly client?: Partial<ConfidentialClient.Options>
  readonly authority?: Partial<TestAuthority.Settings>
}) =>
  ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, ...options?.client }).pipe(
    Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
    Layer.provideMerge(TokenCache.layerMemory()),
    Layer.provide(TestAuthority.layerHttpClient),
    Layer.provideMerge(TestAuthority.layer(options?.authority))
  )

export const client = ConfidentialClient.ConfidentialClient
export const authority = TestAuthority.TestAuthority

export const tokenRequestCount = Effect.map(TestAuthority.TestAuthority, (a) => a.tokenRequests).pipe(
  Effect.flatten,
  Effect.map((r) => r.length)
)

/**
 * A client-credentials token request for GRAPH sent over real HTTP to a served authority, as
 * any HTTP client sends it: `POST <baseUrl>/<tenant>/oauth2/v2.0/token` with a client secret.
 */
export const postClientCredentials = (
  baseUrl: string,
  options: { readonly tenant: string; readonly clientId?: string; readonly secret?: string }
): Promise<Response> =>
  fetch(`${baseUrl}/${options.tenant}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: options.clientId ?? CLIENT_ID,
      client_secret: options.secret ?? SECRET,
      scope: GRAPH
    })
  })
