/**
 * Every grant in a few lines (the snippets of docs/grants.md, type-checked). Each is an
 * Effect that needs the `ConfidentialClient` service; `MsalLive` provides it.
 */
import { FetchHttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Layer, Redacted, Schema } from "effect"
import type { AuthenticationResult } from "effect-msal"
import { AuthCodeFlow, ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"

const GRAPH = "https://graph.microsoft.com/.default"

// --- the client -------------------------------------------------------------------------
export const MsalLive = ConfidentialClient.layer({
  clientId: "11111111-2222-3333-4444-555555555555",
  authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com"
}).pipe(
  Layer.provide(CredentialSigner.layer(ClientCredential.secret(Redacted.make(process.env.CLIENT_SECRET ?? "")))),
  Layer.provide(TokenCache.layerMemory()),
  Layer.provide(FetchHttpClient.layer)
)

// --- client credentials: a token for the app itself (daemons, workers) --------------------
export const appToken = Effect.gen(function*() {
  const client = yield* ConfidentialClient.ConfidentialClient
  const result = yield* client.acquireTokenForClient({ scopes: [GRAPH] })
  return HttpClientRequest.get("https://graph.microsoft.com/v1.0/users").pipe(
    HttpClientRequest.bearerToken(result.accessToken)
  )
})

// the same in another tenant of a multi-tenant app, and after a claims challenge
export const otherTenant = Effect.flatMap(
  ConfidentialClient.ConfidentialClient,
  (client) => client.acquireTokenForClient({ scopes: [GRAPH], tenant: "fabrikam.onmicrosoft.com" })
)
export const afterChallenge = (claims: string) =>
  Effect.flatMap(
    ConfidentialClient.ConfidentialClient,
    (client) => client.acquireTokenForClient({ scopes: [GRAPH], claims })
  )

// --- on behalf of: a middle-tier API calls a downstream API as the user -------------------
export const onBehalfOf = (incomingBearer: string) =>
  Effect.gen(function*() {
    const client = yield* ConfidentialClient.ConfidentialClient
    return yield* client.acquireTokenOnBehalfOf({
      userAssertion: Redacted.make(incomingBearer),
      scopes: ["https://graph.microsoft.com/User.Read"]
    })
  })

// --- auth-code flow with PKCE: a web app signs a user in ----------------------------------
export const signIn = Effect.gen(function*() {
  const client = yield* ConfidentialClient.ConfidentialClient
  const flow = yield* client.initiateAuthCodeFlow({
    scopes: ["User.Read"],
    redirectUri: "https://app.example.com/callback"
  })
  // keep the encoded flow server-side (a session) or in an encrypted HttpOnly cookie
  const stored = yield* Schema.encode(AuthCodeFlow.Json)(flow)
  return { redirectTo: flow.authUri, stored }
})

export const callback = (stored: string, query: URLSearchParams) =>
  Effect.gen(function*() {
    const client = yield* ConfidentialClient.ConfidentialClient
    const flow = yield* Schema.decode(AuthCodeFlow.Json)(stored)
    const result = yield* client.acquireTokenByAuthCodeFlow({ flow, response: query })
    return result.account // keep it (or its homeAccountId) in the session
  })

// --- silent: later requests of a signed-in user, from the cache or a refresh token --------
export const silent = (account: AuthenticationResult.Account) =>
  Effect.gen(function*() {
    const client = yield* ConfidentialClient.ConfidentialClient
    return yield* client.acquireTokenSilent({ scopes: ["User.Read"], account }).pipe(
      // nothing usable in the cache: send the user through the auth-code flow again
      Effect.catchTag("TokenNotFound", () => Effect.succeed(undefined))
    )
  })

// --- accounts: list and sign out ----------------------------------------------------------
export const signOut = (username: string) =>
  Effect.gen(function*() {
    const client = yield* ConfidentialClient.ConfidentialClient
    for (const account of yield* client.getAccounts({ username })) yield* client.removeAccount(account)
  })

// --- refresh token obtained elsewhere (migrating into this cache) -------------------------
export const migrate = (refreshToken: string) =>
  Effect.flatMap(
    ConfidentialClient.ConfidentialClient,
    (client) => client.acquireTokenByRefreshToken({ refreshToken: Redacted.make(refreshToken), scopes: ["User.Read"] })
  )

// --- deprecated in MSAL too, kept for parity ----------------------------------------------
export const byCode = (code: string) =>
  Effect.flatMap(
    ConfidentialClient.ConfidentialClient,
    (client) =>
      client.acquireTokenByAuthorizationCode({
        code: Redacted.make(code),
        scopes: ["User.Read"],
        redirectUri: "https://app.example.com/callback"
      })
  )
export const authorizeUrl = Effect.flatMap(
  ConfidentialClient.ConfidentialClient,
  (client) =>
    client.getAuthorizationRequestUrl({ scopes: ["User.Read"], redirectUri: "https://app.example.com/callback" })
)
export const password = (username: string, secret: string) =>
  Effect.flatMap(
    ConfidentialClient.ConfidentialClient,
    (client) =>
      client.acquireTokenByUsernamePassword({ username, password: Redacted.make(secret), scopes: ["User.Read"] })
  )

// --- the app's own tokens out of the cache -------------------------------------------------
export const forget = Effect.flatMap(ConfidentialClient.ConfidentialClient, (client) => client.removeTokensForClient())

export const main = appToken.pipe(Effect.provide(MsalLive))
