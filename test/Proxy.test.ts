/**
 * Token requests through a real HTTP CONNECT proxy on 127.0.0.1 (test/support/connectProxy.ts):
 * `Transport.layer` honours HTTP_PROXY / HTTPS_PROXY / NO_PROXY and an explicit proxy, and the
 * Promise client uses it by default.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, MsalError, TokenCache, Transport } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Msal from "effect-msal/promise"
import { startConnectProxy } from "./support/connectProxy.js"

const CLIENT_ID = "11111111-2222-3333-4444-555555555555"
// by tenant id: the token request is the only request (a domain would be discovered first)
const AUTHORITY = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47"
const GRAPH = "https://graph.microsoft.com/.default"
const TOKEN_REQUEST_LINE = "POST /72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token HTTP/1.1"

type Proxy = Awaited<ReturnType<typeof startConnectProxy>>
let proxy: Proxy
let saved: NodeJS.ProcessEnv
beforeEach(async () => {
  proxy = await startConnectProxy()
  saved = { ...process.env }
  for (const name of ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"]) {
    delete process.env[name]
  }
})
afterEach(async () => {
  process.env = saved
  await proxy.close()
})

/**
 * A served test authority on 127.0.0.1, and a client whose requests for
 * login.microsoftonline.com are re-addressed to it over `transport` (plain HTTP, so the proxy
 * sees the request line inside its tunnel).
 */
const acquireVia = (transport: Layer.Layer<HttpClient.HttpClient, MsalError.InvalidRequest>) =>
  Effect.gen(function*() {
    const server = yield* TestAuthority.serve()
    const toLoopback = Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, (client) =>
        HttpClient.mapRequest(client, (request) => {
          const original = new URL(request.url)
          return request.pipe(
            HttpClientRequest.setUrl(`${server.url}${original.pathname}${original.search}`),
            HttpClientRequest.setHeader("x-forwarded-host", original.host)
          )
        }))
    ).pipe(Layer.provide(transport))
    const result = yield* Effect.flatMap(ConfidentialClient.ConfidentialClient, (c) =>
      c.acquireTokenForClient({ scopes: [GRAPH] })).pipe(
        Effect.provide(
          ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, retry: false }).pipe(
            Layer.provide(CredentialSigner.layer(ClientCredential.secret("s3cret"))),
            Layer.provide(TokenCache.layerMemory()),
            Layer.provide(toLoopback)
          )
        )
      )
    return { result, port: server.port }
  }).pipe(Effect.provide(TestAuthority.layer()), Effect.scoped)

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("Transport.layer", () => {
  it.live("HTTP_PROXY: the token request goes through the proxy's CONNECT tunnel", () =>
    Effect.gen(function*() {
      const { port, result } = yield* acquireVia(Transport.layer()).pipe(withEnv({ HTTP_PROXY: proxy.url }))
      expect(result.tokenSource).toBe("identity_provider")
      expect(proxy.tunnels.map((t) => t.target)).toEqual([`127.0.0.1:${port}`])
      expect(proxy.tunnels[0]!.firstLine).toBe(TOKEN_REQUEST_LINE)
    }))

  it.live("the lower-case name wins over the upper-case one", () =>
    Effect.gen(function*() {
      const other = yield* Effect.promise(() => startConnectProxy())
      try {
        yield* acquireVia(Transport.layer()).pipe(withEnv({ http_proxy: other.url, HTTP_PROXY: proxy.url }))
        expect(other.tunnels).toHaveLength(1)
        expect(proxy.tunnels).toHaveLength(0)
      } finally {
        yield* Effect.promise(() => other.close())
      }
    }))

  it.live("NO_PROXY: a listed host is reached directly, the proxy sees nothing", () =>
    Effect.gen(function*() {
      const { result } = yield* acquireVia(Transport.layer()).pipe(
        withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.1" })
      )
      expect(result.tokenSource).toBe("identity_provider")
      expect(proxy.tunnels).toEqual([])
      // the option overrides the variable
      yield* acquireVia(Transport.layer({ noProxy: "" })).pipe(
        withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" })
      )
      expect(proxy.tunnels).toHaveLength(1)
    }))

  it.live("an explicit proxy is used whatever the environment says; proxy: false goes direct", () =>
    Effect.gen(function*() {
      const proxyWithUser = proxy.url.replace("http://", "http://app:pa55@")
      yield* acquireVia(Transport.layer({ proxy: proxyWithUser })).pipe(withEnv({}))
      expect(proxy.tunnels).toHaveLength(1)
      expect(proxy.tunnels[0]!.authorization).toBe(`Basic ${Buffer.from("app:pa55").toString("base64")}`)
      expect(proxy.tunnels[0]!.firstLine).toBe(TOKEN_REQUEST_LINE)
      yield* acquireVia(Transport.layer({ proxy: false })).pipe(withEnv({ HTTP_PROXY: proxy.url }))
      expect(proxy.tunnels).toHaveLength(1)
    }))

  it.live("HTTPS_PROXY carries https requests (here refused by the proxy: a NetworkError, nothing leaves the machine)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.flatMap(
        ConfidentialClient.ConfidentialClient,
        (c) => c.acquireTokenForClient({ scopes: [GRAPH] })
      ).pipe(
        Effect.provide(
          ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, retry: false }).pipe(
            Layer.provide(CredentialSigner.layer(ClientCredential.secret("s3cret"))),
            Layer.provide(TokenCache.layerMemory()),
            Layer.provide(Transport.layer())
          )
        ),
        withEnv({ HTTPS_PROXY: proxy.url, HTTP_PROXY: "http://127.0.0.1:9" }),
        Effect.exit
      )
      expect(proxy.tunnels.map((t) => t.target)).toEqual(["login.microsoftonline.com:443"])
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toMatchObject({
        _tag: "NetworkError",
        reason: "Transport"
      })
    }))

  it.effect("a proxy URL that is not http(s) fails the layer with an InvalidRequest naming it", () =>
    Effect.gen(function*() {
      const fromEnv = yield* Effect.flip(
        Layer.build(Transport.layer()).pipe(Effect.scoped, withEnv({ HTTPS_PROXY: "proxy:8080" }))
      )
      expect(fromEnv).toBeInstanceOf(MsalError.InvalidRequest)
      expect(fromEnv).toMatchObject({ field: "HTTPS_PROXY" })
      const fromOption = yield* Effect.flip(
        Layer.build(Transport.layer({ proxy: "socks5://127.0.0.1:1080" })).pipe(Effect.scoped)
      )
      expect(fromOption).toMatchObject({ _tag: "InvalidRequest", field: "proxy" })
    }))
})

describe("the Promise client", () => {
  it("uses the proxy of HTTPS_PROXY by default", async () => {
    process.env.HTTPS_PROXY = proxy.url
    const client = await Msal.make({
      clientId: CLIENT_ID,
      authority: AUTHORITY,
      credential: ClientCredential.secret("s3cret"),
      retry: false
    })
    try {
      await expect(client.acquireTokenForClient({ scopes: [GRAPH] })).rejects.toBeInstanceOf(MsalError.NetworkError)
      expect(proxy.tunnels.map((t) => t.target)).toEqual(["login.microsoftonline.com:443"])
    } finally {
      await client.dispose()
    }
  })
})
