/**
 * Where the examples get their tokens: the embedded test authority served on 127.0.0.1 (the
 * default), or Microsoft Entra ID when `AZURE_CLIENT_ID` is set (then `AZURE_TENANT_ID` and
 * one credential, `AZURE_CLIENT_SECRET` for example, are read by
 * `ConfidentialClient.layerConfig`).
 *
 * Only this module knows which one is in use: the applications see a `ConfidentialClient`
 * and this small `Identity` service.
 */
import type { HttpClient } from "@effect/platform"
import { FetchHttpClient } from "@effect/platform"
import type { ConfigError } from "effect"
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import type { MsalError } from "effect-msal"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"

/** The tenant the test authority plays, and the Entra host it stands in for. */
export const LOCAL_AUTHORITY = "https://login.microsoftonline.com/contoso.onmicrosoft.com"

/** The embedded authority, when it is the one in use. */
export interface Local {
  readonly authority: TestAuthority.Service
  readonly server: TestAuthority.Server
}

/** What an application needs to know about its identity provider. */
export interface Service {
  readonly mode: "test-authority" | "entra"
  /** The application (client) id. */
  readonly clientId: string
  /** The embedded authority (test-authority mode only). */
  readonly local: Option.Option<Local>
  /**
   * The URL to send a browser to for an authorize URL from `initiateAuthCodeFlow`: the URL
   * itself with Entra, the same path on the local server with the test authority.
   */
  readonly browserUrl: (authUri: string) => string
}

/** The identity provider in use. */
export class Identity extends Context.Tag("examples/Identity")<Identity, Service>() {}

/** How an example identifies itself to the test authority (ignored with Entra). */
export interface Options {
  /** Sent as `x-app-name`. */
  readonly appName: string
  /** The client id registered with the test authority. */
  readonly clientId: string
  /** The client secret registered with the test authority. */
  readonly clientSecret: string
  /** Test-authority settings (scripted users, lifetimes, …). */
  readonly authority?: Partial<TestAuthority.Settings> | undefined
  /** Client options, for example `authCodeFlowLifetime`. */
  readonly client?: Omit<ConfidentialClient.Options, "clientId" | "authority" | "oidcAuthority"> | undefined
  /** The HTTP client towards Entra ID. Default `FetchHttpClient.layer`. */
  readonly entraHttpClient?: Layer.Layer<HttpClient.HttpClient> | undefined
}

/** The test authority served on 127.0.0.1, and a client whose requests go there. */
const local = (options: Options): Layer.Layer<ConfidentialClient.ConfidentialClient | Identity, MsalError.MsalError> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const authority = yield* TestAuthority.make({
      clients: { [options.clientId]: { secret: options.clientSecret } },
      ...options.authority
    })
    const server = yield* TestAuthority.serve().pipe(Effect.provideService(TestAuthority.TestAuthority, authority))
    const origin = new URL(LOCAL_AUTHORITY).origin
    const identity: Service = {
      mode: "test-authority",
      clientId: options.clientId,
      local: Option.some({ authority, server }),
      browserUrl: (authUri) =>
        authUri.startsWith(`${origin}/`) ? `${server.url}${authUri.slice(origin.length)}` : authUri
    }
    const client = ConfidentialClient.layer({
      ...options.client,
      clientId: options.clientId,
      authority: LOCAL_AUTHORITY,
      appName: options.appName
    }).pipe(
      Layer.provide(CredentialSigner.layer(ClientCredential.secret(Redacted.make(options.clientSecret)))),
      Layer.provide(TokenCache.layerMemory()),
      Layer.provide(TestAuthority.layerHttpClientVia(server.url))
    )
    return Layer.merge(client, Layer.succeed(Identity, identity))
  }))

/** Microsoft Entra ID, configured by the environment. */
const entra = (
  options: Options,
  clientId: string
): Layer.Layer<ConfidentialClient.ConfidentialClient | Identity, MsalError.MsalError | ConfigError.ConfigError> =>
  Layer.merge(
    ConfidentialClient.layerConfig({ ...options.client, appName: options.appName }).pipe(
      Layer.provide(TokenCache.layerMemory()),
      Layer.provide(options.entraHttpClient ?? FetchHttpClient.layer)
    ),
    Layer.succeed(Identity, { mode: "entra", clientId, local: Option.none(), browserUrl: (authUri) => authUri })
  )

/**
 * The client and its identity provider: Entra ID when `AZURE_CLIENT_ID` is set, else the
 * test authority on 127.0.0.1 (stopped when the layer is released).
 */
export const layer = (
  options: Options
): Layer.Layer<ConfidentialClient.ConfidentialClient | Identity, MsalError.MsalError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(
      Config.option(Config.nonEmptyString("AZURE_CLIENT_ID")),
      Option.match({
        onNone: () => local(options),
        onSome: (clientId) => entra(options, clientId.trim())
      })
    )
  )

/** The embedded authority; a defect in Entra mode (only local-only code paths call it). */
export const localAuthority: Effect.Effect<Local, never, Identity> = Effect.flatMap(
  Identity,
  (identity) =>
    Option.match(identity.local, {
      onNone: () => Effect.dieMessage("the test authority is not in use (AZURE_CLIENT_ID is set)"),
      onSome: Effect.succeed
    })
)
