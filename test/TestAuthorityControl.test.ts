import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import { CLIENT_ID, GRAPH, SECRET } from "./support/harness.js"

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
