/**
 * The entries of the MSAL unified token cache (the format every MSAL reads and writes), as
 * Schemas.
 *
 * On the wire (the serialised cache) times are strings of epoch seconds and secrets are plain
 * strings; decoded, times are numbers and secrets are `Redacted`, so an entry can be logged
 * without leaking its token. Fields this library does not know survive a decode/encode round
 * trip.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as internal from "./internal/cacheKey.js"

const Rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * The largest epoch second a JavaScript `Date` can hold (ECMAScript §21.4.1.1: ±8.64e15 ms);
 * a cached time past it would be an Invalid Date.
 */
const MAX_EPOCH_SECONDS = 8_640_000_000_000

/** Epoch seconds: a string in the MSAL format, a number once decoded; an integer a `Date` can hold. */
const EpochSeconds = Schema.NumberFromString.pipe(Schema.int(), Schema.between(-MAX_EPOCH_SECONDS, MAX_EPOCH_SECONDS))

/**
 * An access token.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AccessToken = Schema.Struct({
  credential_type: Schema.Literal("AccessToken"),
  /** The token: not empty, not only white space. */
  secret: Schema.Redacted(Schema.String.pipe(Schema.pattern(/\S/))),
  /** `null` (MSAL Python) or `""` (msal-node) for app tokens; `uid.utid` for user tokens. */
  home_account_id: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }),
  environment: Schema.String,
  client_id: Schema.String,
  realm: Schema.String,
  /** The scopes, sorted ascending and space-joined. */
  target: Schema.String,
  token_type: Schema.optionalWith(Schema.String, { exact: true }),
  cached_at: EpochSeconds,
  expires_on: EpochSeconds,
  extended_expires_on: Schema.optionalWith(EpochSeconds, { exact: true }),
  refresh_on: Schema.optionalWith(EpochSeconds, { exact: true }),
  key_id: Schema.optionalWith(Schema.String, { exact: true }),
  /** base64url SHA-256 of the user assertion an on-behalf-of token was obtained for. */
  user_assertion_hash: Schema.optionalWith(Schema.String, { exact: true })
}, Rest)

/**
 * @since 0.1.0
 * @category models
 */
export interface AccessToken extends Schema.Schema.Type<typeof AccessToken> {}

/**
 * A refresh token.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RefreshToken = Schema.Struct({
  credential_type: Schema.Literal("RefreshToken"),
  secret: Schema.Redacted(Schema.NonEmptyString),
  home_account_id: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }),
  environment: Schema.String,
  client_id: Schema.String,
  target: Schema.optionalWith(Schema.String, { exact: true }),
  last_modification_time: Schema.optionalWith(EpochSeconds, { exact: true }),
  family_id: Schema.optionalWith(Schema.String, { exact: true }),
  user_assertion_hash: Schema.optionalWith(Schema.String, { exact: true })
}, Rest)

/**
 * @since 0.1.0
 * @category models
 */
export interface RefreshToken extends Schema.Schema.Type<typeof RefreshToken> {}

/**
 * An ID token.
 *
 * @since 0.1.0
 * @category schemas
 */
export const IdToken = Schema.Struct({
  credential_type: Schema.Literal("IdToken"),
  secret: Schema.Redacted(Schema.NonEmptyString),
  home_account_id: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }),
  environment: Schema.String,
  realm: Schema.String,
  client_id: Schema.String
}, Rest)

/**
 * @since 0.1.0
 * @category models
 */
export interface IdToken extends Schema.Schema.Type<typeof IdToken> {}

/**
 * An account.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Account = Schema.Struct({
  home_account_id: Schema.String,
  environment: Schema.String,
  realm: Schema.String,
  local_account_id: Schema.optionalWith(Schema.String, { exact: true }),
  username: Schema.optionalWith(Schema.String, { exact: true }),
  authority_type: Schema.optionalWith(Schema.String, { exact: true }),
  account_source: Schema.optionalWith(Schema.String, { exact: true })
}, Rest)

/**
 * @since 0.1.0
 * @category models
 */
export interface Account extends Schema.Schema.Type<typeof Account> {}

/**
 * Per-application metadata (the family id of family refresh tokens).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AppMetadata = Schema.Struct({
  client_id: Schema.String,
  environment: Schema.String,
  family_id: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true })
}, Rest)

/**
 * @since 0.1.0
 * @category models
 */
export interface AppMetadata extends Schema.Schema.Type<typeof AppMetadata> {}

/**
 * The sections of the unified cache.
 *
 * @since 0.1.0
 * @category models
 */
export type Section = "AccessToken" | "RefreshToken" | "IdToken" | "Account" | "AppMetadata"

/**
 * The entry type of each section.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entries {
  readonly AccessToken: AccessToken
  readonly RefreshToken: RefreshToken
  readonly IdToken: IdToken
  readonly Account: Account
  readonly AppMetadata: AppMetadata
}

/**
 * The schema of each section's entries.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schemas = {
  AccessToken,
  RefreshToken,
  IdToken,
  Account,
  AppMetadata
} as const

/**
 * All sections, in the order MSAL writes them.
 *
 * @since 0.1.0
 * @category models
 */
export const sections: ReadonlyArray<Section> = ["AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"]

/**
 * The lookup key of an entry: the MSAL key (fields joined with `-`, lower-cased), with host
 * aliases of one cloud (login.microsoftonline.com, login.windows.net, login.microsoft.com,
 * sts.windows.net) folded into one environment so a token cached under one alias is found
 * under another.
 *
 * @since 0.1.0
 * @category keys
 */
export const keyOf: <S extends Section>(section: S, entry: Entries[S]) => string = internal.keyOf

/**
 * The partition of an entry: the entries a scan for a superset of scopes (or for one
 * account) has to look at. Access tokens are partitioned by account, environment, client,
 * realm and user assertion; the other sections by account and environment.
 *
 * @since 0.1.0
 * @category keys
 */
export const partitionOf: <S extends Section>(section: S, entry: Entries[S]) => string = internal.partitionOf
