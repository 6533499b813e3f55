import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, MsalError, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Msal from "effect-msal/promise"

const CLIENT_ID = "11111111-2222-3333-4444-555555555555"
const SECRET = "promise-s3cret"
const AUTHORITY = "https://login.microsoftonline.com/contoso.onmicrosoft.com"
const GRAPH = "https://graph.microsoft.com/.default"

/** A fresh in-process authority and an HTTP layer answered by it. */
const fakeAuthority = () => {
  const authority = Effect.runSync(TestAuthority.make())
  const httpClient = TestAuthority.layerHttpClient.pipe(
    Layer.provide(Layer.succeed(TestAuthority.TestAuthority, authority))
  )
  const run = <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect)
  return { authority, httpClient, run }
}

const makeClient = (httpClient: Msal.Services["httpClient"], options?: Partial<Msal.Options>) =>
  Msal.make({
    clientId: CLIENT_ID,
    authority: AUTHORITY,
    credential: ClientCredential.secret(SECRET),
    retry: false,
    httpClient,
    ...options
  })

describe("effect-msal/promise", () => {
  it("acquires, then serves from the cache, with the same methods as the Effect client", async () => {
    const { authority, httpClient, run } = fakeAuthority()
    const client = await makeClient(httpClient)
    try {
      const first = await client.acquireTokenForClient({ scopes: [GRAPH] })
      const second = await client.acquireTokenForClient({ scopes: [GRAPH] })
      expect([first.tokenSource, second.tokenSource]).toEqual(["identity_provider", "cache"])
      // a plain string, as msal-node returns it: ready for an Authorization header
      expect(typeof second.accessToken).toBe("string")
      expect(second.accessToken).toBe((await run(authority.issued))[0]!.accessToken)
      await client.removeTokensForClient()
      expect((await client.acquireTokenForClient({ scopes: [GRAPH] })).tokenSource).toBe("identity_provider")
      expect((await run(authority.tokenRequests))[0]!.form.client_secret).toBe(SECRET)
    } finally {
      await client.dispose()
    }
  })

  it("a user sign-in returns the ID token as a string too", async () => {
    const { authority, httpClient, run } = fakeAuthority()
    const client = await makeClient(httpClient)
    try {
      const flow = await client.initiateAuthCodeFlow({
        scopes: ["User.Read"],
        redirectUri: "https://app.contoso.test/callback"
      })
      const redirect = await run(authority.authorize(flow.authUri))
      const result = await client.acquireTokenByAuthCodeFlow({ flow, response: new URL(redirect).searchParams })
      const issued = (await run(authority.issued)).at(-1)!
      expect(result.accessToken).toBe(issued.accessToken)
      expect(typeof result.idToken).toBe("string")
      expect(JSON.parse(Buffer.from(result.idToken!.split(".")[1]!, "base64url").toString()).aud).toBe(CLIENT_ID)
      expect((await client.acquireTokenSilent({ account: result.account!, scopes: ["User.Read"] })).accessToken).toBe(
        issued.accessToken
      )
    } finally {
      await client.dispose()
    }
  })

  it("rejects with instances of the MsalError classes", async () => {
    const { authority, httpClient, run } = fakeAuthority()
    const client = await makeClient(httpClient)
    try {
      const server = await client.acquireTokenForClient({ scopes: ["User.Read"] }).catch((e: unknown) => e)
      expect(server).toBeInstanceOf(MsalError.ServerError)
      expect(MsalError.isMsalError(server)).toBe(true)
      expect(server).toMatchObject({ _tag: "ServerError", error: "invalid_scope", status: 400 })

      await expect(client.acquireTokenForClient({ scopes: [] })).rejects.toBeInstanceOf(MsalError.InvalidRequest)

      await run(
        authority.enqueue({
          status: 401,
          body: { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret." }
        })
      )
      await expect(client.acquireTokenForClient({ scopes: [GRAPH] })).rejects.toMatchObject({ error: "invalid_client" })

      await run(authority.enqueue({ status: 502, body: "<html>Bad gateway</html>" }))
      const network = await client.acquireTokenForClient({ scopes: [GRAPH] }).catch((e: unknown) => e)
      expect(network).toBeInstanceOf(MsalError.NetworkError)
      expect(String(network)).not.toContain(SECRET)
      // the same request again, inside the throttling window: nothing is sent
      await expect(client.acquireTokenForClient({ scopes: [GRAPH] })).rejects.toBeInstanceOf(MsalError.Throttled)
    } finally {
      await client.dispose()
    }
  })

  it("make rejects with the typed error when the options are unusable", async () => {
    const { httpClient } = fakeAuthority()
    await expect(makeClient(httpClient, { authority: "not a url" })).rejects.toBeInstanceOf(MsalError.AuthorityError)
    await expect(makeClient(httpClient, { clientId: "" })).rejects.toBeInstanceOf(MsalError.InvalidRequest)
    await expect(makeClient(httpClient, { credential: ClientCredential.secret("") })).rejects.toBeInstanceOf(
      MsalError.CredentialError
    )
  })

  it("fromLayer accepts any layer providing the client", async () => {
    const { httpClient } = fakeAuthority()
    const client = await Msal.fromLayer(
      ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
        Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
        Layer.provide(TokenCache.layerMemory()),
        Layer.provide(httpClient)
      )
    )
    try {
      expect((await client.acquireTokenForClient({ scopes: [GRAPH] })).tokenType).toBe("Bearer")
    } finally {
      await client.dispose()
    }
  })

  it("fromEnvironment rejects with an Error naming the missing variable, its cause the ConfigError", async () => {
    const { httpClient } = fakeAuthority()
    const saved = { ...process.env }
    delete process.env.AZURE_CLIENT_ID
    process.env.AZURE_TENANT_ID = "contoso.onmicrosoft.com"
    process.env.AZURE_CLIENT_SECRET = SECRET
    try {
      const error = await Msal.fromEnvironment({ httpClient }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).message).toContain("AZURE_CLIENT_ID")
      expect((error as Error).message).not.toContain(SECRET)
      process.env.AZURE_CLIENT_ID = CLIENT_ID
      const client = await Msal.fromEnvironment({ httpClient })
      try {
        // the tenant id discovery gives for contoso.onmicrosoft.com
        expect((await client.acquireTokenForClient({ scopes: [GRAPH] })).tenantId).toBe(
          "72f988bf-86f1-41af-91ab-2d7cd011db47"
        )
      } finally {
        await client.dispose()
      }
    } finally {
      process.env = saved
    }
  })

  it("withSignal: an aborted call rejects with AbortError", async () => {
    const { authority, httpClient, run } = fakeAuthority()
    const client = await makeClient(httpClient)
    try {
      await run(authority.configure({ latency: "1 hour" }))
      const controller = new AbortController()
      const pending = client.withSignal(controller.signal).acquireTokenForClient({ scopes: [GRAPH] })
      controller.abort()
      await expect(pending).rejects.toMatchObject({ name: "AbortError" })
    } finally {
      await client.dispose()
    }
  })

  it("dispose stops the runtime; later calls reject", async () => {
    const { httpClient } = fakeAuthority()
    const client = await makeClient(httpClient)
    await client.dispose()
    const error = await client.acquireTokenForClient({ scopes: [GRAPH] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MsalError.InvalidRequest)
    expect((error as Error).message).toMatch(/^the client was closed \(dispose\(\) was called\)/)
  })
})
