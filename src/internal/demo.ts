import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import forge from "node-forge"
import type { Account, AuthenticationResult } from "../AuthenticationResult.js"
import * as ClientCredential from "../ClientCredential.js"
import * as ConfidentialClient from "../ConfidentialClient.js"
import * as CredentialSigner from "../CredentialSigner.js"
import * as ManagedIdentity from "../ManagedIdentity.js"
import * as TestAuthority from "../TestAuthority.js"
import * as TokenCache from "../TokenCache.js"

const CLIENT_ID = "11111111-2222-3333-4444-555555555555"
const CERT_CLIENT_ID = "66666666-7777-8888-9999-000000000000"
const SECRET = "demo-secret"
/** An app registration with no secret: it trusts the managed identity below (a federated credential). */
const SECRETLESS_CLIENT_ID = "77777777-8888-9999-aaaa-bbbbbbbbbbbb"
/** The object id of the test authority's default system-assigned managed identity. */
const MI_OBJECT_ID = "5a1c0e7e-0000-4000-8000-0000000000b1"
const AUTHORITY = "https://login.microsoftonline.com/contoso.onmicrosoft.com"
const GRAPH = "https://graph.microsoft.com/.default"
const REDIRECT_URI = "http://localhost:3000/callback"

const source = (r: AuthenticationResult) => (r.tokenSource === "cache" ? "the cache  " : "the network")

const describe = (label: string, r: AuthenticationResult) =>
  Console.log(
    `  ${label.padEnd(28)} from ${source(r)}, expires ${r.expiresOn.toISOString()}, ` +
      `token ${String(r.accessToken)} (${Redacted.value(r.accessToken).length} characters, never printed)`
  )

/** A throwaway RSA key and self-signed certificate, as an app registration would hold. */
const makeCertificate = Effect.sync(() => {
  const keys = forge.pki.rsa.generateKeyPair(2048)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = "01"
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + 86_400_000)
  const name = [{ name: "commonName", value: "effect-msal demo" }]
  cert.setSubject(name)
  cert.setIssuer(name)
  cert.sign(keys.privateKey, forge.md.sha256.create())
  return { privateKey: forge.pki.privateKeyToPem(keys.privateKey), certificate: forge.pki.certificateToPem(cert) }
})

const clientLayer = (
  serverUrl: string,
  clientId: string,
  credential: ClientCredential.ClientCredential,
  cache: Layer.Layer<TokenCache.TokenCache>
) =>
  ConfidentialClient.layer({ clientId, authority: AUTHORITY, appName: "effect-msal-demo" }).pipe(
    Layer.provide(CredentialSigner.layer(credential)),
    Layer.provide(cache),
    Layer.provide(TestAuthority.layerHttpClientVia(serverUrl))
  )

/** What the steps of the walk-through share: the authority, its served URL and one token cache. */
interface Demo {
  readonly authority: TestAuthority.Service
  readonly serverUrl: string
  readonly cache: TokenCache.Service
  readonly cacheLayer: Layer.Layer<TokenCache.TokenCache>
  /** How many token requests have reached the authority so far. */
  readonly requests: Effect.Effect<number>
}

/** Steps 1–3: an app token served from the cache, 100 callers sharing one request, a claims challenge. */
const appTokenSteps = (client: ConfidentialClient.Service, demo: Demo) =>
  Effect.gen(function*() {
    const { authority, requests } = demo
    yield* Console.log("\n1. Client credentials: a token for the app itself (Microsoft Graph)")
    yield* describe("first call", yield* client.acquireTokenForClient({ scopes: [GRAPH] }))
    yield* describe("second call", yield* client.acquireTokenForClient({ scopes: [GRAPH] }))

    yield* Console.log("\n2. 100 concurrent first calls for another resource (the authority answers after 200 ms)")
    yield* authority.configure({ latency: "200 millis" })
    const before = yield* requests
    const started = Date.now()
    const many = yield* Effect.all(
      Array.from({ length: 100 }, () => client.acquireTokenForClient({ scopes: ["https://vault.azure.net/.default"] })),
      { concurrency: "unbounded" }
    )
    yield* authority.configure({ latency: 0 })
    yield* Console.log(
      `  ${many.length} callers got ${new Set(many.map((r) => Redacted.value(r.accessToken))).size} token ` +
        `from ${(yield* requests) - before} request in ${Date.now() - started} ms`
    )

    yield* Console.log("\n3. A claims challenge (for example from Conditional Access) bypasses the cache")
    yield* describe(
      "with claims",
      yield* client.acquireTokenForClient({
        scopes: [GRAPH],
        claims: "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1700000000\"}}}"
      })
    )
    yield* describe("next call", yield* client.acquireTokenForClient({ scopes: [GRAPH] }))
  })

/** Steps 4–5: a typed error handled with `catchTag`, and tokens for a second tenant. */
const errorAndTenantSteps = (client: ConfidentialClient.Service) =>
  Effect.gen(function*() {
    yield* Console.log("\n4. A typed error, handled with Effect.catchTag")
    const outcome = yield* client.acquireTokenForClient({ scopes: ["User.Read"] }).pipe(
      Effect.map(() => "unexpected success"),
      Effect.catchTag("ServerError", (e) =>
        Effect.succeed(
          `ServerError ${e.error} (HTTP ${e.status}, AADSTS${
            e.errorCodes?.[0] ?? "?"
          }): app tokens need a "<resource>/.default" scope`
        ))
    )
    yield* Console.log(`  ${outcome}`)

    yield* Console.log("\n5. Several tenants from one client")
    yield* describe(
      "fabrikam",
      yield* client.acquireTokenForClient({ scopes: [GRAPH], tenant: "fabrikam.onmicrosoft.com" })
    )
    yield* describe(
      "fabrikam again",
      yield* client.acquireTokenForClient({ scopes: [GRAPH], tenant: "fabrikam.onmicrosoft.com" })
    )
  })

/** Step 6: on-behalf-of, the second exchange of the same user token served from the cache. */
const onBehalfOfStep = (client: ConfidentialClient.Service, authority: TestAuthority.Service) =>
  Effect.gen(function*() {
    yield* Console.log("\n6. On-behalf-of: a middle-tier API exchanges the token a user sent it")
    const incoming = yield* authority.userAssertion({ audience: CLIENT_ID })
    const downstream = ["https://graph.microsoft.com/User.Read"]
    yield* describe(
      "first exchange",
      yield* client.acquireTokenOnBehalfOf({ userAssertion: incoming, scopes: downstream })
    )
    yield* describe(
      "same user token again",
      yield* client.acquireTokenOnBehalfOf({ userAssertion: incoming, scopes: downstream })
    )
  })

/** Step 7: a user signs in with the auth-code flow (PKCE), then silent calls; a replayed redirect fails. */
const signInStep = (client: ConfidentialClient.Service, authority: TestAuthority.Service) =>
  Effect.gen(function*() {
    yield* Console.log("\n7. Auth-code flow with PKCE: a web app signs a user in")
    const flow = yield* client.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: REDIRECT_URI })
    yield* Console.log(
      `  the browser goes to ${new URL(flow.authUri).origin}${
        new URL(flow.authUri).pathname
      }?… (state, PKCE S256, nonce)`
    )
    const redirect = new URL(yield* authority.authorize(flow.authUri))
    const signedIn = yield* client.acquireTokenByAuthCodeFlow({ flow, response: redirect.searchParams })
    yield* describe(`signed in ${signedIn.account?.username ?? "?"}`, signedIn)
    const account = signedIn.account!
    yield* describe("silent, next page", yield* client.acquireTokenSilent({ scopes: ["User.Read"], account }))
    yield* describe(
      "silent, forced refresh",
      yield* client.acquireTokenSilent({ scopes: ["User.Read"], account, forceRefresh: true })
    )
    const replay = yield* client.acquireTokenByAuthCodeFlow({ flow, response: redirect.searchParams }).pipe(
      Effect.map(() => "unexpected success"),
      Effect.catchAll((e) => Effect.succeed(`${e._tag}: ${e.message.split(":")[0]}`))
    )
    yield* Console.log(`  the same redirect replayed: ${replay}`)
    return account
  })

/** Step 8: the cached accounts, and silent failing once the account is removed. */
const accountsStep = (client: ConfidentialClient.Service, account: Account) =>
  Effect.gen(function*() {
    yield* Console.log("\n8. Accounts")
    const accounts = yield* client.getAccounts()
    yield* Console.log(`  in the cache: ${accounts.map((a) => a.username).join(", ")}`)
    yield* client.removeAccount(account)
    const after = yield* client.acquireTokenSilent({ scopes: ["User.Read"], account }).pipe(
      Effect.map(() => "unexpected success"),
      Effect.catchTag("TokenNotFound", () => Effect.succeed("TokenNotFound: sign the user in again"))
    )
    yield* Console.log(`  after removeAccount, silent gives ${after}`)
  })

/** Steps 1–8, with one confidential client that authenticates with a secret. */
const secretClientSteps = (demo: Demo) =>
  Effect.gen(function*() {
    const client = yield* ConfidentialClient.ConfidentialClient
    yield* appTokenSteps(client, demo)
    yield* errorAndTenantSteps(client)
    yield* onBehalfOfStep(client, demo.authority)
    const account = yield* signInStep(client, demo.authority)
    yield* accountsStep(client, account)
  }).pipe(
    Effect.provide(
      clientLayer(demo.serverUrl, CLIENT_ID, ClientCredential.secret(Redacted.make(SECRET)), demo.cacheLayer)
    )
  )

/** The JOSE header of the client assertion in the last token request the authority received. */
const lastAssertionHeader = (authority: TestAuthority.Service) =>
  Effect.map(authority.tokenRequests, (all) => {
    const [last] = all.slice(-1)
    return JSON.parse(
      Buffer.from((last?.form.client_assertion ?? "").split(".")[0] ?? "", "base64url").toString()
    )
  })

/** Step 9: a client registered with a certificate; returns that certificate (PEM). */
const certificateStep = (demo: Demo) =>
  Effect.gen(function*() {
    yield* Console.log("\n9. A certificate credential: a signed client assertion the authority verifies")
    const { certificate, privateKey } = yield* makeCertificate
    yield* demo.authority.configure({
      clients: { [CLIENT_ID]: { secret: SECRET }, [CERT_CLIENT_ID]: { certificates: [certificate] } }
    })
    yield* Effect.gen(function*() {
      const client = yield* ConfidentialClient.ConfidentialClient
      yield* describe("first call", yield* client.acquireTokenForClient({ scopes: [GRAPH] }))
      yield* describe("second call", yield* client.acquireTokenForClient({ scopes: [GRAPH] }))
      const header = yield* lastAssertionHeader(demo.authority)
      yield* Console.log(
        `  the assertion was signed ${header.alg} with ${
          Object.keys(header).filter((k) => k.startsWith("x5")).join(" and ")
        }`
      )
    }).pipe(
      Effect.provide(
        clientLayer(
          demo.serverUrl,
          CERT_CLIENT_ID,
          ClientCredential.certificate({ privateKey, publicCertificate: certificate }),
          demo.cacheLayer
        )
      )
    )
    return certificate
  })

/** Step 10: what the shared cache holds, counted per section of the MSAL unified format. */
const cacheFormatStep = (demo: Demo) =>
  Effect.gen(function*() {
    yield* Console.log("\n10. The token cache, in the MSAL unified format")
    const json = JSON.parse(yield* TokenCache.serialize.pipe(Effect.provideService(TokenCache.TokenCache, demo.cache)))
    const counts = ["AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"]
      .map((section) => `${Object.keys(json[section] ?? {}).length} ${section}`)
    yield* Console.log(`  ${counts.join(", ")} — readable by msal-node and MSAL Python`)
  })

/** The VM's instance metadata service, played by the test authority (AZURE_POD_IDENTITY_AUTHORITY_HOST moves IMDS). */
const onAzure = () => ConfigProvider.fromMap(new Map([["AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://169.254.169.254"]]))

/** Registers the secretless app: it trusts the managed identity's tokens as a federated credential. */
const trustManagedIdentity = (authority: TestAuthority.Service, certificate: string) =>
  authority.configure({
    clients: {
      [CLIENT_ID]: { secret: SECRET },
      [CERT_CLIENT_ID]: { certificates: [certificate] },
      [SECRETLESS_CLIENT_ID]: {
        federatedCredentials: [{
          issuer: TestAuthority.managedIdentityIssuer(),
          subject: MI_OBJECT_ID,
          keys: [TestAuthority.managedIdentityPublicKey()]
        }]
      }
    }
  })

/** Step 11, first half: a managed identity token from IMDS, then from the cache. */
const managedIdentityStep = (demo: Demo) =>
  Effect.gen(function*() {
    const mi = yield* ManagedIdentity.ManagedIdentity
    const source = yield* mi.source
    yield* describe(
      `managed identity (${source})`,
      yield* mi.acquireToken({ resource: "https://management.azure.com" })
    )
    yield* describe("managed identity again", yield* mi.acquireToken({ resource: "https://management.azure.com" }))
  }).pipe(
    Effect.provide(
      ManagedIdentity.layer().pipe(
        Layer.provide(demo.cacheLayer),
        Layer.provide(TestAuthority.layerHttpClientVia(demo.serverUrl))
      )
    ),
    Effect.withConfigProvider(onAzure())
  )

/** Step 11, second half: app tokens for a client whose assertion is a managed identity token. */
const secretlessStep = (demo: Demo) => {
  const miRequests = Effect.map(
    demo.authority.requests,
    (all) => all.filter((r) => r.path === "/metadata/identity/oauth2/token").length
  )
  return Effect.gen(function*() {
    const client = yield* ConfidentialClient.ConfidentialClient
    const before = yield* miRequests
    yield* describe("secretless app token", yield* client.acquireTokenForClient({ scopes: [GRAPH] }))
    yield* describe(
      "secretless, other scope",
      yield* client.acquireTokenForClient({ scopes: ["https://vault.azure.net/.default"] })
    )
    yield* Console.log(
      `  no secret anywhere: the client assertion was a managed identity token for api://AzureADTokenExchange ` +
        `(${(yield* miRequests) - before} managed identity request for both)`
    )
  }).pipe(
    Effect.provide(
      ConfidentialClient.layer({ clientId: SECRETLESS_CLIENT_ID, authority: AUTHORITY, appName: "effect-msal-demo" })
        .pipe(
          Layer.provide(CredentialSigner.layer(ClientCredential.managedIdentity())),
          Layer.provide(demo.cacheLayer),
          Layer.provide(TestAuthority.layerHttpClientVia(demo.serverUrl))
        )
    ),
    Effect.withConfigProvider(onAzure())
  )
}

/** Step 11: managed identity, then a secretless confidential client built on it. */
const managedIdentitySteps = (demo: Demo, certificate: string) =>
  Effect.gen(function*() {
    yield* Console.log(
      "\n11. Managed identity, then secretless: its token is the confidential client's federated credential"
    )
    yield* trustManagedIdentity(demo.authority, certificate)
    yield* managedIdentityStep(demo)
    yield* secretlessStep(demo)
  })

/**
 * The README's main job: a walk-through of every grant against the test authority served
 * over real HTTP on 127.0.0.1, saying what came from the network and what from the cache.
 * @internal
 */
export const program = Effect.gen(function*() {
  const authority = yield* TestAuthority.TestAuthority
  const server = yield* TestAuthority.serve()
  yield* Console.log(`Test authority listening on ${server.url} (standing in for ${AUTHORITY})`)
  const cache = yield* TokenCache.makeMemory()
  const demo: Demo = {
    authority,
    serverUrl: server.url,
    cache,
    cacheLayer: Layer.succeed(TokenCache.TokenCache, cache),
    requests: Effect.map(authority.tokenRequests, (r) => r.length)
  }
  yield* secretClientSteps(demo)
  const certificate = yield* certificateStep(demo)
  yield* cacheFormatStep(demo)
  yield* managedIdentitySteps(demo, certificate)
  yield* Console.log(`\nDone: ${yield* demo.requests} requests reached the authority.`)
}).pipe(Effect.scoped, Effect.provide(TestAuthority.layer()))
