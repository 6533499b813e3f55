/**
 * The state of one sign-in between `initiateAuthCodeFlow` and `acquireTokenByAuthCodeFlow`
 * (MSAL Python's auth-code flow dict), as plain, Schema-encodable data.
 *
 * A web app keeps the flow between the two requests (a cookie, a session store, another
 * worker). It holds the PKCE verifier, so it is `Redacted` in the decoded value: a flow
 * printed, logged or passed to `JSON.stringify` shows `<redacted>` for it. Encode it with the
 * Schema to store it (the encoded form holds the verifier in clear, so keep it where only the
 * server reads it: an encrypted, `HttpOnly` cookie or a server-side session).
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
 * import { AuthCodeFlow, ConfidentialClient } from "effect-msal"
 *
 * const signIn = Effect.gen(function* () {
 *   const client = yield* ConfidentialClient.ConfidentialClient
 *   const flow = yield* client.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: "https://app.example/callback" })
 *   const cookie = Schema.encodeSync(AuthCodeFlow.Json)(flow) // keep it server-side or encrypted
 *   return { redirectTo: flow.authUri, cookie }
 * })
 *
 * const callback = (cookie: string, query: URLSearchParams) => Effect.gen(function* () {
 *   const client = yield* ConfidentialClient.ConfidentialClient
 *   const flow = yield* Schema.decode(AuthCodeFlow.Json)(cookie)
 *   return yield* client.acquireTokenByAuthCodeFlow({ flow, response: query })
 * })
 * ```
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The flow. `scopes` are the scopes sent (the reserved OIDC scopes included); `nonce` is the
 * raw nonce (its SHA-256 hex went into the authorize URL); `createdAt` is when the flow was
 * started (flows expire, see `ConfidentialClient.Options.authCodeFlowLifetime`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AuthCodeFlow = Schema.Struct({
  /** Where to send the browser. */
  authUri: Schema.String,
  state: Schema.String,
  /** The PKCE verifier (RFC 7636): `Redacted` once decoded, clear text when encoded. */
  codeVerifier: Schema.Redacted(Schema.String),
  nonce: Schema.String,
  redirectUri: Schema.optional(Schema.String),
  scopes: Schema.Array(Schema.String),
  maxAge: Schema.optional(Schema.JsonNumber),
  /** The claims challenge the flow was started with; it is sent again when the code is redeemed. */
  claims: Schema.optional(Schema.String),
  /** Epoch milliseconds once encoded. */
  createdAt: Schema.DateFromNumber.pipe(Schema.validDate())
})

/**
 * @since 0.1.0
 * @category models
 */
export interface AuthCodeFlow extends Schema.Schema.Type<typeof AuthCodeFlow> {}

/**
 * The flow encoded as JSON text (for a cookie or a session store), and decoded back.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Json: Schema.Schema<AuthCodeFlow, string> = Schema.parseJson(AuthCodeFlow)
