/**
 * The web app's session: a cookie holding the sign-in in progress (the `AuthCodeFlow`) and
 * the signed-in account, signed with HMAC-SHA256 so the browser cannot change it. The server
 * keeps nothing between requests (several workers can share the load, given one secret), but
 * the token cache: give every worker a shared one (`TokenCache.layerFile`, Redis).
 *
 * The cookie is signed, not encrypted, like Flask's session in MSAL Python's web sample: the browser's user
 * could read the flow's PKCE verifier, which protects nothing from them (it guards the
 * authorization code against others), and `HttpOnly` keeps it from scripts.
 */
import type { ParseResult } from "effect"
import { Data, Effect, Option, Redacted, Schema } from "effect"
import { AuthCodeFlow, AuthenticationResult } from "effect-msal"
import * as Crypto from "node:crypto"

/** What the cookie holds. */
export const Session = Schema.Struct({
  /** The sign-in in progress, between `/login` and `/callback`. */
  flow: Schema.optional(AuthCodeFlow.AuthCodeFlow),
  /** The signed-in account, for `acquireTokenSilent` and `removeAccount`. */
  account: Schema.optional(AuthenticationResult.Account)
})

/** @see Session */
export interface Session extends Schema.Schema.Type<typeof Session> {}

const SessionJson = Schema.parseJson(Session)

/** The cookie failed its signature check or did not decode: it was changed or forged. */
export class InvalidSession extends Data.TaggedError("InvalidSession")<{ readonly description: string }> {}

const mac = (secret: Redacted.Redacted<string>, payload: string): Buffer =>
  Crypto.createHmac("sha256", Redacted.value(secret)).update(payload, "utf8").digest()

/** The cookie value: `base64url(JSON).base64url(HMAC-SHA256(secret, base64url(JSON)))`. */
export const seal = (secret: Redacted.Redacted<string>, session: Session): Effect.Effect<string, ParseResult.ParseError> =>
  Effect.map(Schema.encode(SessionJson)(session), (json) => {
    const payload = Buffer.from(json, "utf8").toString("base64url")
    return `${payload}.${mac(secret, payload).toString("base64url")}`
  })

/** The session of a cookie, checked (constant-time) before anything in it is decoded. */
export const open = (secret: Redacted.Redacted<string>, cookie: string): Effect.Effect<Session, InvalidSession> => {
  const dot = cookie.lastIndexOf(".")
  const payload = cookie.slice(0, Math.max(dot, 0))
  const given = Buffer.from(cookie.slice(dot + 1), "base64url")
  const expected = mac(secret, payload)
  if (dot <= 0 || given.length !== expected.length || !Crypto.timingSafeEqual(given, expected)) {
    return Effect.fail(new InvalidSession({ description: "the session cookie's signature does not match" }))
  }
  return Schema.decode(SessionJson)(Buffer.from(payload, "base64url").toString("utf8")).pipe(
    Effect.mapError(() => new InvalidSession({ description: "the session cookie does not hold a session" }))
  )
}

/** The session of a request's cookie; none when there is no cookie. */
export const fromCookie = (
  secret: Redacted.Redacted<string>,
  cookie: string | undefined
): Effect.Effect<Option.Option<Session>, InvalidSession> =>
  cookie === undefined || cookie.length === 0 ? Effect.succeedNone : Effect.asSome(open(secret, cookie))
