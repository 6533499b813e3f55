import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Layer, Logger, Redacted, TestClock } from "effect"
import * as Engine from "effect-msal/internal/engine"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import {
  AUTHORITY,
  authority,
  CLIENT_ID,
  client,
  GRAPH,
  SECRET,
  testLayer,
  tokenRequestCount
} from "./support/harness.js"
import { makeClient, sharedLayer, tokenForms } from "./support/users.js"

const snapshot = Effect.flatMap(TokenCache.TokenCache, (c) => c.snapshot)
const appToken = Effect.flatMap(client, (c) => c.acquireTokenForClient({ scopes: [GRAPH] }))

describe("token lifetimes from the authority are validated before anything is cached", () => {
  for (
    const [name, body] of [
      ["expires_in 0", { expires_in: 0 }],
      ["expires_in -3600", { expires_in: -3600 }],
      ["expires_in 2^53-1", { expires_in: Number.MAX_SAFE_INTEGER }],
      ["expires_on an hour ago", { expires_in: undefined, expires_on: "PAST" }]
    ] as const
  ) {
    it.effect(`${name}: a NetworkError, nothing cached, the next call asks again`, () =>
      Effect.gen(function*() {
        const a = yield* authority
        const past = Math.floor((yield* Clock.currentTimeMillis) / 1000) - 3600
        const fields = Object.fromEntries(
          Object.entries(body).map(([k, v]) => [k, v === "PAST" ? past : v]).filter(([, v]) => v !== undefined)
        )
        yield* a.enqueue({ status: 200, body: { access_token: "evil-forever", token_type: "Bearer", ...fields } })
        const e = yield* Effect.flip(appToken)
        expect(e).toMatchObject({ _tag: "NetworkError", reason: "InvalidResponse" })
        expect(String(e)).not.toContain("evil-forever")
        expect((yield* snapshot).entries.AccessToken).toHaveLength(0)
        expect((yield* appToken).tokenSource).toBe("identity_provider")
        expect(yield* tokenRequestCount).toBe(2)
      }).pipe(Effect.provide(testLayer())))
  }
})

describe("client credentials against a tenantless authority", () => {
  it.effect("logs one warning: app tokens need a tenant (as MSAL Python warns)", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ message }) => lines.push(String(message)))
      yield* appToken.pipe(Effect.either, Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      yield* appToken.pipe(Effect.either, Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(lines.filter((l) => l.includes("tenantless authority"))).toHaveLength(1)
    }).pipe(Effect.provide(testLayer({ client: { authority: "https://login.microsoftonline.com/common" } }))))
})

describe("engine state belongs to one client", () => {
  it.scoped("a second client on the same cache keeps its own single-flight and memo", () =>
    Effect.gen(function*() {
      const one = yield* makeClient({ clientId: "app-one" })
      const two = yield* makeClient({ clientId: "app-two" })
      const a = yield* one.acquireTokenForClient({ scopes: [GRAPH] })
      const b = yield* two.acquireTokenForClient({ scopes: [GRAPH] })
      expect(Redacted.value(a.accessToken)).not.toBe(Redacted.value(b.accessToken))
      expect((yield* one.acquireTokenForClient({ scopes: [GRAPH] })).tokenSource).toBe("cache")
      expect((yield* two.acquireTokenForClient({ scopes: [GRAPH] })).tokenSource).toBe("cache")
    }).pipe(Effect.provide(sharedLayer())))
})

describe("family refresh tokens: client_mismatch in error_additional_info", () => {
  it.scoped("an unknown app stops trying family tokens when only error_additional_info names client_mismatch", () =>
    Effect.gen(function*() {
      const a = yield* authority
      let account: import("effect-msal").AuthenticationResult.Account | undefined
      for (const clientId of ["fam-1", "fam-2"]) {
        const member = yield* makeClient({ clientId })
        const flow = yield* member.initiateAuthCodeFlow({ scopes: ["User.Read"], redirectUri: "https://x.example/cb" })
        const result = yield* member.acquireTokenByAuthCodeFlow({
          flow,
          response: new URL(yield* a.authorize(flow.authUri)).searchParams
        })
        account = result.account
        yield* TestClock.adjust("1 second")
      }
      // as MSAL Python reads it: no suberror, the reason in error_additional_info
      yield* a.enqueue({
        status: 400,
        body: { error: "invalid_grant", error_codes: [70000], error_additional_info: ["client_mismatch"] }
      })
      const outsider = yield* makeClient({ clientId: "outsider" })
      expect(yield* Effect.flip(outsider.acquireTokenSilent({ scopes: ["User.Read"], account: account! })))
        .toMatchObject({ _tag: "ServerError", errorAdditionalInfo: ["client_mismatch"] })
      expect((yield* tokenForms).filter((f) => f.client_id === "outsider")).toHaveLength(1)
    }).pipe(Effect.provide(sharedLayer({ familyClients: ["fam-1", "fam-2"] }))))
})

describe("x-client-last-telemetry (MSAL Python's server-side telemetry)", () => {
  it.effect("counts cache hits and lists refused requests until a request succeeds", () =>
    Effect.gen(function*() {
      const a = yield* authority
      const c = yield* client
      yield* c.acquireTokenForClient({ scopes: [GRAPH] })
      yield* c.acquireTokenForClient({ scopes: [GRAPH] })
      yield* c.acquireTokenForClient({ scopes: [GRAPH] })
      yield* a.enqueue({ status: 400, body: { error: "invalid_scope", error_codes: [70011] } })
      yield* Effect.flip(c.acquireTokenForClient({ scopes: ["api://other/.default"] }))
      yield* c.acquireTokenForClient({ scopes: ["api://third/.default"] })
      yield* c.acquireTokenForClient({ scopes: ["api://fourth/.default"] })
      const requests = yield* a.tokenRequests
      const last = requests.map((r) => r.headers["x-client-last-telemetry"])
      const failedId = requests[1]!.headers["client-request-id"]
      expect(last).toEqual([
        "4|0|||",
        // two tokens served from the cache since the first request
        "4|2|||",
        // the refused request (api id, correlation id, error); the hits stay counted until delivered
        `4|2|730,${failedId}|invalid_scope|`,
        // delivered: the record starts again
        "4|0|||"
      ])
    }).pipe(
      Effect.provide(testLayer({ client: { authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com" } }))
    ))
})

describe("the grant's own deadline covers the store", () => {
  it.effect("a token cache whose listing never answers fails with CacheError within the client's timeout (plus a second)", () =>
    Effect.gen(function*() {
      const c = yield* client
      const fiber = yield* Effect.fork(Effect.either(c.acquireTokenForClient({ scopes: [GRAPH] })))
      yield* TestClock.adjust("6 seconds")
      const outcome = yield* Fiber.join(fiber)
      expect(outcome).toMatchObject({ _tag: "Left", left: { _tag: "CacheError", reason: "Io" } })
      expect(yield* tokenRequestCount).toBe(0)
    }).pipe(
      Effect.provide(
        ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY, timeout: "5 seconds" }).pipe(
          Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
          Layer.provide(Layer.effect(
            TokenCache.TokenCache,
            Effect.map(TokenCache.makeMemory(), (memory) => ({ ...memory, list: () => Effect.never }))
          )),
          Layer.provide(TestAuthority.layerHttpClient),
          Layer.provideMerge(TestAuthority.layer())
        )
      )
    ))
})

describe("the deadline blames the phase it interrupts", () => {
  const plan = (fetch: Engine.Plan["fetch"]): Engine.Plan => ({
    grant: "silent",
    query: {
      homeAccountId: "uid.utid",
      environment: "login.microsoftonline.com",
      clientId: "client",
      realm: "contoso"
    },
    scopes: ["User.Read"],
    aging: "inline",
    serve: () => Effect.dieMessage("nothing is cached"),
    fetch
  })
  const engineWith = (cache: TokenCache.Service) =>
    Effect.map(
      Effect.scope,
      (scope) => Engine.make({ cache, scope, locked: (_key, effect) => effect, timeout: Duration.seconds(5) })
    )

  it.scoped("two token requests in turn that outlast the deadline: a NetworkError Timeout, not a CacheError", () =>
    Effect.gen(function*() {
      const engine = yield* engineWith(yield* TokenCache.makeMemory())
      // two refresh tokens tried in turn, each answered just within the transport's 5 s
      const slowAuthority = Effect.zipRight(Effect.sleep("4 seconds"), Effect.sleep("4 seconds")).pipe(
        Effect.zipRight(Effect.dieMessage("not reached"))
      )
      const fiber = yield* Effect.fork(Effect.either(engine.acquire(plan(() => slowAuthority))))
      yield* TestClock.adjust("6 seconds")
      expect(yield* Fiber.join(fiber)).toMatchObject({
        _tag: "Left",
        left: { _tag: "NetworkError", reason: "Timeout" }
      })
    }))

  it.scoped("a store that never answers before the request: a CacheError Io", () =>
    Effect.gen(function*() {
      const memory = yield* TokenCache.makeMemory()
      const engine = yield* engineWith({ ...memory, list: () => Effect.never })
      const fiber = yield* Effect.fork(Effect.either(engine.acquire(plan(() => Effect.dieMessage("not reached")))))
      yield* TestClock.adjust("6 seconds")
      expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "Left", left: { _tag: "CacheError", reason: "Io" } })
    }))
})
