/**
 * What a successful acquisition returns.
 *
 * @since 0.1.0
 */
import type { Redacted } from "effect"

/**
 * An account known to the cache (the seed's account dict).
 *
 * @since 0.1.0
 * @category models
 */
export interface Account {
  /** `uid.utid` from `client_info`, or the ID token's `sub` (ADFS). */
  readonly homeAccountId: string
  readonly environment: string
  /** The realm: the tenant the account signed in to. */
  readonly tenantId: string
  readonly username: string
  readonly localAccountId: string
}

/**
 * A token and what is known about it. `accessToken` (and `idToken`) are `Redacted`: they print
 * as `<redacted>` and never reach a log by accident; use `Redacted.value` or
 * `HttpClientRequest.bearerToken(result.accessToken)`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthenticationResult {
  readonly accessToken: Redacted.Redacted<string>
  readonly tokenType: string
  readonly expiresOn: Date
  readonly extExpiresOn?: Date | undefined
  /** When the authority suggested a refresh (`refresh_in`); the cache refreshes in the background after it. */
  readonly refreshOn?: Date | undefined
  readonly scopes: ReadonlyArray<string>
  /** `"cache"` when no request was made. */
  readonly tokenSource: "cache" | "identity_provider"
  /** The tenant the token was issued in. */
  readonly tenantId: string
  readonly idToken?: Redacted.Redacted<string> | undefined
  readonly idTokenClaims?: Readonly<Record<string, unknown>> | undefined
  readonly account?: Account | undefined
  /** The `client-request-id` of the request that obtained the token. */
  readonly correlationId?: string | undefined
}
