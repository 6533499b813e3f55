/**
 * A daemon (MSAL Python's client-credentials scenario): an application token for Microsoft Graph (client credentials), used to
 * list the directory's users; the second run is served from the token cache.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Config, Console, Effect, Layer, Option, Schema } from "effect"
import { ConfidentialClient } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Identity from "../shared/Identity.js"
import * as ResourceServer from "../shared/ResourceServer.js"

/** The daemon's registration with the test authority (Entra mode reads `AZURE_*` instead). */
export const CLIENT_ID = "9a8c1f10-5d6e-4b7a-8c9d-0e1f2a3b4c5d"
const CLIENT_SECRET = "daemon-example-secret"

/** Microsoft Graph, as a client-credentials scope. */
export const GRAPH_SCOPE = "https://graph.microsoft.com/.default"
const GRAPH_AUDIENCE = "https://graph.microsoft.com"

const Users = Schema.Struct({
  value: Schema.Array(Schema.Struct({
    displayName: Schema.optional(Schema.NullOr(Schema.String)),
    userPrincipalName: Schema.optional(Schema.NullOr(Schema.String))
  }))
})

/** One round: where the token came from and what Graph answered. */
export interface Round {
  readonly tokenSource: "cache" | "identity_provider"
  readonly users: ReadonlyArray<string>
}

/** `GET {graph}/v1.0/users` with an app token, twice. */
export const rounds = (graphUrl: string) =>
  Effect.gen(function*() {
    const client = yield* ConfidentialClient.ConfidentialClient
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
    const round = Effect.gen(function*() {
      const result = yield* client.acquireTokenForClient({ scopes: [GRAPH_SCOPE] })
      const users = yield* http.execute(
        HttpClientRequest.get(`${graphUrl}/v1.0/users`).pipe(HttpClientRequest.bearerToken(result.accessToken))
      ).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Users)), Effect.scoped)
      return {
        tokenSource: result.tokenSource,
        users: users.value.map((u) => u.displayName ?? u.userPrincipalName ?? "(unnamed)")
      } satisfies Round
    })
    const first = yield* round
    yield* Console.log(
      `1. Token from ${describe(first.tokenSource)}; Graph lists ${plural(first.users.length, "user")}: ${
        first.users.join(", ")
      }`
    )
    const second = yield* round
    yield* Console.log(
      `2. Token from ${describe(second.tokenSource)}; Graph lists ${plural(second.users.length, "user")}`
    )
    return [first, second] as const
  })

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`

const describe = (source: Round["tokenSource"]) => (source === "cache" ? "the token cache" : "the identity provider")

/** The daemon's client and identity provider. */
export const identityLayer = (overrides?: Partial<Identity.Options>) =>
  Identity.layer({
    appName: "effect-msal-example-daemon",
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    ...overrides
  })

/**
 * The Graph the daemon calls: with the test authority, a local Graph on 127.0.0.1 that
 * accepts only its app tokens; with Entra ID, Microsoft Graph itself (`GRAPH_URL` to
 * override), which needs the application permission `User.Read.All`.
 */
export const graph = Effect.gen(function*() {
  const identity = yield* Identity.Identity
  if (Option.isNone(identity.local)) {
    const url = yield* Config.string("GRAPH_URL").pipe(Config.withDefault("https://graph.microsoft.com"))
    return { url: url.replace(/\/+$/, ""), local: Option.none<ResourceServer.Running>() }
  }
  const { authority, server } = identity.local.value
  const local = yield* ResourceServer.serve(authority, {
    audience: GRAPH_AUDIENCE,
    tokenKind: "app",
    routes: {
      "/v1.0/users": () => ({
        value: TestAuthority.defaultUsers.map((u) => ({ displayName: u.displayName, userPrincipalName: u.username }))
      })
    }
  })
  yield* Console.log(`Test authority on ${server.url}; a local Microsoft Graph on ${local.url}`)
  return { url: local.url, local: Option.some(local) }
})

/** The whole daemon, ready to run. */
export const program = Effect.flatMap(graph, (g) => rounds(g.url)).pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(identityLayer(), FetchHttpClient.layer))
)
