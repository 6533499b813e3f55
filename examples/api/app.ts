/**
 * The middle-tier API with its identity provider and downstream API: the test authority and
 * a local downstream API on 127.0.0.1 by default, Entra ID and a real API when
 * `AZURE_CLIENT_ID` is set.
 */
import { FetchHttpClient } from "@effect/platform"
import type { HttpServerError } from "@effect/platform"
import type { ConfigError, Scope, Layer } from "effect"
import { Config, Effect, Option } from "effect"
import type { MsalError } from "effect-msal"
import type { ConfidentialClient } from "effect-msal"
import * as Identity from "../shared/Identity.js"
import * as ResourceServer from "../shared/ResourceServer.js"
import * as Server from "../shared/Server.js"
import { Downstream, router } from "./api.js"
import type { DownstreamService } from "./api.js"

/** The API's registration with the test authority: callers' tokens carry this as `aud`. */
export const CLIENT_ID = "4c3b2a19-8d7e-4f6a-9b5c-1d2e3f4a5b6c"
const CLIENT_SECRET = "api-example-secret"

/** The downstream API of MSAL Python's on-behalf-of scenario, which the local stand-in plays on 127.0.0.1. */
export const LOCAL_DOWNSTREAM_AUDIENCE = "https://api.downstream.com"

/** The running API. */
export interface Started {
  readonly url: string
  readonly downstream: DownstreamService
  /** The local downstream API (test-authority mode). */
  readonly resource: Option.Option<ResourceServer.Running>
}

/** The downstream API: a local stand-in, or `DOWNSTREAM_API_URL` and `DOWNSTREAM_API_SCOPES` (default Graph's `/me`). */
const downstream = Effect.gen(function*() {
  const identity = yield* Identity.Identity
  if (Option.isNone(identity.local)) {
    const url = yield* Config.string("DOWNSTREAM_API_URL").pipe(
      Config.withDefault("https://graph.microsoft.com/v1.0/me")
    )
    const scopes = yield* Config.string("DOWNSTREAM_API_SCOPES").pipe(
      Config.withDefault("https://graph.microsoft.com/User.Read"),
      Config.map((s) => s.split(/[\s,]+/).filter((x) => x.length > 0))
    )
    return { service: { url, scopes }, resource: Option.none<ResourceServer.Running>() }
  }
  const resource = yield* ResourceServer.serve(identity.local.value.authority, {
    audience: LOCAL_DOWNSTREAM_AUDIENCE,
    tokenKind: "user",
    routes: {
      "/data": (claims) => ({
        message: "Hello from the downstream API",
        user: claims.name,
        scopes: claims.scp
      })
    }
  })
  return {
    service: { url: `${resource.url}/data`, scopes: [`${LOCAL_DOWNSTREAM_AUDIENCE}/.default`] },
    resource: Option.some(resource)
  }
})

/** Starts the API (and, locally, the downstream API); everything stops with the scope. */
export const start = (
  options: Server.ListenOptions
): Effect.Effect<
  Started,
  HttpServerError.ServeError | ConfigError.ConfigError,
  Scope.Scope | Identity.Identity | ConfidentialClient.ConfidentialClient
> =>
  Effect.gen(function*() {
    const { resource, service } = yield* downstream
    const url = yield* Server.listen(router, options).pipe(
      Effect.provideService(Downstream, service),
      Effect.provide(FetchHttpClient.layer)
    )
    return { url, downstream: service, resource }
  })

/** The API's client and identity provider. */
export const identityLayer = (
  overrides?: Partial<Identity.Options>
): Layer.Layer<
  ConfidentialClient.ConfidentialClient | Identity.Identity,
  MsalError.MsalError | ConfigError.ConfigError
> =>
  Identity.layer({ appName: "effect-msal-example-api", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...overrides })
