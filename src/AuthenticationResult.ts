/**
 * What a successful acquisition returns.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** Epoch milliseconds once encoded; never an invalid date. */
const ValidDate = Schema.DateFromNumber.pipe(Schema.validDate())

/** A claim's value: anything JSON can hold (ID token claims come from JSON). */
const JsonValue = Schema.Unknown.annotations({ arbitrary: () => (fc) => fc.jsonValue({ maxDepth: 2 }) })

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
 * A token and what is known about it, as a Schema: its encoded form is JSON-safe (dates as
 * epoch milliseconds, the tokens in clear text — encode only into storage you protect), and
 * `Arbitrary.make(AuthenticationResult)` yields valid results for property tests of your own
 * code (see docs/testing.md).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AuthenticationResult = Schema.Struct({
  /**
   * The access token. Empty only after a sign-in that the authority answered with an ID token
   * alone (Azure AD B2C, asked for OIDC scopes only): then `scopes` is empty, `expiresOn` is
   * the ID token's expiry and no access token is cached, as msal-node and MSAL Python do.
   */
  accessToken: Schema.Redacted(Schema.String),
  tokenType: Schema.String,
  expiresOn: ValidDate,
  extExpiresOn: Schema.optional(ValidDate),
  /** When the authority suggested a refresh (`refresh_in`); the cache refreshes in the background after it. */
  refreshOn: Schema.optional(ValidDate),
  scopes: Schema.Array(Schema.String),
  /** `"cache"` when no request was made. */
  tokenSource: Schema.Literal("cache", "identity_provider"),
  /** The tenant the token was issued in. */
  tenantId: Schema.String,
  idToken: Schema.optional(Schema.Redacted(Schema.String)),
  idTokenClaims: Schema.optional(Schema.Record({ key: Schema.String, value: JsonValue })),
  account: Schema.optional(Account),
  /** The `client-request-id` of the request that obtained the token. */
  correlationId: Schema.optional(Schema.String)
})

/**
 * A token and what is known about it. `accessToken` (and `idToken`) are `Redacted`: they print
 * as `<redacted>` and never reach a log by accident; use `Redacted.value` or
 * `HttpClientRequest.bearerToken(result.accessToken)`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthenticationResult extends Schema.Schema.Type<typeof AuthenticationResult> {}
