/**
 * The client as an Azure SDK credential: a `TokenCredential` (from `@azure/core-auth`) that
 * any Azure SDK client (Key Vault, Storage, Service Bus, …) or `@azure/core-rest-pipeline`'s
 * `bearerTokenAuthenticationPolicy` can use. Tokens come from the client, with its cache,
 * single-flight and background refresh; a claims challenge (Continuous Access Evaluation)
 * passed by the policy bypasses the cache.
 *
 * Import it from `effect-msal/AzureIdentity`; `@azure/core-auth` is an optional peer
 * dependency, needed for its types only.
 *
 * The credential works while the client's layer is open: use it inside the program the layer
 * is provided to (a credential kept after that rejects with "the client was closed").
 *
 * @example
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
 * import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
 * import { ConfidentialClient, TokenCache } from "effect-msal"
 * import * as AzureIdentity from "effect-msal/AzureIdentity"
 *
 * const ClientLive = ConfidentialClient.layerConfig().pipe(
 *   Layer.provide(TokenCache.layerMemory()),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 * const program = Effect.gen(function*() {
 *   const credential = yield* AzureIdentity.make
 *   // const secrets = new SecretClient(vaultUrl, credential)
 *   // yield* Effect.tryPromise({ try: () => secrets.getSecret("db"), catch: (e) => new VaultError({ cause: e }) })
 *   return yield* Effect.tryPromise(() => credential.getToken("https://vault.azure.net/.default"))
 * }).pipe(Effect.provide(ClientLive))
 * ```
 * @since 0.1.0
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth"
import type * as Runtime from "effect/Runtime"
import * as Effect from "effect/Effect"
import * as R from "effect/Runtime"
import type { AuthenticationResult } from "./AuthenticationResult.js"
import type { ClientCredentialsRequest, Service } from "./ConfidentialClient.js"
import { ConfidentialClient } from "./ConfidentialClient.js"
import * as internal from "./internal/azureIdentity.js"

/**
 * The `AccessToken` of an `AuthenticationResult`: `token` is the raw access token (the one
 * place it leaves its `Redacted` wrapper), `expiresOnTimestamp` and `refreshAfterTimestamp` are
 * epoch milliseconds.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toAccessToken: (result: AuthenticationResult) => AccessToken = internal.toAccessToken

/**
 * The client request for a `getToken` call: `claims` (the decoded claims challenge) and
 * `tenantId` are passed on; `enableCae` is not needed (declare `clientCapabilities: ["CP1"]`
 * on the client to receive CAE tokens).
 *
 * @since 0.1.0
 * @category conversions
 */
export const toRequest: (scopes: string | Array<string>, options?: GetTokenOptions) => ClientCredentialsRequest =
  internal.toRequest

/**
 * A `TokenCredential` over a client, run on the given runtime (the default runtime unless
 * given). `getToken` acquires an app token (`acquireTokenForClient`); it rejects with the
 * client's `MsalError` instances, with an `Error` named `AbortError` when `abortSignal` fires,
 * with a `NetworkError` (`reason: "Timeout"`) after `requestOptions.timeout` milliseconds, and
 * with an `InvalidRequest` saying "the client was closed" when the client's layer scope has
 * closed (a credential kept after `Effect.provide` or `ManagedRuntime.dispose` released it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromClient = (
  client: Service,
  runtime: Runtime.Runtime<never> = R.defaultRuntime
): TokenCredential => ({ getToken: internal.getToken(client, runtime) })

/**
 * A `TokenCredential` over the `ConfidentialClient` in context, run on the current runtime
 * (its tracer, logger and metrics included). Use it while the client's layer is open: provide
 * the layer around the code that uses the credential, or build it in a `ManagedRuntime` (for
 * Promise code, `effect-msal/promise`'s `client.asTokenCredential()` is simpler).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<TokenCredential, never, ConfidentialClient> = Effect.flatMap(
  ConfidentialClient,
  (client) => Effect.map(Effect.runtime<never>(), (runtime) => fromClient(client, runtime))
)
