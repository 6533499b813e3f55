import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, TestClock } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { audienceFor } from "../src/internal/managedIdentity/credential.js"
import { environments, eventually, withEnvironment } from "./support/managedIdentity.js"

const APP = "a0a0a0a0-1111-4222-8333-00000000a9b0"
const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
const SYSTEM_OBJECT_ID = "5a1c0e7e-0000-4000-8000-0000000000b1"
const GRAPH = "https://graph.microsoft.com/.default"

const trusting = (subject: string, audience?: string): Partial<TestAuthority.Settings> => ({
  clients: {
    [APP]: {
      federatedCredentials: [{
        issuer: TestAuthority.managedIdentityIssuer(),
        subject,
        keys: [TestAuthority.managedIdentityPublicKey()],
        ...(audience === undefined ? {} : { audience })
      }]
    }
  }
})

const secretless = (settings: Partial<TestAuthority.Settings>, cloud = "login.microsoftonline.com") =>
  ConfidentialClient.layer({ clientId: APP, authority: `https://${cloud}/${TENANT}` }).pipe(
    Layer.provide(CredentialSigner.layer(ClientCredential.managedIdentity())),
    Layer.provideMerge(TokenCache.layerMemory()),
    Layer.provide(TestAuthority.layerHttpClient),
    Layer.provideMerge(TestAuthority.layer(settings))
  )

const acquire = (scopes: ReadonlyArray<string>) =>
  Effect.flatMap(ConfidentialClient.ConfidentialClient, (c) => c.acquireTokenForClient({ scopes }))
const requests = Effect.flatMap(TestAuthority.TestAuthority, (a) => a.requests)
const miRequests = Effect.map(requests, (rs) => rs.filter((r) => r.path === "/metadata/identity/oauth2/token"))
const tokenRequests = Effect.flatMap(TestAuthority.TestAuthority, (a) => a.tokenRequests)

describe("managed identity as a federated credential (MI → federated credential → confidential client)", () => {
  it.effect("the app token is obtained with the managed identity's token as its client assertion", () =>
    Effect.gen(function*() {
      const result = yield* acquire([GRAPH])
      expect(result.tokenSource).toBe("identity_provider")
      const mi = yield* miRequests
      expect(mi).toHaveLength(1)
      expect(new URL(mi[0]!.url).searchParams.get("resource")).toBe("api://AzureADTokenExchange")
      const issued = yield* Effect.flatMap(TestAuthority.TestAuthority, (a) => a.issued)
      const form = (yield* tokenRequests).find((r) => r.form.grant_type === "client_credentials")!.form
      expect(form.client_assertion_type).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
      expect(form.client_assertion).toBe(issued[0]!.accessToken)
      expect(form.client_secret).toBeUndefined()
    }).pipe(
      Effect.provide(secretless(trusting(SYSTEM_OBJECT_ID))),
      withEnvironment(environments("http://169.254.169.254").Imds)
    ))

  it.effect("the managed-identity token is reused for other scopes until it ages, then renewed", () =>
    Effect.gen(function*() {
      yield* acquire([GRAPH])
      yield* acquire(["https://vault.azure.net/.default"])
      expect(yield* miRequests).toHaveLength(1)
      expect((yield* tokenRequests).length).toBe(2)
      yield* TestClock.adjust("43200 seconds") // half of IMDS's 86399 s
      yield* acquire(["https://storage.azure.com/.default"])
      yield* eventually(Effect.map(miRequests, (rs) => rs.length === 2))
    }).pipe(
      Effect.provide(secretless(trusting(SYSTEM_OBJECT_ID))),
      withEnvironment(environments("http://169.254.169.254").Imds)
    ))

  it.effect("a registration trusting another subject refuses it (AADSTS700213); the next assertion is a fresh token", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(acquire([GRAPH]))
      expect(error).toMatchObject({ _tag: "ServerError", error: "invalid_client", errorCodes: [700213] })
      // the signer's reload after invalid_client runs in the background
      yield* eventually(
        Effect.flatMap(
          Effect.flip(acquire(["https://vault.azure.net/.default"])),
          () => Effect.map(miRequests, (rs) => rs.length >= 2)
        )
      )
    }).pipe(
      Effect.provide(secretless(trusting("another-subject"))),
      withEnvironment(environments("http://169.254.169.254").Imds)
    ))

  it.effect("US Government: the assertion is for api://AzureADTokenExchangeUSGov", () =>
    Effect.gen(function*() {
      yield* acquire([GRAPH])
      const mi = yield* miRequests
      expect(new URL(mi[0]!.url).searchParams.get("resource")).toBe("api://AzureADTokenExchangeUSGov")
    }).pipe(
      Effect.provide(
        secretless(trusting(SYSTEM_OBJECT_ID, "api://AzureADTokenExchangeUSGov"), "login.microsoftonline.us")
      ),
      withEnvironment(environments("http://169.254.169.254").Imds)
    ))

  it.effect("a managed identity that cannot be reached is a CredentialError naming why", () =>
    Effect.gen(function*() {
      const a = yield* TestAuthority.TestAuthority
      yield* a.enqueue({ status: 400, body: { error: "invalid_request", error_description: "Identity not found" } })
      const error = yield* Effect.flip(acquire([GRAPH]))
      expect(error._tag).toBe("CredentialError")
      expect(error.message).toContain("ServerError: invalid_request (HTTP 400): Identity not found")
    }).pipe(
      Effect.provide(secretless(trusting(SYSTEM_OBJECT_ID))),
      withEnvironment(environments("http://169.254.169.254").Imds)
    ))

  it("each cloud's token-exchange audience", () => {
    expect(audienceFor("https://login.microsoftonline.com/t/oauth2/v2.0/token")).toBe("api://AzureADTokenExchange")
    expect(audienceFor("https://login.microsoftonline.us/t/oauth2/v2.0/token")).toBe("api://AzureADTokenExchangeUSGov")
    expect(audienceFor("https://login.usgovcloudapi.net/t/oauth2/v2.0/token")).toBe("api://AzureADTokenExchangeUSGov")
    expect(audienceFor("https://login.chinacloudapi.cn/t/oauth2/v2.0/token")).toBe("api://AzureADTokenExchangeChina")
    expect(audienceFor("https://login.partner.microsoftonline.cn/t/oauth2/v2.0/token")).toBe(
      "api://AzureADTokenExchangeChina"
    )
  })

  it.scoped("over real HTTP: one served authority is both the managed identity endpoint and Entra", () =>
    Effect.gen(function*() {
      const server = yield* TestAuthority.serve()
      const result = yield* acquire([GRAPH]).pipe(
        Effect.provide(
          ConfidentialClient.layer({ clientId: APP, authority: `https://login.microsoftonline.com/${TENANT}` }).pipe(
            Layer.provide(CredentialSigner.layer(ClientCredential.managedIdentity())),
            Layer.provide(TokenCache.layerMemory()),
            Layer.provide(TestAuthority.layerHttpClientVia(server.url))
          )
        ),
        withEnvironment({ AZURE_POD_IDENTITY_AUTHORITY_HOST: "http://169.254.169.254" })
      )
      expect(Redacted.value(result.accessToken).split(".")).toHaveLength(3)
      const sent = yield* requests
      expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual([
        "GET /metadata/identity/oauth2/token",
        `POST /${TENANT}/oauth2/v2.0/token`
      ])
    }).pipe(Effect.provide(TestAuthority.layer(trusting(SYSTEM_OBJECT_ID)))))
})
