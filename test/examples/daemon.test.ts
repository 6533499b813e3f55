/**
 * The daemon example over real HTTP on 127.0.0.1: an app token, a local Graph that checks it,
 * the second round from the cache; Entra mode from the environment; `npm run example:daemon`.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Redacted } from "effect"
import { ConfidentialClient } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { CLIENT_ID, GRAPH_SCOPE, graph, identityLayer, rounds } from "../../examples/daemon/daemon.js"
import * as Identity from "../../examples/shared/Identity.js"
import * as ResourceServer from "../../examples/shared/ResourceServer.js"
import { runToEnd } from "./spawn.js"

const get = (url: string, authorization?: string) =>
  Effect.promise(() =>
    fetch(url, authorization === undefined ? {} : { headers: { authorization } }).then(async (r) => ({
      status: r.status,
      challenge: r.headers.get("www-authenticate"),
      body: await r.text()
    }))
  )

describe("the daemon example", () => {
  it.scopedLive("gets an app token, calls the local Graph with it, and serves the second round from the cache", () =>
    Effect.gen(function*() {
      const g = yield* graph
      const { authority } = yield* Identity.localAuthority
      const [first, second] = yield* rounds(g.url)
      expect(first).toEqual({
        tokenSource: "identity_provider",
        users: ["Alice Adams", "Bob Baker", "Carol Federated"]
      })
      expect(second.tokenSource).toBe("cache")
      expect(second.users).toHaveLength(3)

      // one token request, with the app's registered credentials and the Graph scope
      const requests = yield* authority.tokenRequests
      expect(requests).toHaveLength(1)
      expect(requests[0]!.form).toMatchObject({
        grant_type: "client_credentials",
        client_id: CLIENT_ID,
        scope: "https://graph.microsoft.com/.default"
      })
      // Graph saw the authority's first token, twice
      const calls = yield* Option.getOrThrow(g.local).calls
      expect(calls).toEqual([
        { path: "/v1.0/users", status: 200, tokenSequence: 1 },
        { path: "/v1.0/users", status: 200, tokenSequence: 1 }
      ])
    }).pipe(Effect.provide(Layer.merge(identityLayer(), FetchHttpClient.layer))))

  it.scopedLive("the local Graph refuses a missing token, a forged one, and tokens for another audience or a user", () =>
    Effect.gen(function*() {
      const g = yield* graph
      const client = yield* ConfidentialClient.ConfidentialClient
      const users = `${g.url}/v1.0/users`
      const bearer = (r: { readonly accessToken: Redacted.Redacted<string> }) =>
        `Bearer ${Redacted.value(r.accessToken)}`

      const none = yield* get(users)
      expect(none.status).toBe(401)
      expect(none.challenge).toBe("Bearer realm=\"\"")
      const forged = yield* get(users, "Bearer not.issued.here")
      expect(forged.status).toBe(401)
      expect(forged.challenge).toContain("error=\"invalid_token\"")
      expect((yield* get(users, "Basic dXNlcjpwYXNz")).status).toBe(401)

      const vault = yield* client.acquireTokenForClient({ scopes: ["https://vault.azure.net/.default"] })
      const wrongAudience = yield* get(users, bearer(vault))
      expect(wrongAudience.status).toBe(401)
      expect(wrongAudience.body).toContain("not for https://graph.microsoft.com")

      const user = yield* client.acquireTokenByUsernamePassword({
        username: "alice@contoso.onmicrosoft.com",
        password: "correct horse battery staple",
        scopes: ["https://graph.microsoft.com/User.Read"]
      })
      const userToken = yield* get(users, bearer(user))
      expect(userToken.status).toBe(401)
      expect(userToken.body).toContain("an application token is required")

      const app = yield* client.acquireTokenForClient({ scopes: [GRAPH_SCOPE] })
      expect((yield* get(users, bearer(app))).status).toBe(200)
      // nothing the server answered echoes a token
      for (const answer of [forged, wrongAudience, userToken]) {
        expect(answer.body).not.toContain(Redacted.value(vault.accessToken))
        expect(answer.body).not.toContain(Redacted.value(user.accessToken))
      }
    }).pipe(Effect.provide(Layer.merge(identityLayer(), FetchHttpClient.layer))))

  it.scopedLive("with AZURE_CLIENT_ID set it uses ConfidentialClient.layerConfig and GRAPH_URL", () =>
    Effect.gen(function*() {
      // Entra ID played by a test authority on 127.0.0.1, reached through the Entra-mode HTTP client
      const authority = yield* TestAuthority.make({ clients: { "entra-daemon": { secret: "from-the-environment" } } })
      const server = yield* TestAuthority.serve().pipe(Effect.provideService(TestAuthority.TestAuthority, authority))
      const localGraph = yield* ResourceServer.serve(authority, {
        audience: "https://graph.microsoft.com",
        tokenKind: "app",
        routes: { "/v1.0/users": () => ({ value: [{ displayName: "Entra User" }] }) }
      })
      const environment = ConfigProvider.fromMap(
        new Map([
          ["AZURE_CLIENT_ID", "entra-daemon"],
          ["AZURE_TENANT_ID", "contoso.onmicrosoft.com"],
          ["AZURE_CLIENT_SECRET", "from-the-environment"],
          ["GRAPH_URL", `${localGraph.url}/`]
        ])
      )
      const result = yield* Effect.gen(function*() {
        const identity = yield* Identity.Identity
        expect(identity.mode).toBe("entra")
        expect(identity.clientId).toBe("entra-daemon")
        expect(Option.isNone(identity.local)).toBe(true)
        const g = yield* graph
        expect(g.url).toBe(localGraph.url)
        return yield* rounds(g.url)
      }).pipe(
        Effect.provide(Layer.merge(
          identityLayer({ entraHttpClient: TestAuthority.layerHttpClientVia(server.url) }),
          FetchHttpClient.layer
        )),
        Effect.withConfigProvider(environment)
      )
      expect(result.map((r) => r.tokenSource)).toEqual(["identity_provider", "cache"])
      expect(result[0].users).toEqual(["Entra User"])
      const requests = yield* authority.tokenRequests
      expect(requests.map((r) => [r.path, r.form.client_id, r.headers["x-forwarded-host"]])).toEqual([
        // AZURE_TENANT_ID names a domain: the token endpoint is the one discovery names, by tenant id
        ["/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token", "entra-daemon", "login.microsoftonline.com"]
      ])
    }))

  it.live("with AZURE_CLIENT_ID but no credential, the layer fails with a ConfigError naming the variable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(identityLayer())).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(
            new Map([
              ["AZURE_CLIENT_ID", "entra-daemon"],
              ["AZURE_TENANT_ID", "contoso.onmicrosoft.com"]
            ])
          ))
        )
      )
      expect(String(error)).toContain("AZURE_CLIENT_SECRET")
    }))

  it("npm run example:daemon prints both rounds and exits 0", async () => {
    const { code, stderr, stdout } = await runToEnd("example:daemon")
    expect(stderr).not.toContain("The daemon failed")
    expect(code).toBe(0)
    expect(stdout).toMatch(
      /1\. Token from the identity provider; Graph lists 3 users: Alice Adams, Bob Baker, Carol Federated/
    )
    expect(stdout).toMatch(/2\. Token from the token cache; Graph lists 3 users/)
  }, 90_000)
})
