import type * as Runtime from "effect/Runtime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { AuthenticationResult } from "../AuthenticationResult.js"
import type { ClientCredentialsRequest, Service } from "../ConfidentialClient.js"
import { NetworkError } from "../MsalError.js"
import * as Run from "./promise.js"

/** The shape of `@azure/core-auth`'s `AccessToken`, without depending on it. @internal */
export interface AccessToken {
  readonly token: string
  readonly expiresOnTimestamp: number
  readonly refreshAfterTimestamp?: number
  readonly tokenType?: "Bearer" | "pop"
}

/** The part of `@azure/core-auth`'s `GetTokenOptions` a credential reads. @internal */
export interface GetTokenOptions {
  readonly abortSignal?: Run.SignalLike | undefined
  readonly requestOptions?: { readonly timeout?: number | undefined } | undefined
  readonly claims?: string | undefined
  readonly tenantId?: string | undefined
}

/** @internal */
export const toAccessToken = (result: AuthenticationResult): AccessToken => ({
  token: Redacted.value(result.accessToken),
  expiresOnTimestamp: result.expiresOn.getTime(),
  ...(result.refreshOn === undefined ? {} : { refreshAfterTimestamp: result.refreshOn.getTime() }),
  tokenType: result.tokenType.toLowerCase() === "pop" ? "pop" : "Bearer"
})

/** @internal */
export const toRequest = (
  scopes: string | ReadonlyArray<string>,
  options?: GetTokenOptions
): ClientCredentialsRequest => ({
  scopes: typeof scopes === "string" ? [scopes] : scopes,
  ...(options?.claims === undefined || options.claims === "" ? {} : { claims: options.claims }),
  ...(options?.tenantId === undefined || options.tenantId === "" ? {} : { tenant: options.tenantId })
})

/**
 * `getToken` over a client run on a runtime: an app token, bounded by `requestOptions.timeout`,
 * interrupted by `abortSignal`. `closed` says whether the client's owner has released it; a
 * call then rejects with the closed-client error at once. @internal
 */
export const getToken = (
  client: Service,
  runtime: Runtime.Runtime<never>,
  closed: () => boolean = () => false
) =>
(scopes: string | ReadonlyArray<string>, options?: GetTokenOptions): Promise<AccessToken> => {
  if (closed()) return Promise.reject(Run.closedError())
  const acquire = client.acquireTokenForClient(toRequest(scopes, options))
  const timeout = options?.requestOptions?.timeout
  const bounded = timeout === undefined || timeout <= 0 ? acquire : acquire.pipe(
    Effect.timeoutFail({
      duration: Duration.millis(timeout),
      onTimeout: () => new NetworkError({ reason: "Timeout", description: `no token within ${timeout} ms` })
    })
  )
  return Run.run(runtime, Effect.map(bounded, toAccessToken), options?.abortSignal)
}
