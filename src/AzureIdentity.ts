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
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Layer } from "effect"
 * import { ConfidentialClient, TokenCache } from "effect-msal"
 * import * as AzureIdentity from "effect-msal/AzureIdentity"
 *
 * const credential = AzureIdentity.make.pipe(
 *   Effect.provide(ConfidentialClient.layerConfig().pipe(
 *     Layer.provide(TokenCache.layerMemory()),
 *     Layer.provide(FetchHttpClient.layer)
 *   ))
 * )
 * // const secrets = new SecretClient(vaultUrl, yield* credential)
 * ```
 * @since 0.1.0
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth"
import { Duration, Effect, Redacted, Runtime } from "effect"
import type { AuthenticationResult } from "./AuthenticationResult.js"
import type { ClientCredentialsRequest, Service } from "./ConfidentialClient.js"
import { ConfidentialClient } from "./ConfidentialClient.js"
import * as internal from "./internal/promise.js"
import { NetworkError } from "./MsalError.js"

/**
 * The `AccessToken` of an `AuthenticationResult`: `token` is the raw access token (the one
 * place it leaves its `Redacted` wrapper), `expiresOnTimestamp` and `refreshAfterTimestamp` are
 * epoch milliseconds.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toAccessToken = (result: AuthenticationResult): AccessToken => ({
  token: Redacted.value(result.accessToken),
  expiresOnTimestamp: result.expiresOn.getTime(),
  ...(result.refreshOn === undefined ? {} : { refreshAfterTimestamp: result.refreshOn.getTime() }),
  tokenType: result.tokenType.toLowerCase() === "pop" ? "pop" : "Bearer"
})

/**
 * The client request for a `getToken` call: `claims` (the decoded claims challenge) and
 * `tenantId` are passed on; `enableCae` is not needed (declare `clientCapabilities: ["CP1"]`
 * on the client to receive CAE tokens).
 *
 * @since 0.1.0
 * @category conversions
 */
export const toRequest = (scopes: string | Array<string>, options?: GetTokenOptions): ClientCredentialsRequest => ({
  scopes: typeof scopes === "string" ? [scopes] : scopes,
  ...(options?.claims === undefined || options.claims === "" ? {} : { claims: options.claims }),
  ...(options?.tenantId === undefined || options.tenantId === "" ? {} : { tenant: options.tenantId })
})

/**
 * A `TokenCredential` over a client, run on the given runtime (the default runtime unless
 * given). `getToken` acquires an app token (`acquireTokenForClient`); it rejects with the
 * client's `MsalError` instances, with an `Error` named `AbortError` when `abortSignal` fires,
 * and with a `NetworkError` (`reason: "Timeout"`) after `requestOptions.timeout` milliseconds.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromClient = (
  client: Service,
  runtime: Runtime.Runtime<never> = Runtime.defaultRuntime
): TokenCredential => ({
  getToken: (scopes, options) => {
    const acquire = client.acquireTokenForClient(toRequest(scopes, options))
    const timeout = options?.requestOptions?.timeout
    const bounded = timeout === undefined || timeout <= 0 ? acquire : acquire.pipe(
      Effect.timeoutFail({
        duration: Duration.millis(timeout),
        onTimeout: () => new NetworkError({ reason: "Timeout", description: `no token within ${timeout} ms` })
      })
    )
    return internal.run(runtime, Effect.map(bounded, toAccessToken), options?.abortSignal)
  }
})

/**
 * A `TokenCredential` over the `ConfidentialClient` in context, run on the current runtime
 * (its tracer, logger and metrics included).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<TokenCredential, never, ConfidentialClient> = Effect.flatMap(
  ConfidentialClient,
  (client) => Effect.map(Effect.runtime<never>(), (runtime) => fromClient(client, runtime))
)
