/**
 * The web-app example without a browser: its signed session cookie, its settings in Entra
 * mode (from the environment), its redirects; and `npm run example:web`.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Option, Redacted, TestClock } from "effect"
import * as TestAuthority from "effect-msal/TestAuthority"
import { CLIENT_ID, identityLayer, start } from "../../examples/web/app.js"
import * as Session from "../../examples/web/session.js"
import { runUntil } from "./spawn.js"

const SECRET = Redacted.make("a-session-secret-of-at-least-32-characters")
const FLOW = {
  authUri: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize?client_id=x",
  state: "the-state",
  codeVerifier: Redacted.make("the-pkce-verifier-0123456789-0123456789-0123"),
  nonce: "the-nonce",
  redirectUri: "http://127.0.0.1:3000/callback",
  scopes: ["User.Read", "openid", "profile", "offline_access"],
  createdAt: new Date(1_700_000_000_000)
}

const manual = (url: string) =>
  Effect.promise(async () => {
    const r = await fetch(url, { redirect: "manual" })
    return {
      status: r.status,
      location: r.headers.get("location"),
      cookie: r.headers.get("set-cookie") ?? "",
      body: await r.text()
    }
  })

describe("the web app's session cookie", () => {
  it.effect("round-trips the flow and the session id, the PKCE verifier Redacted once decoded", () =>
    Effect.gen(function*() {
      const sealed = yield* Session.seal(SECRET, { flow: FLOW, sid: "the-session-id" })
      expect(sealed).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/)
      const opened = yield* Session.open(SECRET, sealed)
      expect(opened.sid).toBe("the-session-id")
      expect(opened.flow?.state).toBe("the-state")
      expect(opened.flow?.createdAt).toEqual(FLOW.createdAt)
      expect(Redacted.isRedacted(opened.flow?.codeVerifier)).toBe(true)
      expect(Redacted.value(opened.flow!.codeVerifier)).toBe(Redacted.value(FLOW.codeVerifier))
      expect(String(opened.flow?.codeVerifier)).toBe("<redacted>")
    }))

  it.effect("refuses a changed payload, another key, a forged or malformed value", () =>
    Effect.gen(function*() {
      const sealed = yield* Session.seal(SECRET, { flow: FLOW })
      const [payload, mac] = sealed.split(".") as [string, string]
      const changed = Buffer.from(Buffer.from(payload, "base64url").toString("utf8").replace("the-state", "evil-state"))
        .toString("base64url")
      const otherKey = yield* Session.seal(Redacted.make("another-secret-of-at-least-32-characters!"), { flow: FLOW })
      const wellSignedNonsense = (yield* Session.seal(SECRET, {})).replace(
        /^[^.]+/,
        Buffer.from("[1,2]").toString("base64url")
      )
      for (
        const value of [
          `${changed}.${mac}`,
          otherKey,
          `${payload}.`,
          `.${mac}`,
          "",
          "no-dot",
          "a.b.c",
          `${payload}.${mac}x`,
          wellSignedNonsense
        ]
      ) {
        const result = yield* Effect.either(Session.open(SECRET, value))
        expect(Either.isLeft(result), value).toBe(true)
        if (Either.isLeft(result)) expect(result.left._tag).toBe("InvalidSession")
      }
      // a payload that is signed but is not a session
      const json = Buffer.from("{\"flow\":42}").toString("base64url")
      const crypto = yield* Effect.promise(() => import("node:crypto"))
      const signed = `${json}.${crypto.createHmac("sha256", Redacted.value(SECRET)).update(json).digest("base64url")}`
      const notSession = yield* Effect.flip(Session.open(SECRET, signed))
      expect(notSession.description).toBe("the session cookie does not hold a session")
    }))
})

const ACCOUNT = {
  homeAccountId: "uid.utid",
  environment: "login.microsoftonline.com",
  tenantId: "contoso.onmicrosoft.com",
  username: "bob@contoso.onmicrosoft.com",
  localAccountId: "uid"
}

describe("the web app's server-side sessions", () => {
  it.effect("a session lives 8 hours from sign-in by default, then shows nobody", () =>
    Effect.gen(function*() {
      const store = yield* Session.makeMemoryStore()
      expect(Duration.toMillis(store.lifetime)).toBe(8 * 60 * 60 * 1000)
      const sid = yield* store.create(ACCOUNT)
      expect(sid).toMatch(/^[A-Za-z0-9_-]{43}$/)
      yield* TestClock.adjust(Duration.millis(8 * 60 * 60 * 1000 - 1))
      expect(yield* store.get(sid)).toEqual(Option.some(ACCOUNT))
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* store.get(sid)).toEqual(Option.none())
      // a clock set back does not revive it: it was dropped
      yield* TestClock.setTime(0)
      expect(yield* store.get(sid)).toEqual(Option.none())
    }))

  it.effect("the lifetime is configurable; each sign-in gets its own id", () =>
    Effect.gen(function*() {
      const store = yield* Session.makeMemoryStore({ lifetime: "10 minutes" })
      const a = yield* store.create(ACCOUNT)
      const b = yield* store.create(ACCOUNT)
      expect(a).not.toBe(b)
      yield* TestClock.adjust("10 minutes")
      expect([yield* store.get(a), yield* store.get(b)]).toEqual([Option.none(), Option.none()])
    }))

  it.effect("sign-out revokes one session; others, and unknown ids, are unaffected", () =>
    Effect.gen(function*() {
      const store = yield* Session.makeMemoryStore()
      const a = yield* store.create(ACCOUNT)
      const b = yield* store.create(ACCOUNT)
      yield* store.revoke(a)
      expect(yield* store.get(a)).toEqual(Option.none())
      expect(yield* store.get(b)).toEqual(Option.some(ACCOUNT))
      yield* store.revoke("never-issued")
      expect(yield* store.get("never-issued")).toEqual(Option.none())
    }))

  it.effect("the store is bounded: when full, the oldest session ends", () =>
    Effect.gen(function*() {
      const store = yield* Session.makeMemoryStore({ capacity: 3 })
      const ids: Array<string> = []
      for (let i = 0; i < 5; i++) {
        ids.push(yield* store.create({ ...ACCOUNT, username: `user${i}@contoso.com` }))
        yield* TestClock.adjust("1 second")
      }
      const live = []
      for (const id of ids) live.push(Option.isSome(yield* store.get(id)))
      expect(live).toEqual([false, false, true, true, true])
    }))
})

describe("the web app's settings and redirects", () => {
  const entra = (extra: ReadonlyArray<readonly [string, string]>) =>
    ConfigProvider.fromMap(
      new Map<string, string>([
        ["AZURE_CLIENT_ID", "entra-web"],
        // by tenant id: the sign-in URL needs no discovery (the HTTP client below reaches nothing)
        ["AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"],
        ["AZURE_CLIENT_SECRET", "from-the-environment"],
        ...extra
      ])
    )

  it.scopedLive("with Entra ID, SESSION_SECRET is required and must be long enough", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(
        start({ port: 0 }).pipe(Effect.provide(identityLayer()), Effect.withConfigProvider(entra([])))
      )
      expect(String(missing)).toContain("SESSION_SECRET")
      const short = yield* Effect.flip(
        start({ port: 0 }).pipe(
          Effect.provide(identityLayer()),
          Effect.withConfigProvider(entra([["SESSION_SECRET", "short"]]))
        )
      )
      expect(String(short)).toContain("32 characters")
    }))

  it.scopedLive("with Entra ID, /login redirects to Entra with PUBLIC_URL's callback and a __Host- cookie; /logout ends Entra's session", () =>
    Effect.gen(function*() {
      const url = yield* start({ port: 0 })
      const login = yield* manual(`${url}/login`)
      expect(login.status).toBe(302)
      const target = new URL(login.location!)
      expect(`${target.origin}${target.pathname}`).toBe(
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/authorize"
      )
      expect(target.searchParams.get("client_id")).toBe("entra-web")
      expect(target.searchParams.get("redirect_uri")).toBe("https://app.example.com/callback")
      expect(target.searchParams.get("code_challenge_method")).toBe("S256")
      expect(target.searchParams.get("prompt")).toBe("select_account")
      expect(login.cookie).toMatch(
        /^__Host-session=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/
      )
      const session = yield* Session.open(SECRET, /^__Host-session=([^;]+)/.exec(login.cookie)![1]!)
      expect(session.flow?.state).toBe(target.searchParams.get("state"))
      // the cookie holds the verifier, the URL only its challenge
      expect(login.location).not.toContain(Redacted.value(session.flow!.codeVerifier))

      const logout = yield* manual(`${url}/logout`)
      expect(logout.status).toBe(302)
      expect(logout.location).toBe(
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/logout?post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2F"
      )
      expect(logout.cookie).toMatch(/^__Host-session=; Max-Age=0; Path=\/; HttpOnly; Secure; SameSite=Lax/)
    }).pipe(
      Effect.provide(identityLayer({ entraHttpClient: TestAuthority.layerHttpClientVia("http://127.0.0.1:1") })),
      Effect.withConfigProvider(
        entra([["SESSION_SECRET", Redacted.value(SECRET)], ["PUBLIC_URL", "https://app.example.com/"]])
      )
    ))

  it.scopedLive("with the test authority, /login redirects to its page on 127.0.0.1 and the callback is on the app's own origin", () =>
    Effect.gen(function*() {
      const url = yield* start({ port: 0, sessionSecret: SECRET })
      const login = yield* manual(`${url}/login`)
      expect(login.status).toBe(302)
      const target = new URL(login.location!)
      expect(target.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      // the domain is discovered: the authorization endpoint names its tenant id
      expect(target.pathname).toBe("/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/authorize")
      expect(target.searchParams.get("client_id")).toBe(CLIENT_ID)
      expect(target.searchParams.get("redirect_uri")).toBe(`${url}/callback`)
      expect(login.cookie).toMatch(/^session=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/)
      const page = yield* manual(login.location!)
      expect(page.status).toBe(200)
      expect(page.body).toContain("Bob Baker")
    }).pipe(Effect.provide(identityLayer())))

  it("npm run example:web serves and stops on SIGTERM", async () => {
    const { code, stdout } = await runUntil("example:web", "Serving until Ctrl-C")
    expect(code).toBe(0)
    expect(stdout).toMatch(/Web app on http:\/\/127\.0\.0\.1:\d+ \(test-authority\)/)
  }, 90_000)
})
