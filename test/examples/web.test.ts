/**
 * The web-app example end to end in headless Chromium (Debian's, driven by playwright-core):
 * sign in on the test authority's page, reload (silent), sign out; sessions that must show
 * nobody: an old cookie after sign-out (even once the user signed in again), an expired
 * session; and the sign-ins that must end on an error page: a tampered cookie, a tampered
 * state, a replayed callback, an expired flow, a declined consent.
 */
import { Clock, Duration, Effect, Exit, ManagedRuntime, Redacted, Scope } from "effect"
import { ConfidentialClient } from "effect-msal"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { BrowserContext, Page, Request } from "playwright-core"
import { chromium } from "playwright-core"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Identity from "../../examples/shared/Identity.js"
import { identityLayer, start } from "../../examples/web/app.js"
import * as Session from "../../examples/web/session.js"

const CHROMIUM = "/usr/bin/chromium"
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic"
]
const ARTIFACTS = Path.resolve("test-results")
const SECRET = Redacted.make("a-session-secret-for-the-browser-tests-0123456789")
const BOB = "bob@contoso.onmicrosoft.com"
/** The sessions' lifetime in this suite (the default, 8 hours, is tested without a browser). */
const LIFETIME = Duration.minutes(30)

/** The app's clock: the real time plus `offset`, so that a test can make its sessions old. */
let offset = 0
const real = Clock.make()
const shiftedClock: Clock.Clock = {
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => real.unsafeCurrentTimeMillis() + offset,
  currentTimeMillis: Effect.sync(() => real.unsafeCurrentTimeMillis() + offset),
  unsafeCurrentTimeNanos: () => real.unsafeCurrentTimeNanos() + BigInt(offset) * 1_000_000n,
  currentTimeNanos: Effect.sync(() => real.unsafeCurrentTimeNanos() + BigInt(offset) * 1_000_000n),
  sleep: (duration) => real.sleep(duration)
}

const runtime = ManagedRuntime.make(identityLayer())
const scope = Effect.runSync(Scope.make())
let appUrl = ""
let authorityUrl = ""
let userDataDir = ""
let context: BrowserContext
/**
 * The tab every test uses: a new page per test cost 0.3 to 0.7 s on this 2-core machine; the
 * tests keep nothing in it but cookies, cleared after each test with the page reset to blank.
 */
let page: Page

const run = <A, E>(effect: Effect.Effect<A, E, Identity.Identity | ConfidentialClient.ConfidentialClient>) =>
  runtime.runPromise(effect)

const tokenRequests = () =>
  run(Effect.flatMap(Identity.localAuthority, ({ authority }) => authority.tokenRequests)).then((r) => r.length)

const accounts = () => run(Effect.flatMap(ConfidentialClient.ConfidentialClient, (c) => c.getAccounts()))

/** The page's visible text, checked for any sign of a stack trace. */
const textOf = async (page: Page) => {
  const text = await page.locator("body").innerText()
  expect(text).not.toMatch(/\bat .+:\d+:\d+/)
  expect(text).not.toMatch(/node_modules|\.ts:\d|Error: /)
  return text
}

const sessionCookie = async () => {
  const cookie = (await context.cookies(appUrl)).find((c) => c.name === "session")
  expect(cookie).toBeDefined()
  return cookie!
}

const setSessionCookie = (value: string) =>
  context.addCookies([{ name: "session", value, url: appUrl, httpOnly: true, sameSite: "Lax" }])

/** From the app's start page to the authority's sign-in page. */
const toSignInPage = async (page: Page) => {
  await page.goto(`${appUrl}/`)
  await page.click("#sign-in")
  await page.waitForURL((url) => url.href.startsWith(authorityUrl))
  expect(await page.locator("h1").innerText()).toContain("Sign in")
}

/**
 * Straight to the authority's sign-in page through `/login`, as the start page's button goes
 * (the button itself is clicked in the first test): for the tests of what follows it.
 */
const startSignIn = async (page: Page) => {
  await page.goto(`${appUrl}/login`)
  expect(page.url().startsWith(authorityUrl)).toBe(true)
  expect(await page.locator("h1").innerText()).toContain("Sign in")
}

/** Picks Bob and submits; waits for the app to answer. */
const signInAsBob = async (page: Page) => {
  await page.check(`input[name="login"][value="${BOB}"]`)
  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(appUrl)),
    page.click("button[value=accept]")
  ])
}

beforeAll(async () => {
  if (!Fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the web-app example's browser tests need Debian's chromium package ` +
        "(apt-get install -y chromium); npm test installs it (scripts/provision.mjs)"
    )
  }
  userDataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-msal-chromium-"))
  // Chromium starts (2 to 3.5 s here) while the app and its authority start; both are
  // settled before the tests, so afterAll finds whatever did start
  const settled = await Promise.allSettled([
    chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 860, height: 480 }
    }).then((launched) => (context = launched)),
    run(
      Scope.extend(start({ port: 0, sessionSecret: SECRET, sessionLifetime: LIFETIME }), scope).pipe(
        Effect.withClock(shiftedClock)
      )
    ).then((url) => (appUrl = url))
  ])
  for (const outcome of settled) if (outcome.status === "rejected") throw outcome.reason
  authorityUrl = (await run(Identity.localAuthority)).server.url
  page = context.pages()[0] ?? (await context.newPage())
})

afterEach(async () => {
  offset = 0
  await context?.clearCookies()
  await page?.goto("about:blank")
})

afterAll(async () => {
  await context?.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await runtime.dispose()
  if (userDataDir !== "") Fs.rmSync(userDataDir, { recursive: true, force: true })
})

describe("the web-app example in Chromium", () => {
  // One test, not two: the old cookie after sign-out is checked once more after Bob signed in
  // again, instead of a second test signing in and out before it (two navigations a step).
  it("signs in on the authority's page, shows the name, reloads silently, signs out; the old cookie shows nobody, even once the user has signed in again", async () => {
    const before = await tokenRequests()
    await toSignInPage(page)
    // the domain is discovered: the authorization endpoint names its tenant id
    expect(new URL(page.url()).pathname).toBe("/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/authorize")
    await signInAsBob(page)

    // back on the app, signed in
    expect(new URL(page.url()).pathname).toBe("/")
    expect(await page.locator("#user-name").innerText()).toBe("Bob Baker")
    expect(await page.locator("#username").innerText()).toBe(BOB)
    expect(await tokenRequests()).toBe(before + 1) // the code redemption
    const cookie = await sessionCookie()
    expect(cookie.httpOnly).toBe(true)
    expect(cookie.sameSite).toBe("Lax")
    // the browser drops it with the session: Max-Age is the session's lifetime (30 minutes here)
    expect(Math.abs(cookie.expires - (Date.now() / 1000 + 30 * 60))).toBeLessThan(60)
    // the cookie names the session only; the account stays on the server
    const session = await Effect.runPromise(Session.open(SECRET, cookie.value))
    expect(session.flow).toBeUndefined()
    expect(session.sid).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(cookie.value.split(".")[0]!, "base64url").toString("utf8")).not.toContain(BOB)
    Fs.mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: Path.join(ARTIFACTS, "web-signed-in.png") })

    // a second visit: acquireTokenSilent, served from the cache
    await page.reload()
    expect(await page.locator("#user-name").innerText()).toBe("Bob Baker")
    expect(await page.locator("#token-source").innerText()).toContain("from the token cache")
    expect(await tokenRequests()).toBe(before + 1)

    // sign out: the account leaves the cache and the cookie goes
    expect((await accounts()).map((a) => a.username)).toContain(BOB)
    await page.click("#sign-out")
    await page.waitForSelector("#sign-in")
    expect(await textOf(page)).toContain("You are not signed in")
    expect((await accounts()).map((a) => a.username)).not.toContain(BOB)
    expect((await context.cookies(appUrl)).find((c) => c.name === "session")).toBeUndefined()

    // the signed-in cookie kept from before: its session was revoked on the server
    await setSessionCookie(cookie.value)
    await page.goto(`${appUrl}/`)
    expect(await textOf(page)).toContain("Your session has ended. Please sign in again.")
    expect(await page.locator("#sign-in").count()).toBe(1)
    expect((await context.cookies(appUrl)).find((c) => c.name === "session")).toBeUndefined()

    // Bob signs in again (his account and tokens are back in the cache)
    await startSignIn(page)
    await signInAsBob(page)
    expect(await page.locator("#user-name").innerText()).toBe("Bob Baker")
    expect((await accounts()).map((a) => a.username)).toContain(BOB)

    // someone who copied the old cookie: nobody is shown
    await context.clearCookies()
    await setSessionCookie(cookie.value)
    await page.goto(`${appUrl}/`)
    expect(await textOf(page)).toContain("Your session has ended. Please sign in again.")
    expect(await page.locator("#user-name").count()).toBe(0)
    expect(await page.locator("#sign-in").count()).toBe(1)
  })

  it("a session shows its user until its lifetime has passed, then nobody", async () => {
    await startSignIn(page)
    await signInAsBob(page)
    expect(await page.locator("#user-name").innerText()).toBe("Bob Baker")
    const cookie = (await sessionCookie()).value

    // a minute before the end of the 30 minutes (real time passes too): still signed in
    offset = Duration.toMillis(LIFETIME) - 60_000
    await page.goto(`${appUrl}/`)
    expect(await page.locator("#user-name").innerText()).toBe("Bob Baker")

    // at the end: nobody, and the cookie is cleared
    offset = Duration.toMillis(LIFETIME)
    await page.goto(`${appUrl}/`)
    expect(await textOf(page)).toContain("Your session has ended. Please sign in again.")
    expect(await page.locator("#user-name").count()).toBe(0)
    expect((await context.cookies(appUrl)).find((c) => c.name === "session")).toBeUndefined()

    // the same cookie again, kept by the browser past its Max-Age: still nobody
    await setSessionCookie(cookie)
    await page.goto(`${appUrl}/`)
    expect(await page.locator("#user-name").count()).toBe(0)
    expect(await page.locator("#sign-in").count()).toBe(1)
  })

  it("a tampered session cookie ends on an error page", async () => {
    await startSignIn(page)
    const cookie = await sessionCookie()
    const [payload, mac] = cookie.value.split(".") as [string, string]
    const json = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { flow: { state: string } }
    json.flow.state = "attacker-chosen-state"
    await setSessionCookie(`${Buffer.from(JSON.stringify(json)).toString("base64url")}.${mac}`)
    await signInAsBob(page)
    expect(new URL(page.url()).pathname).toBe("/callback")
    expect(await page.locator("#error-title").innerText()).toBe("Your session could not be verified")
    await textOf(page)
    expect(await page.locator("#user-name").count()).toBe(0)
  })

  it("a tampered state in the redirect ends on an error page", async () => {
    await startSignIn(page)
    // the authority echoes the state it was given: change it on its page
    await page.locator("input[name=state]").evaluate((input: HTMLInputElement) => {
      input.value = "tampered-state"
    })
    const response = page.waitForResponse((r) => new URL(r.url()).pathname === "/callback")
    await signInAsBob(page)
    expect((await response).status()).toBe(400)
    expect(await page.locator("#error-title").innerText()).toBe("This sign-in answer is not for this browser")
    await textOf(page)
    // the flow is spent: nobody is signed in
    await page.goto(`${appUrl}/`)
    expect(await page.locator("#sign-in").count()).toBe(1)
  })

  it("a replayed callback ends on an error page, with or without the old cookie", async () => {
    await startSignIn(page)
    const withFlow = (await sessionCookie()).value
    let callbackUrl = ""
    const record = (r: Request) => {
      if (new URL(r.url()).pathname === "/callback") callbackUrl = r.url()
    }
    page.on("request", record)
    await signInAsBob(page).finally(() => page.off("request", record))
    expect(await page.locator("#user-name").innerText()).toBe("Bob Baker")
    expect(callbackUrl).toContain("code=")

    // the same browser again: its cookie holds no flow any more
    await page.goto(callbackUrl)
    expect(await page.locator("#error-title").innerText()).toBe("No sign-in is in progress")
    await textOf(page)

    // someone who kept both the cookie and the URL: the code was redeemed already
    await setSessionCookie(withFlow)
    await page.goto(callbackUrl)
    expect(await page.locator("#error-title").innerText()).toBe("The sign-in code was refused")
    await textOf(page)
  })

  it("an expired flow ends on an error page", async () => {
    await startSignIn(page)
    // the sign-in page was left open for 11 minutes: the flow's lifetime is 10
    const session = await Effect.runPromise(Session.open(SECRET, (await sessionCookie()).value))
    const flow = session.flow!
    const old = { flow: { ...flow, createdAt: new Date(flow.createdAt.getTime() - 11 * 60_000) } }
    await setSessionCookie(await Effect.runPromise(Session.seal(SECRET, old)))
    await signInAsBob(page)
    expect(await page.locator("#error-title").innerText()).toBe("The sign-in took too long")
    await textOf(page)
  })

  it("a declined sign-in ends on an error page", async () => {
    await startSignIn(page)
    await Promise.all([page.waitForURL((url) => url.href.startsWith(appUrl)), page.click("button[value=deny]")])
    expect(await page.locator("#error-title").innerText()).toBe("The sign-in was not completed")
    expect(await textOf(page)).toContain("access_denied")
  })

  it("a callback without a sign-in, and a forged cookie on the start page, end on error pages", async () => {
    await page.goto(`${appUrl}/callback?code=x&state=y`)
    expect(await page.locator("#error-title").innerText()).toBe("No sign-in is in progress")
    await setSessionCookie("eyJ9.bm90LWEtbWFj")
    const response = await page.goto(`${appUrl}/`)
    expect(response?.status()).toBe(400)
    expect(await page.locator("#error-title").innerText()).toBe("Your session could not be verified")
    await textOf(page)
    // the forged cookie was cleared
    expect((await context.cookies(appUrl)).find((c) => c.name === "session")).toBeUndefined()
  })
})
