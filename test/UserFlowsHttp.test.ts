import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, TestClock } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { AUTHORITY, CLIENT_ID, SECRET } from "./support/harness.js"
import { BOB, REDIRECT_URI } from "./support/users.js"

const HOST = "login.microsoftonline.com"

/** A browser, as far as the sign-in page needs one: GET a page, submit its form, never follow redirects. */
const browser = (serverUrl: string) => {
  const request = (url: string, init?: { readonly method?: string; readonly body?: URLSearchParams }) =>
    Effect.promise(async () => {
      const target = new URL(url)
      const response = await fetch(`${serverUrl}${target.pathname}${target.search}`, {
        method: init?.method ?? "GET",
        redirect: "manual",
        headers: {
          "x-forwarded-host": target.host,
          ...(init?.body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" })
        },
        ...(init?.body === undefined ? {} : { body: init.body.toString() })
      })
      return { status: response.status, location: response.headers.get("location"), html: await response.text() }
    })
  return { request }
}

const unescape = (s: string) =>
  s.replace(/&quot;/g, "\"").replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&")

/** The first form of a page: its action, and the fields a browser would submit (checked radios only). */
const formOf = (html: string) => {
  const action = unescape(/<form[^>]*action="([^"]*)"/.exec(html)?.[1] ?? "")
  const fields = new URLSearchParams()
  for (const input of html.matchAll(/<input([^>]*)>/g)) {
    const attrs = input[1]!
    const name = /name="([^"]*)"/.exec(attrs)?.[1]
    const value = /value="([^"]*)"/.exec(attrs)?.[1] ?? ""
    const type = /type="([^"]*)"/.exec(attrs)?.[1]
    if (name === undefined || (type === "radio" && !attrs.includes(" checked"))) continue
    fields.append(unescape(name), unescape(value))
  }
  return { action, fields }
}

/** A client over real HTTP to a served test authority. */
const httpClient = (serverUrl: string) =>
  ConfidentialClient.make({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
    Effect.provide(
      Layer.mergeAll(
        CredentialSigner.layer(ClientCredential.secret(SECRET)),
        TestAuthority.layerHttpClientVia(serverUrl)
      )
    )
  )

describe("the auth-code flow over real HTTP on 127.0.0.1", () => {
  it.scoped("initiate → sign-in page → redirect → redeem → silent from cache → expiry → silent refresh", () =>
    Effect.gen(function*() {
      const server = yield* TestAuthority.serve()
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const c = yield* httpClient(server.url)
      const b = browser(server.url)

      const flow = yield* c.initiateAuthCodeFlow({
        scopes: ["User.Read"],
        redirectUri: REDIRECT_URI,
        state: "a\"b<c>&d'e",
        loginHint: BOB.username
      })
      // the sign-in page, with the hinted user chosen
      const page = yield* b.request(flow.authUri)
      expect(page.status).toBe(200)
      const form = formOf(page.html)
      expect(form.fields.get("login")).toBe(BOB.username)
      expect(form.fields.get("state")).toBe(flow.state)
      // submitting it redirects the browser to the app with a code
      const submitted = yield* b.request(`https://${HOST}${form.action}`, { method: "POST", body: form.fields })
      expect(submitted.status).toBe(302)
      const redirect = new URL(submitted.location!)
      expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT_URI)
      expect(redirect.searchParams.get("state")).toBe(flow.state)

      const signedIn = yield* c.acquireTokenByAuthCodeFlow({ flow, response: redirect.searchParams })
      expect(signedIn.tokenSource).toBe("identity_provider")
      expect(signedIn.account?.username).toBe(BOB.username)
      const account = signedIn.account!

      const cached = yield* c.acquireTokenSilent({ scopes: ["User.Read"], account })
      expect(cached.tokenSource).toBe("cache")
      expect(Redacted.value(cached.accessToken)).toBe(Redacted.value(signedIn.accessToken))

      yield* TestClock.adjust("1 hour")
      const refreshed = yield* c.acquireTokenSilent({ scopes: ["User.Read"], account })
      expect(refreshed.tokenSource).toBe("identity_provider")
      expect(Redacted.value(refreshed.accessToken)).not.toBe(Redacted.value(signedIn.accessToken))
      expect((yield* c.acquireTokenSilent({ scopes: ["User.Read"], account })).tokenSource).toBe("cache")

      // everything went over the socket, with the production URLs
      const requests = yield* (yield* TestAuthority.TestAuthority).requests
      expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        // the domain is discovered once; Entra answers with its tenant id's endpoints
        "GET /contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
        "GET /72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/authorize",
        "POST /72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/authorize",
        "POST /72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token",
        "POST /72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"
      ])
      expect(requests.every((r) => r.headers["x-forwarded-host"] === HOST)).toBe(true)
      expect(requests.slice(3).map((r) => r.form.grant_type)).toEqual(["authorization_code", "refresh_token"])
    }).pipe(Effect.provide(Layer.merge(TestAuthority.layer(), TokenCache.layerMemory()))))

  it.scoped("form_post: the page posts the code back; a declined sign-in is an AuthorizationError", () =>
    Effect.gen(function*() {
      const server = yield* TestAuthority.serve()
      const c = yield* httpClient(server.url)
      const b = browser(server.url)

      const flow = yield* c.initiateAuthCodeFlow({
        scopes: ["User.Read"],
        redirectUri: REDIRECT_URI,
        responseMode: "form_post"
      })
      const form = formOf((yield* b.request(flow.authUri)).html)
      const answer = yield* b.request(`https://${HOST}${form.action}`, { method: "POST", body: form.fields })
      expect(answer.status).toBe(200)
      const posted = formOf(answer.html)
      expect(posted.action).toBe(REDIRECT_URI)
      const result = yield* c.acquireTokenByAuthCodeFlow({ flow, response: Object.fromEntries(posted.fields) })
      expect(result.tokenSource).toBe("identity_provider")

      const declined = yield* c.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: REDIRECT_URI })
      const page = formOf((yield* b.request(declined.authUri)).html)
      page.fields.set("consent", "deny")
      const back = yield* b.request(`https://${HOST}${page.action}`, { method: "POST", body: page.fields })
      const e = yield* Effect.flip(
        c.acquireTokenByAuthCodeFlow({ flow: declined, response: new URL(back.location!).searchParams })
      )
      expect(e).toMatchObject({ _tag: "AuthCodeFlowError", reason: "AuthorizationError", error: "access_denied" })
    }).pipe(Effect.provide(Layer.merge(TestAuthority.layer(), TokenCache.layerMemory()))))
})
