/**
 * The web app's session, in two parts:
 *
 * - a cookie, signed with HMAC-SHA256 so the browser cannot change it, holding the sign-in in
 *   progress (the `AuthCodeFlow`) or, once signed in, a random session id;
 * - a server-side session store mapping session ids to signed-in accounts. A session lives
 *   for a stated time from sign-in (8 hours unless configured) and no longer; signing out
 *   deletes it, so a copy of the old cookie shows nobody, even after the same user signs in
 *   again elsewhere. The store is bounded: when full, the oldest session is ended.
 *
 * The store here is in memory, for one process. Several workers need a shared one (the same
 * interface over Redis or a database) as well as a shared token cache.
 *
 * The cookie is signed, not encrypted, like Flask's session in MSAL Python's web sample: the browser's user
 * could read the flow's PKCE verifier, which protects nothing from them (it guards the
 * authorization code against others), and `HttpOnly` keeps it from scripts.
 */
import type { ParseResult } from "effect"
import { Clock, Context, Data, Duration, Effect, Option, Redacted, Schema } from "effect"
import type { AuthenticationResult } from "effect-msal"
import { AuthCodeFlow } from "effect-msal"
import * as Crypto from "node:crypto"

/** What the cookie holds. */
export const Session = Schema.Struct({
  /** The sign-in in progress, between `/login` and `/callback`. */
  flow: Schema.optional(AuthCodeFlow.AuthCodeFlow),
  /** The signed-in session: its id in the session store. */
  sid: Schema.optional(Schema.String)
})

/** @see Session */
export interface Session extends Schema.Schema.Type<typeof Session> {}

const SessionJson = Schema.parseJson(Session)

/** The cookie failed its signature check or did not decode: it was changed or forged. */
export class InvalidSession extends Data.TaggedError("InvalidSession")<{ readonly description: string }> {}

const mac = (secret: Redacted.Redacted<string>, payload: string): Buffer =>
  Crypto.createHmac("sha256", Redacted.value(secret)).update(payload, "utf8").digest()

/** The cookie value: `base64url(JSON).base64url(HMAC-SHA256(secret, base64url(JSON)))`. */
export const seal = (
  secret: Redacted.Redacted<string>,
  session: Session
): Effect.Effect<string, ParseResult.ParseError> =>
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

/** How long a signed-in session lasts, from sign-in, unless configured. */
export const DEFAULT_LIFETIME: Duration.Duration = Duration.hours(8)

/** How many signed-in sessions the memory store keeps, unless configured. */
export const DEFAULT_CAPACITY = 10_000

/** The server-side sessions: the only place a signed-in account is found. */
export interface Store {
  /** Starts a session for the account; its new random id. */
  readonly create: (account: AuthenticationResult.Account) => Effect.Effect<string>
  /** The account of a live session; none once it expired, was revoked, or was never issued. */
  readonly get: (sid: string) => Effect.Effect<Option.Option<AuthenticationResult.Account>>
  /** Ends a session (sign-out): its cookie shows nobody from now on. */
  readonly revoke: (sid: string) => Effect.Effect<void>
  /** How long a session lasts from its creation. */
  readonly lifetime: Duration.Duration
}

/** The session store of the web app. */
export class Sessions extends Context.Tag("examples/web/Sessions")<Sessions, Store>() {}

/**
 * A session store in memory: each session lives `lifetime` from its creation (by the
 * `Clock`), at most `capacity` sessions are kept (a full store ends the oldest one), and
 * expired sessions are dropped as they are met.
 */
export const makeMemoryStore = (options?: {
  readonly lifetime?: Duration.DurationInput | undefined
  readonly capacity?: number | undefined
}): Effect.Effect<Store> =>
  Effect.sync(() => {
    const lifetime = Duration.decode(options?.lifetime ?? DEFAULT_LIFETIME)
    const capacity = Math.max(1, Math.floor(options?.capacity ?? DEFAULT_CAPACITY))
    // one lifetime for all: insertion order is expiry order
    const sessions = new Map<string, { readonly account: AuthenticationResult.Account; readonly expiresAt: number }>()
    const dropExpired = (now: number) => {
      for (const [sid, session] of sessions) {
        if (session.expiresAt > now) break
        sessions.delete(sid)
      }
    }
    return {
      lifetime,
      create: (account) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          dropExpired(now)
          while (sessions.size >= capacity) {
            const oldest = sessions.keys().next()
            if (oldest.done === true) break
            sessions.delete(oldest.value)
          }
          const sid = Crypto.randomBytes(32).toString("base64url")
          sessions.set(sid, { account, expiresAt: now + Duration.toMillis(lifetime) })
          return sid
        }),
      get: (sid) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          dropExpired(now)
          const session = sessions.get(sid)
          return session === undefined || session.expiresAt <= now ? Option.none() : Option.some(session.account)
        }),
      revoke: (sid) => Effect.sync(() => void sessions.delete(sid))
    }
  })
