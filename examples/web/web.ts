/**
 * A web app (MSAL Python's auth-code scenario): users sign in with the auth-code flow (PKCE, state and nonce checked by
 * the library), the app greets them by name, later visits get tokens silently from the cache,
 * and signing out ends the session on the server and removes the account from the cache.
 * Sessions last a stated time from sign-in (see `Session.Store`).
 */
import type { HttpServerResponse as Response } from "@effect/platform"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { Redacted } from "effect"
import { Cause, Context, Effect, Option } from "effect"
import type { MsalError } from "effect-msal"
import { ConfidentialClient } from "effect-msal"
import * as Identity from "../shared/Identity.js"
import * as Pages from "./pages.js"
import * as Session from "./session.js"

/** How the web app is set up. */
export interface WebSettings {
  /** The HMAC-SHA256 key of session cookies; every worker needs the same one. */
  readonly sessionSecret: Redacted.Redacted<string>
  /**
   * The app's public origin (`https://app.example.com`); the redirect URI is `<it>/callback`
   * and must be registered for the app. Absent: the request's own origin (test authority).
   */
  readonly publicUrl: Option.Option<string>
  /** The scopes to sign in for. */
  readonly scopes: ReadonlyArray<string>
  /** Where to send the browser after a local sign-out to end the provider's session too. */
  readonly logoutUrl: Option.Option<(returnTo: string) => string>
}

/** The web app's settings. */
export class Settings extends Context.Tag("examples/web/Settings")<Settings, WebSettings>() {}

const isSecure = (s: WebSettings) => Option.exists(s.publicUrl, (u) => u.startsWith("https://"))

/** `__Host-` cookies must be Secure, for path `/` and without a domain: bound to this origin. */
const cookieName = (s: WebSettings) => (isSecure(s) ? "__Host-session" : "session")

const cookieOptions = (s: WebSettings) => ({ httpOnly: true, sameSite: "lax", path: "/", secure: isSecure(s) }) as const

const originOf = (s: WebSettings, request: HttpServerRequest.HttpServerRequest) =>
  Option.getOrElse(s.publicUrl, () => `http://${request.headers.host ?? "127.0.0.1"}`)

/** Sets the session cookie; a signed-in one also expires in the browser with its session. */
const withSession = (response: Response.HttpServerResponse, session: Session.Session) =>
  Effect.gen(function*() {
    const s = yield* Settings
    const value = yield* Effect.orDie(Session.seal(s.sessionSecret, session))
    const lifetime = (yield* Session.Sessions).lifetime
    const options = session.sid === undefined ? cookieOptions(s) : { ...cookieOptions(s), maxAge: lifetime }
    return yield* Effect.orDie(HttpServerResponse.setCookie(response, cookieName(s), value, options))
  })

const withoutSession = (response: Response.HttpServerResponse) =>
  Effect.flatMap(
    Settings,
    (s) => Effect.orDie(HttpServerResponse.expireCookie(response, cookieName(s), cookieOptions(s)))
  )

/** The request's session; none without a cookie; `InvalidSession` when it was tampered with. */
const currentSession = Effect.gen(function*() {
  const s = yield* Settings
  const request = yield* HttpServerRequest.HttpServerRequest
  return yield* Session.fromCookie(s.sessionSecret, request.cookies[cookieName(s)])
})

const mode = Effect.map(
  Identity.Identity,
  (i) => (i.mode === "entra" ? "Microsoft Entra ID" : "the embedded test authority")
)

const errorPage = (status: number, title: string, description: string) =>
  Effect.map(mode, (m) => Pages.error(m, status, title, description))

const firstLine = (text: string | undefined) => text?.split(/\r?\n/)[0]

/** A failed sign-in, in words. */
const signInFailed = (e: MsalError.MsalError | Session.InvalidSession) => {
  switch (e._tag) {
    case "InvalidSession":
      return errorPage(
        400,
        "Your session could not be verified",
        "The session cookie was changed or was not issued by this app. Please sign in again."
      )
    case "AuthCodeFlowError":
      switch (e.reason) {
        case "StateMissing":
        case "StateMismatch":
          return errorPage(
            400,
            "This sign-in answer is not for this browser",
            "Its state does not match the sign-in this browser started, so it was refused. Please sign in again."
          )
        case "FlowExpired":
          return errorPage(
            400,
            "The sign-in took too long",
            "The sign-in was started too long ago and has expired. Please sign in again."
          )
        case "AuthorizationError":
          return errorPage(
            403,
            "The sign-in was not completed",
            `The identity provider answered ${e.error ?? "an error"}${
              e.errorDescription === undefined ? "" : `: ${firstLine(e.errorDescription)}`
            }`
          )
        default:
          return errorPage(400, "The sign-in could not be completed", e.description)
      }
    case "ServerError":
      return e.error === "invalid_grant"
        ? errorPage(400, "The sign-in code was refused", "It was already used or has expired. Please sign in again.")
        : errorPage(
          502,
          "The identity provider refused the sign-in",
          `${e.error}${e.errorDescription === undefined ? "" : `: ${firstLine(e.errorDescription)}`}`
        )
    case "IdTokenError":
      return errorPage(400, "The identity token failed its checks", e.message)
    case "NetworkError":
    case "Throttled":
      return errorPage(503, "The identity provider could not be reached", "Please try again in a moment.")
    default:
      return errorPage(500, "The sign-in could not be completed", `This app could not complete it (${e._tag}).`)
  }
}

/** `GET /`: the signed-in user (a token from `acquireTokenSilent`), or a sign-in button. */
export const home = Effect.gen(function*() {
  const s = yield* Settings
  const m = yield* mode
  const session = yield* currentSession
  const sid = Option.flatMapNullable(session, (x) => x.sid)
  if (Option.isNone(sid)) return Pages.signedOut(m)
  // the server decides: an expired, revoked or unknown session shows nobody
  const account = yield* (yield* Session.Sessions).get(sid.value)
  if (Option.isNone(account))
    return yield* withoutSession(Pages.signedOut(m, "Your session has ended. Please sign in again."))
  const client = yield* ConfidentialClient.ConfidentialClient
  return yield* client.acquireTokenSilent({ scopes: s.scopes, account: account.value }).pipe(
    Effect.map((result) => {
      const name = result.idTokenClaims?.name
      return Pages.signedIn(m, {
        name: typeof name === "string" ? name : account.value.username,
        username: account.value.username,
        tenantId: account.value.tenantId,
        tokenSource: result.tokenSource,
        expiresOn: result.expiresOn,
        scopes: result.scopes
      })
    }),
    Effect.catchTags({
      // the cache lost the account (a restart, another worker without a shared cache) or
      // the refresh token was refused: sign in again
      TokenNotFound: () => withoutSession(Pages.signedOut(m, "Your session has ended. Please sign in again.")),
      ServerError: () => withoutSession(Pages.signedOut(m, "Your session has ended. Please sign in again."))
    })
  )
})

/** `GET /login`: starts a sign-in and keeps its flow in the session cookie. */
export const login = Effect.gen(function*() {
  const s = yield* Settings
  const request = yield* HttpServerRequest.HttpServerRequest
  const identity = yield* Identity.Identity
  const client = yield* ConfidentialClient.ConfidentialClient
  const flow = yield* client.initiateAuthCodeFlow({
    scopes: s.scopes,
    redirectUri: `${originOf(s, request)}/callback`,
    prompt: "select_account"
  })
  return yield* withSession(HttpServerResponse.redirect(identity.browserUrl(flow.authUri), { status: 302 }), { flow })
})

/** `GET /callback`: completes the sign-in against the cookie's flow, once. */
export const callback = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const session = yield* currentSession
  const flow = Option.flatMapNullable(session, (x) => x.flow)
  if (Option.isNone(flow)) {
    return yield* errorPage(
      400,
      "No sign-in is in progress",
      "This browser has no sign-in waiting for an answer: the link was used already, or the sign-in was started elsewhere."
    )
  }
  const client = yield* ConfidentialClient.ConfidentialClient
  const query = new URLSearchParams(request.url.includes("?") ? request.url.slice(request.url.indexOf("?") + 1) : "")
  const result = yield* client.acquireTokenByAuthCodeFlow({ flow: flow.value, response: query })
  if (result.account === undefined) {
    return yield* errorPage(
      502,
      "The sign-in could not be completed",
      "The identity provider did not identify the user."
    )
  }
  // the flow is spent: the cookie now holds the new session's id only
  const sid = yield* (yield* Session.Sessions).create(result.account)
  return yield* withSession(HttpServerResponse.redirect("/", { status: 302 }), { sid })
}).pipe(
  // a failed callback also spends the flow: start again from /login
  Effect.catchAll((e) => Effect.flatMap(signInFailed(e), withoutSession))
)

/** `GET /logout`: ends the session on the server, removes the account from the cache, clears the cookie. */
export const logout = Effect.gen(function*() {
  const s = yield* Settings
  const request = yield* HttpServerRequest.HttpServerRequest
  const sessions = yield* Session.Sessions
  const session = yield* currentSession.pipe(Effect.orElseSucceed(Option.none<Session.Session>))
  const sid = Option.flatMapNullable(session, (x) => x.sid)
  const account = Option.isSome(sid) ? yield* sessions.get(sid.value) : Option.none()
  if (Option.isSome(sid)) yield* sessions.revoke(sid.value)
  if (Option.isSome(account)) {
    const client = yield* ConfidentialClient.ConfidentialClient
    yield* client.removeAccount(account.value)
  }
  const next = Option.match(s.logoutUrl, { onNone: () => "/", onSome: (url) => url(`${originOf(s, request)}/`) })
  return yield* withoutSession(HttpServerResponse.redirect(next, { status: 302 }))
})

/** Anything unexpected: logged here, a plain error page for the browser. */
const guarded = <E, R>(handler: Effect.Effect<Response.HttpServerResponse, E, R>) =>
  handler.pipe(
    Effect.catchAllCause((cause) =>
      Effect.zipRight(
        Effect.logError("request failed", Cause.pretty(cause)),
        Cause.isInterruptedOnly(cause)
          ? Effect.interrupt
          : errorPage(500, "Something went wrong", "This app could not answer. Please try again.")
      )
    )
  )

const withSessionErrors = <R>(
  handler: Effect.Effect<Response.HttpServerResponse, Session.InvalidSession | MsalError.MsalError, R>
) =>
  handler.pipe(
    Effect.catchTag("InvalidSession", (e) => Effect.flatMap(signInFailed(e), withoutSession))
  )

/** The web app's routes. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/", guarded(withSessionErrors(home))),
  HttpRouter.get("/login", guarded(login)),
  HttpRouter.get("/callback", guarded(callback)),
  HttpRouter.get("/logout", guarded(logout))
)
