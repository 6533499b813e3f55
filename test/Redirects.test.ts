/**
 * No request to an authority follows a redirect (issue 15, item 2). Each request kind goes to
 * a real server on 127.0.0.1 that redirects to a second origin, which would answer a valid
 * token, discovery document, user realm or IMDS location: the call fails with a typed error
 * naming only the status and the second origin, nothing is cached, and the second origin
 * never hears from the client.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, HttpCache, TokenCache, Transport } from "effect-msal"
import type { MsalError, NetworkError } from "effect-msal/MsalError"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { CLIENT_ID, SECRET } from "./support/harness.js"

interface Hit {
  readonly method: string
  readonly path: string
  readonly host: string | undefined
  readonly body: string
}

interface Server {
  readonly url: string
  readonly hits: Array<Hit>
}

type Handler = (
  hit: Hit
) => { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }

/** A server on a free port of 127.0.0.1 for the test's scope, recording every request. */
const serve = (handler: Handler) =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; hits: Array<Hit>; url: string }>((resume) => {
      const hits: Array<Hit> = []
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const hit = {
            method: req.method ?? "",
            path: req.url ?? "",
            host: req.headers["x-forwarded-host"] as string | undefined,
            body: Buffer.concat(chunks).toString("utf8")
          }
          hits.push(hit)
          const answer = handler(hit)
          res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers })
          res.end(answer.body ?? "")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, hits, url: `http://127.0.0.1:${port}` }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ hits, url }): Server => ({ hits, url })))

const json = (value: unknown) => ({ status: 200, body: JSON.stringify(value) })

/** The second origin: a valid answer to every request kind. */
const honest = (hit: Hit) => {
  if (hit.path.includes("/oauth2/v2.0/token")) {
    return json({ token_type: "Bearer", access_token: "second-origin-token", expires_in: 3600 })
  }
  if (hit.path.includes("/discovery/instance")) {
    return json({
      tenant_discovery_endpoint:
        "https://login.contoso.test/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
      metadata: [{
        preferred_network: "login.contoso.test",
        preferred_cache: "login.contoso.test",
        aliases: ["login.contoso.test"]
      }]
    })
  }
  if (hit.path.includes("openid-configuration")) {
    return json({
      issuer: "https://idp.example.test",
      token_endpoint: "https://idp.example.test/token",
      authorization_endpoint: "https://idp.example.test/authorize"
    })
  }
  if (hit.path.includes("/userrealm/")) return json({ account_type: "Managed" })
  if (hit.path.includes("/metadata/instance")) return json({ location: "westus" })
  return { status: 404 }
}

const CODE = "SECRET-CODE-in-the-location"

/** The first origin: redirects what `redirects` selects to the second origin (with a code in the query). */
const redirecting =
  (second: Server, status: number, redirects: (hit: Hit) => boolean, otherwise: Handler = honest): Handler => (hit) =>
    redirects(hit)
      ? { status, headers: { location: `${second.url}/landing/path?code=${CODE}&user=alice` } }
      : otherwise(hit)

const clientVia = (
  first: Server,
  options: Partial<ConfidentialClient.Options>,
  httpLayer?: Layer.Layer<HttpClient.HttpClient>
) =>
  ConfidentialClient.layer({
    clientId: CLIENT_ID,
    // by tenant id: no discovery before the token request (a domain would be discovered first)
    authority: "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47",
    retry: false,
    ...options
  }).pipe(
    Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
    Layer.provideMerge(TokenCache.layerMemory()),
    Layer.provideMerge(HttpCache.layerMemory()),
    Layer.provide(httpLayer ?? TestAuthority.layerHttpClientVia(first.url))
  )

/** Nothing in the token cache, nothing in the HTTP cache. */
const nothingCached = Effect.gen(function*() {
  const snapshot = yield* (yield* TokenCache.TokenCache).snapshot
  for (const entries of Object.values(snapshot.entries)) expect(entries).toEqual([])
  expect(yield* (yield* HttpCache.HttpCache).entries).toEqual([])
})

const expectRefused = (error: unknown, status: number, second: Server) => {
  expect(error).toMatchObject({ _tag: "NetworkError", reason: "Status", status })
  const e = error as NetworkError
  expect(e.description).toBe(`the answer was a redirect to ${second.url}, and redirects are never followed`)
  for (const shown of [e.message, String(e), JSON.stringify(e)]) {
    expect(shown).not.toContain(CODE)
    expect(shown).not.toContain("/landing/path")
    expect(shown).not.toContain(SECRET)
  }
}

const isToken = (hit: Hit) => hit.path.includes("/oauth2/v2.0/token")

const GRAPH_APP = "https://graph.microsoft.com/.default"

/**
 * The first origin redirects (with `status`) what `redirects` selects to an honest second
 * origin; `call` runs on a client that reaches the first (through `http`, default the test
 * authority's client). The call must fail as a refused redirect, the second origin never
 * contacted and nothing cached. The first origin's hits and the error, for more checks.
 */
const refusedRedirect = (
  status: number,
  redirects: (hit: Hit) => boolean,
  options: {
    readonly client?: Partial<ConfidentialClient.Options>
    readonly http?: (first: Server) => Layer.Layer<HttpClient.HttpClient>
    readonly call?: (client: ConfidentialClient.Service) => Effect.Effect<unknown, MsalError>
  } = {}
) =>
  Effect.gen(function*() {
    const second = yield* serve(honest)
    const first = yield* serve(redirecting(second, status, redirects))
    const error = yield* Effect.gen(function*() {
      const client = yield* ConfidentialClient.ConfidentialClient
      const call = options.call ?? ((c) => c.acquireTokenForClient({ scopes: [GRAPH_APP] }))
      const error = yield* Effect.flip(call(client))
      expectRefused(error, status, second)
      expect(second.hits).toEqual([])
      yield* nothingCached
      return error
    }).pipe(Effect.provide(clientVia(first, options.client ?? {}, options.http?.(first))))
    return { error, hits: first.hits }
  })

/** An HttpClient from `layer` whose every request goes to the first origin (same path). */
const toFirst = (first: Server, layer: Layer.Layer<HttpClient.HttpClient>) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(
      HttpClient.HttpClient,
      (c) =>
        HttpClient.mapRequest(
          c,
          (request) => HttpClientRequest.setUrl(request, `${first.url}${new URL(request.url).pathname}`)
        )
    )
  ).pipe(Layer.provide(layer))

describe("redirects are never followed", () => {
  for (const status of [301, 302, 303, 307, 308]) {
    it.scopedLive(`token request: ${status} is a NetworkError, nothing cached, the second origin never contacted`, () =>
      Effect.gen(function*() {
        const { hits } = yield* refusedRedirect(status, isToken)
        expect(hits.map((h) => [h.method, h.host])).toEqual([["POST", "login.microsoftonline.com"]])
      }))
  }

  it.scopedLive("a fetch RequestInit asking to follow is overridden: 307 still refused, the form never re-sent", () =>
    refusedRedirect(307, isToken, {
      http: (first) =>
        toFirst(
          first,
          FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { redirect: "follow" })))
        )
    }))

  it.scopedLive("Transport.layer (undici's fetch, the Promise client's default): 307 refused, the form never re-sent", () =>
    refusedRedirect(307, isToken, {
      http: (first) => toFirst(first, Layer.orDie(Transport.layer({ proxy: false })))
    }))

  it.effect("an HttpClient that is not fetch: its 3xx answers are refused too (Location relative to the request)", () =>
    Effect.gen(function*() {
      const requests: Array<string> = []
      const answering302 = Layer.succeed(
        HttpClient.HttpClient,
        HttpClient.make((request) =>
          Effect.sync(() => {
            requests.push(request.url)
            return HttpClientResponse.fromWeb(
              request,
              new Response(JSON.stringify({ token_type: "Bearer", access_token: "x", expires_in: 3600 }), {
                status: 302,
                headers: { location: `/elsewhere?code=${CODE}` }
              })
            )
          })
        )
      )
      yield* Effect.gen(function*() {
        const client = yield* ConfidentialClient.ConfidentialClient
        const error = yield* Effect.flip(
          client.acquireTokenForClient({ scopes: ["https://graph.microsoft.com/.default"] })
        )
        expectRefused(error, 302, { url: "https://login.microsoftonline.com", hits: [] })
        expect(requests).toHaveLength(1)
        yield* nothingCached
      }).pipe(Effect.provide(clientVia({ url: "", hits: [] }, {}, answering302)))
    }))

  it.scopedLive("instance discovery: a redirect is a NetworkError, no endpoints kept, no token request", () =>
    Effect.gen(function*() {
      const { hits } = yield* refusedRedirect(302, (h) => h.path.includes("/discovery/instance"), {
        client: { authority: "https://login.contoso.test/contoso.onmicrosoft.com" }
      })
      expect(hits.map((h) => [h.method, h.host, h.path.split("?")[0]])).toEqual([
        ["GET", "login.microsoftonline.com", "/common/discovery/instance"]
      ])
    }))

  it.scopedLive("OpenID Connect discovery: a redirect is a NetworkError, no document kept, no token request", () =>
    Effect.gen(function*() {
      const { hits } = yield* refusedRedirect(308, (h) => h.path.includes("openid-configuration"), {
        client: { authority: undefined, oidcAuthority: "https://idp.example.test" },
        call: (client) => client.acquireTokenForClient({ scopes: ["api://x/.default"] })
      })
      expect(hits.map((h) => [h.method, h.host, h.path])).toEqual([
        ["GET", "idp.example.test", "/.well-known/openid-configuration"]
      ])
    }))

  it.scopedLive("user-realm discovery: a redirect is a NetworkError naming neither the user nor the location; no password sent", () =>
    Effect.gen(function*() {
      const { error, hits } = yield* refusedRedirect(302, (h) => h.path.includes("/userrealm/"), {
        call: (client) =>
          client.acquireTokenByUsernamePassword({
            username: "alice@contoso.com",
            password: "Passw0rd-never-sent",
            scopes: ["User.Read"]
          })
      })
      expect(JSON.stringify(error)).not.toContain("alice")
      expect(hits.map((h) => [h.method, h.host])).toEqual([["GET", "login.microsoftonline.com"]])
    }))

  it.scopedLive("IMDS region detection: a redirect means no region; the token comes from the global endpoint", () =>
    Effect.gen(function*() {
      const second = yield* serve(honest)
      const first = yield* serve(redirecting(second, 302, (h) => h.path.includes("/metadata/instance")))
      yield* Effect.gen(function*() {
        const client = yield* ConfidentialClient.ConfidentialClient
        const result = yield* client.acquireTokenForClient({ scopes: ["https://graph.microsoft.com/.default"] })
        expect(result.tokenSource).toBe("identity_provider")
        expect(first.hits.map((h) => [h.method, h.host, h.path.split("?")[0]])).toEqual([
          ["GET", "169.254.169.254", "/metadata/instance/compute"],
          ["POST", "login.microsoftonline.com", "/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"]
        ])
        expect(second.hits).toEqual([])
        expect(yield* (yield* HttpCache.HttpCache).entries).toEqual([])
      }).pipe(Effect.provide(clientVia(first, { azureRegion: "discover" })))
    }))
})
