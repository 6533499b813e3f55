/**
 * Real MSAL Python (Debian's python3-msal 1.21, run with /usr/bin/python3) and msal-node as
 * peers: a cache one of them writes is served by the other with no token request, for app
 * tokens, on-behalf-of tokens and signed-in users with refresh tokens, with the authority
 * given by tenant id, by domain and as `organizations`. MSAL Python talks to a served test
 * authority over real HTTP on 127.0.0.1 (test/peers/msal_python.py).
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import type { INetworkModule } from "@azure/msal-node"
import * as MsalNode from "@azure/msal-node"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Peer from "./peers/python.js"
import { CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"
import { ALICE, REDIRECT_URI } from "./support/users.js"

const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
const USER_SCOPES = ["https://graph.microsoft.com/User.Read"]

/** One MSAL Python process for the file (a new application, cache and session per request). */
const peer = Peer.make()
afterAll(peer.close)

/** The authority spellings every round trip runs with. */
const AUTHORITIES: ReadonlyArray<readonly [string, string]> = [
  ["tenant id", `https://login.microsoftonline.com/${TENANT_ID}`],
  ["domain", "https://login.microsoftonline.com/contoso.onmicrosoft.com"],
  ["organizations", "https://login.microsoftonline.com/organizations"]
]

/** A served test authority, our client over real HTTP with its own memory cache, and a cache file for the peer. */
const world = (authority: string) =>
  Effect.gen(function*() {
    const service = yield* TestAuthority.make()
    const server = yield* TestAuthority.serve().pipe(Effect.provideService(TestAuthority.TestAuthority, service))
    const cache = yield* TokenCache.makeMemory()
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-msal-peer-"))),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const file = join(dir, "cache.json")
    const client = yield* ConfidentialClient.make({ clientId: CLIENT_ID, authority }).pipe(
      Effect.provide(Layer.mergeAll(
        CredentialSigner.layer(ClientCredential.secret(SECRET)),
        TestAuthority.layerHttpClientVia(server.url),
        Layer.succeed(TokenCache.TokenCache, cache)
      ))
    )
    const python = (request: Omit<Peer.PeerRequest, "base" | "cache" | "client_id" | "secret" | "authority">) =>
      peer.run({ base: server.url, cache: file, client_id: CLIENT_ID, secret: SECRET, authority, ...request })
    const posts = Effect.map(service.tokenRequests, (rs) => rs.length)
    /** Our cache → the peer's file, written for MSAL Python (app tokens with a null home account id). */
    const exportCache = Effect.flatMap(
      TokenCache.serializeWith({ format: "msal-python" }),
      (json) => Effect.sync(() => writeFileSync(file, json))
    ).pipe(
      Effect.provideService(TokenCache.TokenCache, cache)
    )
    /** The peer's file → our cache. */
    const importCache = Effect.flatMap(Effect.sync(() => readFileSync(file, "utf8")), TokenCache.deserialize).pipe(
      Effect.provideService(TokenCache.TokenCache, cache)
    )
    /** Our own sign-in through the test authority. */
    const signIn = Effect.gen(function*() {
      const flow = yield* client.initiateAuthCodeFlow({ scopes: USER_SCOPES, redirectUri: REDIRECT_URI })
      const redirect = yield* service.authorize(flow.authUri, { user: ALICE.username })
      return yield* client.acquireTokenByAuthCodeFlow({ flow, response: new URL(redirect).searchParams })
    })
    return { service, client, python, posts, exportCache, importCache, signIn, cache, serverUrl: server.url }
  })

// npm test's pretest (scripts/provision.mjs) installs python3-msal: a missing peer fails, never skips
describe("MSAL Python 1.21 as a peer (real HTTP on 127.0.0.1)", () => {
  it.live("MSAL Python 1.21 runs with /usr/bin/python3", () =>
    Effect.gen(function*() {
      expect(yield* peer.hello).toEqual({ msal: expect.stringMatching(/^1\.21\./), python: Peer.PYTHON })
    }), 90_000)

  for (const [spelling, authority] of AUTHORITIES) {
    const test = it.live
    const readTest = it.live
    describe(`authority by ${spelling}`, () => {
      test("an app token MSAL Python cached is served by us with no request", () =>
        Effect.gen(function*() {
          const w = yield* world(authority)
          const theirs = yield* w.python({ action: "client_credentials", scopes: [GRAPH] })
          expect(theirs.result?.access_token).toBeTypeOf("string")
          yield* w.importCache
          const before = yield* w.posts
          const ours = yield* w.client.acquireTokenForClient({ scopes: [GRAPH] })
          expect(ours.tokenSource).toBe("cache")
          expect(Redacted.value(ours.accessToken)).toBe(theirs.result?.access_token)
          expect(yield* w.posts).toBe(before)
        }).pipe(Effect.scoped), 90_000)

      test("an app token we cached is served by MSAL Python with no request", () =>
        Effect.gen(function*() {
          const w = yield* world(authority)
          const ours = yield* w.client.acquireTokenForClient({ scopes: [GRAPH] })
          yield* w.exportCache
          const theirs = yield* w.python({ action: "silent_app", scopes: [GRAPH] })
          expect(theirs.result?.access_token).toBe(Redacted.value(ours.accessToken))
          expect(theirs.requests.filter((r) => r.startsWith("POST"))).toEqual([])
        }).pipe(Effect.scoped), 90_000)

      readTest(
        "a user MSAL Python signed in is served by us from the cache, then refreshed with its refresh token",
        () =>
          Effect.gen(function*() {
            const w = yield* world(authority)
            const theirs = yield* w.python({
              action: "sign_in",
              scopes: USER_SCOPES,
              redirect_uri: REDIRECT_URI,
              username: ALICE.username
            })
            expect(theirs.result?.access_token).toBeTypeOf("string")
            yield* w.importCache
            const before = yield* w.posts
            const [account] = yield* w.client.getAccounts({ username: ALICE.username })
            expect(account?.homeAccountId).toBe(`${ALICE.objectId}.${ALICE.tenantId}`)
            const ours = yield* w.client.acquireTokenSilent({ account: account!, scopes: USER_SCOPES })
            expect(ours.tokenSource).toBe("cache")
            expect(Redacted.value(ours.accessToken)).toBe(theirs.result?.access_token)
            expect(yield* w.posts).toBe(before)
            const refreshed = yield* w.client.acquireTokenSilent({
              account: account!,
              scopes: USER_SCOPES,
              forceRefresh: true
            })
            expect(refreshed.tokenSource).toBe("identity_provider")
            const last = (yield* w.service.tokenRequests).at(-1)!
            expect(last.form.grant_type).toBe("refresh_token")
            expect(last.form.refresh_token).toBe(theirs.result?.refresh_token)
          }).pipe(Effect.scoped),
        90_000
      )

      test("a user we signed in is served by MSAL Python from the cache with no request", () =>
        Effect.gen(function*() {
          const w = yield* world(authority)
          const ours = yield* w.signIn
          yield* w.exportCache
          const theirs = yield* w.python({ action: "silent_user", scopes: USER_SCOPES, username: ALICE.username })
          expect(theirs.accounts.map((a) => a.home_account_id)).toEqual([`${ALICE.objectId}.${ALICE.tenantId}`])
          expect(theirs.result?.access_token).toBe(Redacted.value(ours.accessToken))
          expect(theirs.requests.filter((r) => r.startsWith("POST"))).toEqual([])
        }).pipe(Effect.scoped), 90_000)

      readTest(
        "an on-behalf-of token MSAL Python cached is served by us (silent, for its account) with no request",
        () =>
          Effect.gen(function*() {
            const w = yield* world(authority)
            const assertion = yield* w.service.userAssertion({ audience: CLIENT_ID, user: ALICE.username })
            const theirs = yield* w.python({ action: "on_behalf_of", scopes: USER_SCOPES, assertion })
            expect(theirs.result?.access_token).toBeTypeOf("string")
            yield* w.importCache
            const before = yield* w.posts
            const [account] = yield* w.client.getAccounts({ username: ALICE.username })
            const ours = yield* w.client.acquireTokenSilent({ account: account!, scopes: USER_SCOPES })
            expect(ours.tokenSource).toBe("cache")
            expect(Redacted.value(ours.accessToken)).toBe(theirs.result?.access_token)
            expect(yield* w.posts).toBe(before)
          }).pipe(Effect.scoped),
        90_000
      )

      test(
        "an on-behalf-of token we cached is served by MSAL Python (silent, for its account) with no request",
        () =>
          Effect.gen(function*() {
            const w = yield* world(authority)
            const assertion = yield* w.service.userAssertion({ audience: CLIENT_ID, user: ALICE.username })
            const ours = yield* w.client.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: USER_SCOPES })
            yield* w.exportCache
            const theirs = yield* w.python({ action: "silent_user", scopes: USER_SCOPES, username: ALICE.username })
            expect(theirs.result?.access_token).toBe(Redacted.value(ours.accessToken))
            expect(theirs.requests.filter((r) => r.startsWith("POST"))).toEqual([])
          }).pipe(Effect.scoped),
        90_000
      )
    })
  }
})

/** msal-node over the same served authority: its requests go to 127.0.0.1 with the original host. */
const msalNode = (serverUrl: string, authority: string) => {
  const send = async (
    url: string,
    method: string,
    options?: { readonly headers?: Record<string, string>; readonly body?: string }
  ) => {
    const target = new URL(url)
    const response = await fetch(`${serverUrl}${target.pathname}${target.search}`, {
      method,
      headers: { ...options?.headers, "x-forwarded-host": target.host },
      ...(options?.body === undefined ? {} : { body: options.body })
    })
    const headers: Record<string, string> = {}
    response.headers.forEach((v, k) => {
      headers[k] = v
    })
    return { status: response.status, headers, body: JSON.parse(await response.text()) as never }
  }
  const networkClient: INetworkModule = {
    sendGetRequestAsync: (url, options) => send(url, "GET", options as never),
    sendPostRequestAsync: (url, options) => send(url, "POST", options as never)
  }
  return new MsalNode.ConfidentialClientApplication({
    auth: { clientId: CLIENT_ID, clientSecret: SECRET, authority },
    system: { networkClient }
  })
}

describe("msal-node 7.2.1 as a peer (real HTTP on 127.0.0.1)", () => {
  for (const [spelling, authority] of AUTHORITIES) {
    // msal-node refuses client credentials on /organizations (missing_tenant_id_error): no
    // app-token round trip there; the refusal itself is tested below
    const appTokens = spelling !== "organizations"
    const userTest = it.live
    const readTest = it.live
    describe(`authority by ${spelling}`, () => {
      const world2 = Effect.gen(function*() {
        const w = yield* world(authority)
        const node = msalNode(w.serverUrl, authority)
        const exportForNode = Effect.flatMap(
          TokenCache.serialize,
          (json) => Effect.sync(() => node.getTokenCache().deserialize(json))
        ).pipe(Effect.provideService(TokenCache.TokenCache, w.cache))
        return { ...w, node, exportForNode }
      })

      if (spelling === "organizations") {
        // msal-node `ConfidentialClientApplication.acquireTokenByClientCredential` throws
        // missing_tenant_id_error for common and organizations; MSAL Python and we send the request
        it.live(
          "msal-node refuses client credentials here (missing_tenant_id_error): no app token to share",
          () =>
            Effect.gen(function*() {
              const w = yield* world2
              const refused = yield* Effect.promise(() =>
                w.node.acquireTokenByClientCredential({ scopes: [GRAPH] }).then(
                  () => "no error",
                  (error: { errorCode?: string }) => error.errorCode
                )
              )
              expect(refused).toBe("missing_tenant_id_error")
              expect(yield* w.posts).toBe(0)
            }).pipe(Effect.scoped),
          90_000
        )
      }

      if (appTokens) {
        it.live("an app token msal-node cached is served by us with no request", () =>
          Effect.gen(function*() {
            const w = yield* world2
            const theirs = yield* Effect.promise(() => w.node.acquireTokenByClientCredential({ scopes: [GRAPH] }))
            yield* Effect.suspend(() => TokenCache.deserialize(w.node.getTokenCache().serialize())).pipe(
              Effect.provideService(TokenCache.TokenCache, w.cache)
            )
            const before = yield* w.posts
            const ours = yield* w.client.acquireTokenForClient({ scopes: [GRAPH] })
            expect(ours.tokenSource).toBe("cache")
            expect(Redacted.value(ours.accessToken)).toBe(theirs?.accessToken)
            expect(yield* w.posts).toBe(before)
          }).pipe(Effect.scoped), 90_000)
      }

      // msal-node looks app tokens up under the tenant as configured (msal-node
      // `ClientCredentialClient.readAccessTokenFromCache`: `realm: authority.tenant`), we write
      // the tenant id discovery names, as MSAL Python: for a domain, msal-node asks again
      if (spelling === "domain" || appTokens) {
        const served = spelling !== "domain"
        it.live(
          served
            ? "an app token we cached is served by msal-node with no request"
            : "an app token we cached for a domain is not found by msal-node, which asks for a new one",
          () =>
            Effect.gen(function*() {
              const w = yield* world2
              const ours = yield* w.client.acquireTokenForClient({ scopes: [GRAPH] })
              yield* w.exportForNode
              const before = yield* w.posts
              const theirs = yield* Effect.promise(() => w.node.acquireTokenByClientCredential({ scopes: [GRAPH] }))
              expect(theirs?.fromCache).toBe(served)
              expect(theirs?.accessToken === Redacted.value(ours.accessToken)).toBe(served)
              expect(yield* w.posts).toBe(served ? before : before + 1)
            }).pipe(Effect.scoped),
          90_000
        )
      }

      readTest("a user msal-node signed in is served by us from the cache", () =>
        Effect.gen(function*() {
          const w = yield* world2
          const url = yield* Effect.promise(() =>
            w.node.getAuthCodeUrl({ scopes: USER_SCOPES, redirectUri: REDIRECT_URI })
          )
          const redirect = new URL(yield* w.service.authorize(url, { user: ALICE.username }))
          const theirs = yield* Effect.promise(() =>
            w.node.acquireTokenByCode({
              code: redirect.searchParams.get("code")!,
              scopes: USER_SCOPES,
              redirectUri: REDIRECT_URI
            })
          )
          yield* Effect.suspend(() => TokenCache.deserialize(w.node.getTokenCache().serialize())).pipe(
            Effect.provideService(TokenCache.TokenCache, w.cache)
          )
          const before = yield* w.posts
          const [account] = yield* w.client.getAccounts({ username: ALICE.username })
          const ours = yield* w.client.acquireTokenSilent({ account: account!, scopes: USER_SCOPES })
          expect(ours.tokenSource).toBe("cache")
          expect(Redacted.value(ours.accessToken)).toBe(theirs.accessToken)
          expect(yield* w.posts).toBe(before)
        }).pipe(Effect.scoped), 90_000)

      // under `organizations` we write user tokens under the token endpoint's tenant, as MSAL
      // Python; msal-node looks them up under the account's tid (msal-common
      // `SilentFlowClient.acquireCachedToken`: `request.account.tenantId`), misses the access
      // token and redeems our refresh token instead: the user stays signed in, with one request
      if (spelling === "organizations") {
        it.live(
          "a user we signed in is served by msal-node through our refresh token (one request)",
          () =>
            Effect.gen(function*() {
              const w = yield* world2
              const ours = yield* w.signIn
              yield* w.exportForNode
              const before = yield* w.posts
              const [account] = yield* Effect.promise(() => w.node.getTokenCache().getAllAccounts())
              const theirs = yield* Effect.promise(() =>
                w.node.acquireTokenSilent({ account: account!, scopes: USER_SCOPES })
              )
              expect(theirs.fromCache).toBe(false)
              expect(yield* w.posts).toBe(before + 1)
              const last = (yield* w.service.tokenRequests).at(-1)!
              expect(last.form.grant_type).toBe("refresh_token")
              const [rt] = yield* w.cache.list("RefreshToken")
              expect(last.form.refresh_token).toBe(Redacted.value(rt!.secret))
              expect(ours.tokenSource).toBe("identity_provider")
            }).pipe(Effect.scoped),
          90_000
        )
      } else {
        userTest("a user we signed in is served by msal-node from the cache", () =>
          Effect.gen(function*() {
            const w = yield* world2
            const ours = yield* w.signIn
            yield* w.exportForNode
            const before = yield* w.posts
            const [account] = yield* Effect.promise(() => w.node.getTokenCache().getAllAccounts())
            const theirs = yield* Effect.promise(() =>
              w.node.acquireTokenSilent({ account: account!, scopes: USER_SCOPES })
            )
            expect(theirs.accessToken).toBe(Redacted.value(ours.accessToken))
            expect(theirs.fromCache).toBe(true)
            expect(yield* w.posts).toBe(before)
          }).pipe(Effect.scoped), 90_000)
      }

      readTest(
        "an on-behalf-of token msal-node cached is served by us for the same assertion",
        () =>
          Effect.gen(function*() {
            const w = yield* world2
            const assertion = yield* w.service.userAssertion({ audience: CLIENT_ID, user: ALICE.username })
            const theirs = yield* Effect.promise(() =>
              w.node.acquireTokenOnBehalfOf({ oboAssertion: assertion, scopes: USER_SCOPES })
            )
            yield* Effect.suspend(() => TokenCache.deserialize(w.node.getTokenCache().serialize())).pipe(
              Effect.provideService(TokenCache.TokenCache, w.cache)
            )
            const before = yield* w.posts
            const ours = yield* w.client.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: USER_SCOPES })
            expect(ours.tokenSource).toBe("cache")
            expect(Redacted.value(ours.accessToken)).toBe(theirs?.accessToken)
            expect(yield* w.posts).toBe(before)
          }).pipe(Effect.scoped),
        90_000
      )

      it.live(
        "an on-behalf-of token we cached is served by msal-node for the same assertion",
        () =>
          Effect.gen(function*() {
            const w = yield* world2
            const assertion = yield* w.service.userAssertion({ audience: CLIENT_ID, user: ALICE.username })
            const ours = yield* w.client.acquireTokenOnBehalfOf({ userAssertion: assertion, scopes: USER_SCOPES })
            yield* w.exportForNode
            const before = yield* w.posts
            const theirs = yield* Effect.promise(() =>
              w.node.acquireTokenOnBehalfOf({ oboAssertion: assertion, scopes: USER_SCOPES })
            )
            expect(theirs?.accessToken).toBe(Redacted.value(ours.accessToken))
            expect(theirs?.fromCache).toBe(true)
            expect(yield* w.posts).toBe(before)
          }).pipe(Effect.scoped),
        90_000
      )
    })
  }
})
