import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope, TestClock } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { CLIENT_ID, GRAPH, postClientCredentials, SECRET } from "./support/harness.js"

const BY_TENANT_ID = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47"

/** What a test written in any language does: plain HTTP calls to the served authority. */
const call = (url: string, method: string, body?: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method,
      ...(body === undefined
        ? {}
        : {
          body: typeof body === "string" ? body : JSON.stringify(body),
          headers: { "content-type": "application/json" }
        })
    })
    return { status: response.status, body: (await response.json()) as unknown }
  })

describe("the served authority's control API (for tests in any language)", () => {
  it.scopedLive("enqueue faults, configure lifetimes, read requests, reset", () =>
    Effect.gen(function*() {
      const authority = yield* TestAuthority.make()
      const server = yield* TestAuthority.serve().pipe(Effect.provideService(TestAuthority.TestAuthority, authority))
      const control = `${server.url}/_testauthority`
      // by tenant id: only token requests reach the authority (a domain would be discovered first)
      const layer = ConfidentialClient.layer({ clientId: CLIENT_ID, authority: BY_TENANT_ID, retry: false }).pipe(
        Layer.provide(CredentialSigner.layer(ClientCredential.secret(SECRET))),
        Layer.provide(TokenCache.layerMemory()),
        Layer.provide(TestAuthority.layerHttpClientVia(server.url))
      )
      const acquire = (scope: string) =>
        Effect.flatMap(ConfidentialClient.ConfidentialClient, (c) =>
          Effect.either(c.acquireTokenForClient({ scopes: [scope] })))

      expect(
        yield* call(`${control}/enqueue`, "POST", [{ status: 503, body: "down", headers: { "retry-after": "0" } }, {
          status: 0,
          fault: "disconnect"
        }])
      )
        .toEqual({ status: 200, body: { queued: 2 } })
      expect(yield* call(`${control}/configure`, "POST", { expiresIn: 600, refreshIn: 300 })).toEqual({
        status: 200,
        body: { configured: true }
      })
      const [first, second, third] = yield* Effect.all([
        acquire(GRAPH),
        acquire("https://vault.azure.net/.default"),
        acquire("https://storage.azure.com/.default")
      ]).pipe(Effect.provide(layer))
      expect(first).toMatchObject({ _tag: "Left", left: { _tag: "NetworkError", status: 503 } })
      expect(second).toMatchObject({ _tag: "Left", left: { _tag: "NetworkError", reason: "Transport" } })
      expect(third._tag === "Right" && third.right.refreshOn!.getTime() - third.right.expiresOn.getTime()).toBe(
        -300_000
      )

      const recorded = yield* call(`${control}/requests`, "GET")
      expect((recorded.body as ReadonlyArray<{ path: string }>).map((r) =>
        r.path
      )).toEqual([
        "/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token",
        "/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token",
        "/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"
      ])
      expect(yield* call(`${control}/reset`, "POST")).toEqual({ status: 200, body: { reset: true } })
      expect((yield* call(`${control}/requests`, "GET")).body).toEqual([])
      // control calls are not recorded as authority traffic, and bad input is a 400
      expect((yield* call(`${control}/enqueue`, "POST", "{not json")).status).toBe(400)
      expect((yield* call(`${control}/enqueue`, "POST", { status: "x" })).status).toBe(400)
      expect((yield* call(`${control}/nope`, "POST")).status).toBe(404)
    }))
})

/** A client-credentials request over real HTTP: the answer's status, or "no answer". */
const requestToken = (url: string) =>
  postClientCredentials(url, { tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47" })
    .then((response) => String(response.status), () => "no answer")

/** Waits (live time, at most 5 s) until the authority has recorded a request. */
const untilRecorded = (authority: TestAuthority.Service) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500 && (yield* authority.requests).length === 0; i++) {
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
    }
    expect(yield* authority.requests).toHaveLength(1)
  })

describe("the served authority's lifetime", () => {
  it.effect("a request still being answered when the server's scope closes is interrupted with it", () =>
    Effect.gen(function*() {
      const authority = yield* TestAuthority.make({ latency: "10 seconds" })
      const scope = yield* Scope.make()
      const server = yield* TestAuthority.serve().pipe(
        Effect.provideService(TestAuthority.TestAuthority, authority),
        Scope.extend(scope)
      )
      const answered = requestToken(server.url)
      // the request reaches the authority over real HTTP; its answer waits for the TestClock
      yield* untilRecorded(authority)
      yield* Scope.close(scope, Exit.void)
      expect(yield* Effect.promise(() => answered)).toBe("no answer")
      // a handler that outlived the server would now issue its token
      yield* TestClock.adjust("10 seconds")
      expect(yield* authority.issued).toEqual([])
      // the same request on a server that stays up is answered, and issues one
      const again = yield* TestAuthority.make({ latency: "10 seconds" })
      const live = yield* TestAuthority.serve().pipe(Effect.provideService(TestAuthority.TestAuthority, again))
      const status = requestToken(live.url)
      yield* untilRecorded(again)
      yield* TestClock.adjust("10 seconds")
      expect(yield* Effect.promise(() => status)).toBe("200")
      expect(yield* again.issued).toHaveLength(1)
    }).pipe(Effect.scoped))
})
