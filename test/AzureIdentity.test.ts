import type { TokenCredential } from "@azure/core-auth"
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createPipelineRequest
} from "@azure/core-rest-pipeline"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, MsalError, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as AzureIdentity from "effect-msal/AzureIdentity"
import * as Msal from "effect-msal/promise"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

const CLIENT_ID = "11111111-2222-3333-4444-555555555555"
const SECRET = "azure-s3cret"
const API = "https://api.contoso.test"
const SCOPE = `${API}/.default`
/** What a resource asks for in a CAE challenge. */
const CLAIMS = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1700000000\"}}}"

const makeLayer = () =>
  ConfidentialClient.layer({
    clientId: CLIENT_ID,
    authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
    retry: false
  }).pipe(
    Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
    Layer.provide(TokenCache.layerMemory()),
    Layer.provide(TestAuthority.layerHttpClient),
    Layer.provideMerge(TestAuthority.layer({ refreshIn: 1800 }))
  )

const makeRuntime = () => ManagedRuntime.make(makeLayer())

let runtime: ReturnType<typeof makeRuntime>
let credential: TokenCredential
let authority: TestAuthority.Service

beforeEach(async () => {
  runtime = makeRuntime()
  credential = await runtime.runPromise(AzureIdentity.make)
  authority = await runtime.runPromise(TestAuthority.TestAuthority)
})
afterEach(() => runtime.dispose())

const issued = () => runtime.runPromise(authority.issued)
const tokenRequests = () => runtime.runPromise(authority.tokenRequests)

/**
 * A resource server on 127.0.0.1: 200 for a bearer token the authority issued, 401 otherwise.
 * With `challenge`, a token issued without claims gets a CAE claims challenge instead.
 */
const startResource = async (challenge: boolean) => {
  const seen: Array<string> = []
  const server = Http.createServer((req, res) => {
    const authorization = req.headers.authorization ?? ""
    seen.push(authorization)
    void issued().then((tokens) => {
      const token = tokens.find((t) => authorization === `Bearer ${t.accessToken}`)
      if (token === undefined) {
        res.writeHead(401).end()
      } else if (challenge && token.claims === undefined) {
        const claims = Buffer.from(CLAIMS).toString("base64")
        res.writeHead(401, {
          "www-authenticate":
            `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="${claims}"`
        }).end()
      } else {
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({ ok: true, uti: token.sequence })
        )
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

/**
 * An Azure SDK pipeline: the bearer-token policy over `tokenCredential` (default this file's
 * credential), then a policy that routes https://api.contoso.test to 127.0.0.1.
 */
const pipelineTo = (localUrl: string, tokenCredential: TokenCredential = credential) => {
  const pipeline = createEmptyPipeline()
  pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: tokenCredential, scopes: SCOPE }))
  pipeline.addPolicy({
    name: "toLoopback",
    sendRequest: (request, next) => {
      request.url = request.url.replace(API, localUrl)
      request.allowInsecureConnection = true
      return next(request)
    }
  })
  const client = createDefaultHttpClient()
  return (path: string) => pipeline.sendRequest(client, createPipelineRequest({ url: `${API}${path}` }))
}

describe("AzureIdentity.getToken", () => {
  it("returns the token, its expiry and refresh time, and serves the second call from the cache", async () => {
    const first = await credential.getToken(SCOPE)
    const [token] = await issued()
    expect(first).toEqual({
      token: token!.accessToken,
      expiresOnTimestamp: expect.any(Number),
      refreshAfterTimestamp: expect.any(Number),
      tokenType: "Bearer"
    })
    expect(first!.refreshAfterTimestamp! - first!.expiresOnTimestamp).toBe((1800 - 3599) * 1000)
    const second = await credential.getToken([SCOPE])
    expect(second!.token).toBe(first!.token)
    expect(await tokenRequests()).toHaveLength(1)
  })

  it("tenantId acquires in that tenant", async () => {
    await credential.getToken(SCOPE, { tenantId: "fabrikam.onmicrosoft.com" })
    const [request] = await tokenRequests()
    // fabrikam.onmicrosoft.com is discovered: its tenant id's token endpoint
    expect(request!.path).toBe("/cabbed0e-6c9b-415f-8188-499c22a8e53e/oauth2/v2.0/token")
  })

  it("claims bypass the cache and are sent to the authority", async () => {
    await credential.getToken(SCOPE)
    const challenged = await credential.getToken(SCOPE, { claims: CLAIMS })
    const requests = await tokenRequests()
    expect(requests).toHaveLength(2)
    expect(requests[1]!.form.claims).toBe(CLAIMS)
    expect(challenged!.token).toBe((await issued())[1]!.accessToken)
  })

  it("rejects with the typed MsalError instances", async () => {
    const error = await credential.getToken("User.Read").catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MsalError.ServerError)
    expect((error as MsalError.ServerError).error).toBe("invalid_scope")
    await expect(credential.getToken([])).rejects.toBeInstanceOf(MsalError.InvalidRequest)
    await runtime.runPromise(authority.enqueue({ status: 503, body: "<html>down</html>" }))
    await expect(credential.getToken(SCOPE)).rejects.toBeInstanceOf(MsalError.NetworkError)
  })

  it("an abort signal rejects with AbortError, before or during the request", async () => {
    const aborted = new AbortController()
    aborted.abort()
    await expect(credential.getToken(SCOPE, { abortSignal: aborted.signal })).rejects.toMatchObject({
      name: "AbortError"
    })
    await runtime.runPromise(authority.configure({ latency: "1 hour" }))
    const controller = new AbortController()
    const pending = credential.getToken(SCOPE, { abortSignal: controller.signal })
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: "AbortError" })
  })

  it("requestOptions.timeout bounds the call with a NetworkError", async () => {
    await runtime.runPromise(authority.configure({ latency: "1 hour" }))
    const error = await credential.getToken(SCOPE, { requestOptions: { timeout: 1 } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MsalError.NetworkError)
    expect((error as MsalError.NetworkError).reason).toBe("Timeout")
  })
})

describe("an Azure SDK pipeline with bearerTokenAuthenticationPolicy", () => {
  it("sends the client's token in the Authorization header", async () => {
    const resource = await startResource(false)
    try {
      const send = pipelineTo(resource.url)
      const first = await send("/items")
      const second = await send("/items")
      expect([first.status, second.status]).toEqual([200, 200])
      const [token] = await issued()
      expect(resource.seen).toEqual([`Bearer ${token!.accessToken}`, `Bearer ${token!.accessToken}`])
      expect(await tokenRequests()).toHaveLength(1)
    } finally {
      await resource.close()
    }
  })

  it("a CAE claims challenge round trip: 401 with claims → getToken with claims → a new token → 200", async () => {
    const resource = await startResource(true)
    try {
      const response = await pipelineTo(resource.url)("/secure")
      expect(response.status).toBe(200)
      const tokens = await issued()
      expect(tokens).toHaveLength(2)
      expect(tokens[0]!.claims).toBeUndefined()
      expect(tokens[1]!.claims).toBe(CLAIMS)
      expect(resource.seen).toEqual([`Bearer ${tokens[0]!.accessToken}`, `Bearer ${tokens[1]!.accessToken}`])
      const requests = await tokenRequests()
      expect(requests.map((r) => r.form.claims)).toEqual([undefined, CLAIMS])
    } finally {
      await resource.close()
    }
  })
})

describe("a credential whose client was closed", () => {
  it("rejects with an InvalidRequest saying the client was closed, not a bare AbortError", async () => {
    // the pattern the module's first example once led to: the credential outlives its layer
    const closed = await Effect.runPromise(AzureIdentity.make.pipe(Effect.provide(makeLayer())))
    const error = await closed.getToken(SCOPE).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MsalError.InvalidRequest)
    expect((error as Error).message).toMatch(
      /^the client was closed \(its layer's scope closed or its runtime was disposed\)/
    )
    expect((error as Error).name).not.toBe("AbortError")
  })

  it("a ManagedRuntime disposed under the credential: the same error", async () => {
    const rt = ManagedRuntime.make(makeLayer())
    const cred = await rt.runPromise(AzureIdentity.make)
    expect((await cred.getToken(SCOPE))?.token).toEqual(expect.any(String))
    await rt.dispose()
    await expect(cred.getToken([`${API}/other/.default`])).rejects.toMatchObject({
      _tag: "InvalidRequest",
      message: expect.stringContaining("the client was closed")
    })
  })
})

describe("the Promise client's asTokenCredential", () => {
  it("is a TokenCredential for bearerTokenAuthenticationPolicy, and rejects once the client is disposed", async () => {
    const testAuthority = Effect.runSync(TestAuthority.make())
    const client = await Msal.make({
      clientId: CLIENT_ID,
      authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
      credential: ClientCredential.secret(SECRET),
      httpClient: TestAuthority.layerHttpClient.pipe(
        Layer.provide(Layer.succeed(TestAuthority.TestAuthority, testAuthority))
      )
    })
    // the structural type is an @azure/core-auth TokenCredential (checked by tsc)
    const promiseCredential: TokenCredential = client.asTokenCredential()
    const seen: Array<string> = []
    const server = Http.createServer((req, res) => {
      seen.push(req.headers.authorization ?? "")
      res.writeHead(200).end()
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const local = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const sendTo = pipelineTo(local, promiseCredential)
      const send = () => sendTo("/items")
      expect([(await send()).status, (await send()).status]).toEqual([200, 200])
      const issuedTokens = await Effect.runPromise(testAuthority.issued)
      expect(issuedTokens).toHaveLength(1)
      expect(seen).toEqual([`Bearer ${issuedTokens[0]!.accessToken}`, `Bearer ${issuedTokens[0]!.accessToken}`])
      const aborted = new AbortController()
      aborted.abort()
      await expect(promiseCredential.getToken(SCOPE, { abortSignal: aborted.signal })).rejects.toMatchObject({
        name: "AbortError"
      })
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await client.dispose()
    }
    await expect(promiseCredential.getToken(SCOPE)).rejects.toMatchObject({
      _tag: "InvalidRequest",
      message: expect.stringMatching(/^the client was closed \(dispose\(\) was called\)/)
    })
  })
})
