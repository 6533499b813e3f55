/**
 * What a successful acquisition returns.
 *
 * @since 0.1.0
 */
import type { Redacted } from "effect"
import { Schema } from "effect"

/**
 * An account known to the cache (MSAL Python's account dict), as a Schema so that a web app can
 * keep it in its session and pass it back to `acquireTokenSilent`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Account = Schema.Struct({
  /** `uid.utid` from `client_info`, or the ID token's `sub` (ADFS). */
  homeAccountId: Schema.String,
  environment: Schema.String,
  /** The realm: the tenant the account signed in to. */
  tenantId: Schema.String,
  username: Schema.String,
  localAccountId: Schema.String
})

/**
 * An account known to the cache (MSAL Python's account dict).
 *
 * @since 0.1.0
 * @category models
 */
export interface Account extends Schema.Schema.Type<typeof Account> {}

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
