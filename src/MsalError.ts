/**
 * The closed union of errors every effect-msal operation can fail with.
 *
 * Each error is a `Schema.TaggedError`, so it can be matched with `Effect.catchTag`, encoded
 * for RPC or persistence, and yielded directly inside `Effect.gen`. No error ever carries a
 * client secret, an assertion, an authorization code, a PKCE verifier or a token: the fields
 * hold only what the authority said about the failure, or a description written by us.
 *
 * > [!NOTE]
 * > `NetworkError` and `Throttled` are usually transient (try again later); a `ServerError`
 * > is the authority's considered answer (`invalid_client`, `invalid_scope`, …) and retrying
 * > the same request will not change it, except for `temporarily_unavailable`.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-msal/MsalError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

// Numbers as the library fills them in, and only those: an HTTP status is a three-digit integer
// (RFC 9110 §15), error codes and `Retry-After` seconds are integers ≥ 0 (RFC 9110 §10.2.3),
// so NaN, infinities, fractions and negatives are refused when an error is decoded.
// `Arbitrary.make` draws values a real error could hold, so generated errors survive JSON.
const HttpStatus = Schema.Int.pipe(Schema.between(100, 999)).annotations({
  arbitrary: () => (fc) => fc.integer({ min: 100, max: 599 })
})
const ErrorCode = Schema.NonNegativeInt.annotations({ arbitrary: () => (fc) => fc.integer({ min: 0, max: 9_999_999 }) })
const Seconds = Schema.NonNegativeInt.annotations({ arbitrary: () => (fc) => fc.integer({ min: 0, max: 86_400 }) })

/**
 * The authority answered with an OAuth 2.0 error (RFC 6749 §5.2), including the fields
 * Microsoft Entra adds (`error_codes`, `suberror`, `correlation_id`, `trace_id`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.TaggedError<ServerError>("effect-msal/ServerError")("ServerError", {
  /** The RFC 6749 `error` code, for example `invalid_client` or `invalid_scope`. */
  error: Schema.String,
  errorDescription: Schema.optional(Schema.String),
  errorCodes: Schema.optional(Schema.Array(ErrorCode)),
  suberror: Schema.optional(Schema.String),
  /** Entra's `error_additional_info` (for example `["client_mismatch"]` when a family refresh token is refused). */
  errorAdditionalInfo: Schema.optional(Schema.Array(Schema.String)),
  /** A claims challenge the caller should pass back as `claims` on the next request. */
  claims: Schema.optional(Schema.String),
  correlationId: Schema.optional(Schema.String),
  traceId: Schema.optional(Schema.String),
  /** The HTTP status of the answer. */
  status: HttpStatus,
  /** Seconds the authority asked us to wait (`Retry-After`), when it said so. */
  retryAfter: Schema.optional(Seconds)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /**
   * `<error> (HTTP <status>): <first line of the description>`, then how long `Retry-After`
   * asked to wait and the correlation and trace ids (what support asks for) when the
   * authority sent them. Never a secret: all of it is what the authority said.
   *
   * @since 0.1.0
   */
  override get message(): string {
    const description = this.errorDescription === undefined ? "" : `: ${firstLine(this.errorDescription)}`
    return `${this.error} (HTTP ${this.status})${description}${waitNote(this.retryAfter)}${
      idsNote(this.correlationId, this.traceId)
    }`
  }
  /**
   * What the user can do about a failed silent acquisition, from `suberror` (MSAL Python's
   * `classification`): `""` when nothing but a new sign-in helps (`bad_token`,
   * `token_expired`, `protection_policy_required`, `client_mismatch`,
   * `device_authentication_failed`), otherwise the suberror itself (for example
   * `basic_action`, `consent_required`); `undefined` without a suberror.
   *
   * @since 0.1.0
   */
  get classification(): string | undefined {
    if (this.suberror === undefined) return undefined
    return SILENT_SUBERRORS.has(this.suberror) ? "" : this.suberror
  }
}

const SILENT_SUBERRORS: ReadonlySet<string> = new Set([
  "bad_token",
  "token_expired",
  "protection_policy_required",
  "client_mismatch",
  "device_authentication_failed"
])

/**
 * The request did not get a usable answer: a transport failure, a timeout, a 5xx status, or a
 * body that is not the JSON the protocol requires (an HTML error page, truncated JSON, a
 * success without `access_token`).
 *
 * @since 0.1.0
 * @category errors
 */
export class NetworkError extends Schema.TaggedError<NetworkError>("effect-msal/NetworkError")("NetworkError", {
  reason: Schema.Literal("Transport", "Timeout", "Status", "InvalidResponse"),
  /** The endpoint, without its query string. */
  url: Schema.optional(Schema.String),
  status: Schema.optional(HttpStatus),
  retryAfter: Schema.optional(Seconds),
  description: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** `<reason> (HTTP <status>) from <url>: <description>`, then how long `Retry-After` asked to wait. @since 0.1.0 */
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    const url = this.url === undefined ? "" : ` from ${this.url}`
    return `${this.reason}${status}${url}: ${this.description}${waitNote(this.retryAfter)}`
  }
}

/**
 * An identical request failed recently with a `Retry-After` window (or a 429/5xx) that is
 * still open, so nothing was sent. Try again at `retryAt`.
 *
 * @since 0.1.0
 * @category errors
 */
export class Throttled extends Schema.TaggedError<Throttled>("effect-msal/Throttled")("Throttled", {
  retryAt: Schema.DateFromNumber.pipe(Schema.validDate()).annotations({
    arbitrary: () => (fc) => fc.date({ noInvalidDate: true })
  }),
  description: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${this.description} (retry at ${this.retryAt.toISOString()})`
  }
}

/**
 * The request was rejected locally, before any I/O: empty scopes, a reserved scope, a bad
 * tenant, a misuse of an option.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>("effect-msal/InvalidRequest")("InvalidRequest", {
  field: Schema.optional(Schema.String),
  description: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return this.field === undefined ? this.description : `${this.field}: ${this.description}`
  }
}

/**
 * The client credential is unusable: a bad key, certificate or PFX, a wrong passphrase, or an
 * assertion provider that failed. Never contains key material or passphrases.
 *
 * @since 0.1.0
 * @category errors
 */
export class CredentialError extends Schema.TaggedError<CredentialError>("effect-msal/CredentialError")(
  "CredentialError",
  {
    description: Schema.String,
    /** The failure of an assertion provider, when that is what failed. */
    cause: Schema.optional(Schema.Defect)
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return this.description
  }
}

/**
 * The authority URL is malformed or unsupported, or its discovery failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthorityError extends Schema.TaggedError<AuthorityError>("effect-msal/AuthorityError")(
  "AuthorityError",
  {
    authority: Schema.optional(Schema.String),
    description: Schema.String
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return this.authority === undefined ? this.description : `${this.description} (authority: ${this.authority})`
  }
}

/**
 * The auth-code flow failed a fail-closed check: missing or mismatched state, a scope not
 * requested by the flow, an error returned on the redirect, no code.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthCodeFlowError extends Schema.TaggedError<AuthCodeFlowError>("effect-msal/AuthCodeFlowError")(
  "AuthCodeFlowError",
  {
    reason: Schema.Literal(
      "StateMissing",
      "StateMismatch",
      "ScopeNotInFlow",
      "AuthorizationError",
      "CodeMissing",
      "NonceMismatch",
      "MaxAgeExceeded",
      "FlowExpired"
    ),
    description: Schema.String,
    error: Schema.optional(Schema.String),
    errorDescription: Schema.optional(Schema.String),
    errorUri: Schema.optional(Schema.String)
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${this.reason}: ${this.description}`
  }
}

/**
 * An ID token failed validation (audience, issuer, nonce, lifetime) or could not be decoded.
 *
 * @since 0.1.0
 * @category errors
 */
export class IdTokenError extends Schema.TaggedError<IdTokenError>("effect-msal/IdTokenError")("IdTokenError", {
  reason: Schema.Literal("Malformed", "Audience", "Issuer", "Nonce", "Expired", "NotYetValid", "AuthTime"),
  description: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${this.reason}: ${this.description}`
  }
}

/**
 * A silent acquisition found nothing usable in the cache (no access token and no refresh
 * token for the account and scopes).
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenNotFound extends Schema.TaggedError<TokenNotFound>("effect-msal/TokenNotFound")("TokenNotFound", {
  description: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return this.description
  }
}

/**
 * A persistent token store failed, or held data that could not be read.
 *
 * @since 0.1.0
 * @category errors
 */
export class CacheError extends Schema.TaggedError<CacheError>("effect-msal/CacheError")("CacheError", {
  reason: Schema.Literal("Malformed", "Io", "Lock", "Encryption"),
  description: Schema.String
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${this.reason}: ${this.description}`
  }
}

/**
 * Every error an effect-msal operation can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type MsalError =
  | ServerError
  | NetworkError
  | Throttled
  | InvalidRequest
  | CredentialError
  | AuthorityError
  | AuthCodeFlowError
  | IdTokenError
  | TokenNotFound
  | CacheError

/**
 * The schema of the whole union, for encoding errors across process boundaries.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MsalError: Schema.Union<[
  typeof ServerError,
  typeof NetworkError,
  typeof Throttled,
  typeof InvalidRequest,
  typeof CredentialError,
  typeof AuthorityError,
  typeof AuthCodeFlowError,
  typeof IdTokenError,
  typeof TokenNotFound,
  typeof CacheError
]> = Schema.Union(
  ServerError,
  NetworkError,
  Throttled,
  InvalidRequest,
  CredentialError,
  AuthorityError,
  AuthCodeFlowError,
  IdTokenError,
  TokenNotFound,
  CacheError
)

/**
 * Whether a value is one of the errors of this library.
 *
 * @since 0.1.0
 * @category guards
 */
export const isMsalError = (u: unknown): u is MsalError => Predicate.hasProperty(u, TypeId)

/** `; Retry-After asked to wait 30 s`, or nothing. */
const waitNote = (retryAfter: number | undefined): string =>
  retryAfter === undefined ? "" : `; Retry-After asked to wait ${retryAfter} s`

/** ` (correlation id …, trace id …)` with the ids the authority sent, or nothing. */
const idsNote = (correlationId: string | undefined, traceId: string | undefined): string => {
  const ids = [
    ...(correlationId === undefined || correlationId === "" ? [] : [`correlation id ${correlationId}`]),
    ...(traceId === undefined || traceId === "" ? [] : [`trace id ${traceId}`])
  ]
  return ids.length === 0 ? "" : ` (${ids.join(", ")})`
}

const firstLine = (s: string): string => {
  const i = s.indexOf("\r\n") >= 0 ? s.indexOf("\r\n") : s.indexOf("\n")
  return i >= 0 ? s.slice(0, i) : s
}
