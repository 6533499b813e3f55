import { Effect, Layer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"

export const CLIENT_ID = "11111111-2222-3333-4444-555555555555"
export const SECRET = "s3cret-Value~with.special/chars+=&"
export const AUTHORITY = "https://login.microsoftonline.com/contoso.onmicrosoft.com"
export const TOKEN_ENDPOINT = `${AUTHORITY}/oauth2/v2.0/token`
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
