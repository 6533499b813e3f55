import { Effect, Layer } from "effect"
import * as Crypto from "node:crypto"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { authority, AUTHORITY, CLIENT_ID, client, SECRET } from "./harness.js"

/** Helpers for the user-flow tests (auth code, silent, accounts, on-behalf-of). */
export const REDIRECT_URI = "https://app.example/auth/callback"
export const ALICE = TestAuthority.defaultUsers[0]!
export const BOB = TestAuthority.defaultUsers[1]!
export const CAROL = TestAuthority.defaultUsers[2]!
export const homeOf = (user: TestAuthority.TestUser) => `${user.objectId}.${user.tenantId}`

/** The JSON payload of a JWT. */
export const payloadOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>

export const sha256b64url = (s: string) => Crypto.createHash("sha256").update(s).digest("base64url")
export const sha256hex = (s: string) => Crypto.createHash("sha256").update(s).digest("hex")

/** Starts a flow and signs the user in at the test authority: the flow and the redirect's query. */
export const startSignIn = (
  request?: Partial<ConfidentialClient.AuthCodeFlowRequest>,
  options?: TestAuthority.AuthorizeOptions
) =>
  Effect.gen(function*() {
    const c = yield* client
    const a = yield* authority
    const flow = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: REDIRECT_URI, ...request })
    const redirect = yield* a.authorize(flow.authUri, options)
    return { flow, response: new URL(redirect).searchParams }
  })

/** A full sign-in: the result of redeeming the code. */
export const signIn = (
  request?: Partial<ConfidentialClient.AuthCodeFlowRequest>,
  options?: TestAuthority.AuthorizeOptions
) =>
  Effect.gen(function*() {
    const { flow, response } = yield* startSignIn(request, options)
    return yield* (yield* client).acquireTokenByAuthCodeFlow({ flow, response })
  })

/** The token requests' forms, oldest first. */
export const tokenForms = Effect.flatMap(authority, (a) => Effect.map(a.tokenRequests, (rs) => rs.map((r) => r.form)))
export const tokenRequests = Effect.flatMap(authority, (a) => a.tokenRequests)

/** A cache, a signer and an in-process authority, for tests that build several clients with `makeClient`. */
export const sharedLayer = (settings?: Partial<TestAuthority.Settings>) =>
  Layer.mergeAll(
    TokenCache.layerMemory(),
    CredentialSigner.layer(ClientCredential.secret(SECRET)),
    TestAuthority.layerHttpClient
  )
    .pipe(Layer.provideMerge(TestAuthority.layer(settings)))

/** A client on the shared layer (needs a Scope). */
export const makeClient = (options?: Partial<ConfidentialClient.Options>) =>
  ConfidentialClient.make({ clientId: CLIENT_ID, authority: AUTHORITY, ...options })
