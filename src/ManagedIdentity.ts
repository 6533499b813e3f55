/**
 * Tokens for an Azure managed identity: no secret in the application, the platform vouches
 * for it. The source is detected from the environment as MSAL does (Service Fabric, App
 * Service and Functions, Azure Machine Learning, Cloud Shell, Azure Arc, else the VM's
 * instance metadata service), tokens are cached in the `TokenCache` as msal-node caches
 * them, refreshed in the background at `refresh_in` (or half their lifetime when it is
 * over two hours), and identical requests in flight are joined.
 *
 * The environment is read through Effect's `ConfigProvider` (the process environment by
 * default): `IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, `IDENTITY_SERVER_THUMBPRINT`,
 * `IMDS_ENDPOINT`, `MSI_ENDPOINT`, `MSI_SECRET`, `AZURE_POD_IDENTITY_AUTHORITY_HOST`,
 * `DEFAULT_IDENTITY_CLIENT_ID`. Secrets from it (`IDENTITY_HEADER`, `MSI_SECRET`, Azure
 * Arc's key) are never logged and never in an error or a span.
 *
 * @example
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
 * import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
 * import { ManagedIdentity, TokenCache } from "effect-msal"
 *
 * const MiLive = ManagedIdentity.layer().pipe(
 *   Layer.provide(TokenCache.layerMemory()),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 *
 * const program = Effect.gen(function* () {
 *   const mi = yield* ManagedIdentity.ManagedIdentity
 *   return yield* mi.acquireToken({ resource: "https://management.azure.com" })
 * }).pipe(Effect.provide(MiLive))
 * ```
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import type { AuthenticationResult } from "./AuthenticationResult.js"
import * as internal from "./internal/managedIdentity/client.js"
import type { InvalidRequest, MsalError } from "./MsalError.js"
import type { TokenCache } from "./TokenCache.js"

/**
 * Which managed identity to use: system-assigned without options, or one user-assigned
 * identity by client id, object id or Azure resource id (one of them).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** A user-assigned identity's client (application) id. */
  readonly clientId?: string | undefined
  /** A user-assigned identity's object (principal) id. */
  readonly objectId?: string | undefined
  /** A user-assigned identity's Azure resource id (`/subscriptions/…/userAssignedIdentities/…`). */
  readonly resourceId?: string | undefined
  /** Client capabilities (for example `["cp1"]`), sent as `xms_cc`. */
  readonly clientCapabilities?: ReadonlyArray<string> | undefined
  /** How long one HTTP attempt may take. Default 10 seconds. */
  readonly attemptTimeout?: Duration.DurationInput | undefined
}

/**
 * A token request.
 *
 * @since 0.1.0
 * @category models
 */
export interface AcquireTokenRequest {
  /** The resource (`https://management.azure.com`); a trailing `/.default` is dropped. */
  readonly resource: string
  /**
   * A claims challenge from a resource that refused the cached token: the cache is skipped
   * and, where the source supports it (Service Fabric), the refused token's SHA-256 is sent
   * so the platform renews it too.
   */
  readonly claims?: string | undefined
  /** Skip the cache. */
  readonly forceRefresh?: boolean | undefined
}

/**
 * The sources a managed identity can come from (msal-node's `ManagedIdentitySourceNames`).
 *
 * @since 0.1.0
 * @category models
 */
export type SourceName = "Imds" | "AppService" | "AzureArc" | "CloudShell" | "ServiceFabric" | "MachineLearning"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * A token for the resource. Fails with `InvalidRequest` for a bad request, a malformed
   * environment, or an identity kind the detected source does not support (Azure Arc and
   * Cloud Shell: system-assigned only; Azure ML: system-assigned or client id).
   */
  readonly acquireToken: (request: AcquireTokenRequest) => Effect.Effect<AuthenticationResult, MsalError>
  /** The source detected from the environment. */
  readonly source: Effect.Effect<SourceName, InvalidRequest>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ManagedIdentity extends Context.Tag("effect-msal/ManagedIdentity")<ManagedIdentity, Service>() {}

/**
 * Builds the service. The environment is read at once; the source is chosen at the first
 * request (Azure Arc's agent is looked for on disk then).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<Service, never, HttpClient.HttpClient | TokenCache | Scope.Scope> = internal.make

/**
 * The service as a layer: system-assigned by default, or `{ clientId | objectId | resourceId }`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<ManagedIdentity, never, HttpClient.HttpClient | TokenCache> =>
  Layer.scoped(ManagedIdentity, make(options))
