/**
 * The certificate path over real HTTP: a token endpoint on 127.0.0.1 that verifies each
 * client assertion against its registered certificates, as Entra does.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Redacted } from "effect"
import { copyFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import * as ClientCredential from "../../src/ClientCredential.js"
import type { AuthContext } from "../../src/CredentialSigner.js"
import * as CredentialSigner from "../../src/CredentialSigner.js"
import { verifyClientAssertion } from "../../src/internal/testAuthority/verifyAssertion.js"
import { JWT_BEARER } from "../../src/internal/signer.js"
import * as Fixtures from "./fixtures.js"

const fx = Fixtures.make()
afterAll(fx.cleanup)

const CLIENT_ID = "22222222-3333-4444-5555-666666666666"

/** A token endpoint that accepts assertions signed by one of `registered` (PEM certificates). */
const tokenEndpoint = (registered: { current: ReadonlyArray<string> }) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; close: () => void }>((resume) => {
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const form = new URLSearchParams(Buffer.concat(chunks).toString())
          const audience = `http://127.0.0.1:${(server.address() as AddressInfo).port}${req.url ?? ""}`
          const reply = (status: number, body: object) => {
            res.writeHead(status, { "content-type": "application/json" })
            res.end(JSON.stringify(body))
          }
          if (form.get("client_assertion_type") !== JWT_BEARER || form.get("client_id") !== CLIENT_ID) {
            return reply(400, { error: "invalid_request" })
          }
          Effect.runPromise(
            Effect.either(verifyClientAssertion(form.get("client_assertion") ?? "", {
              certificatesPem: registered.current,
              audience,
              clientId: CLIENT_ID,
              nowSeconds: Math.floor(Date.now() / 1000),
              clockToleranceSeconds: 300
            }))
          ).then((result) =>
            result._tag === "Right"
              ? reply(200, { token_type: "Bearer", access_token: "at", expires_in: 3599, alg: result.right.header.alg })
              : reply(401, { error: "invalid_client", error_description: result.left.reason })
          )
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(
          Effect.succeed({ url: `http://127.0.0.1:${port}/tenant/oauth2/v2.0/token`, close: () => server.close() })
        )
      })
    }),
    ({ close }) => Effect.sync(close)
  )

const requestToken = (signer: CredentialSigner.Service, url: string) =>
  Effect.gen(function*() {
    const context: AuthContext = { clientId: CLIENT_ID, tokenEndpoint: url, authorityKind: "Entra" }
    const fields = yield* signer.clientAuth(context)
    const http = yield* HttpClient.HttpClient
    const response = yield* http.execute(
      HttpClientRequest.post(url).pipe(
        HttpClientRequest.bodyUrlParams({
          grant_type: "client_credentials",
          client_id: CLIENT_ID,
          scope: "https://graph.microsoft.com/.default",
          ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Redacted.value(v)]))
        })
      )
    )
    return { status: response.status, body: (yield* response.json) as Record<string, unknown> }
  })

describe("certificate credentials against a verifying token endpoint on 127.0.0.1", () => {
  it.scopedLive("PEM and PFX credentials get tokens; after invalid_client, reload picks up a replaced PFX", () =>
    Effect.gen(function*() {
      const registered = { current: [fx.a.certPem] as ReadonlyArray<string> }
      const { url } = yield* tokenEndpoint(registered)

      const pem = yield* CredentialSigner.make(
        ClientCredential.certificate({ privateKey: fx.a.pkcs1, publicCertificate: fx.a.certPem })
      )
      expect(yield* requestToken(pem, url)).toMatchObject({ status: 200, body: { alg: "PS256", access_token: "at" } })

      const path = join(fx.dir, "served.pfx")
      copyFileSync(fx.pfx.legacy, path)
      const pfx = yield* CredentialSigner.make(ClientCredential.pfx({ path, passphrase: Fixtures.PASSPHRASE }))
      expect((yield* requestToken(pfx, url)).status).toBe(200)

      // The app registration now holds only the new certificate, and the file was replaced.
      registered.current = [fx.b.certPem]
      copyFileSync(fx.pfx.rotated, path)
      const refused = yield* requestToken(pfx, url)
      expect(refused).toMatchObject({ status: 401, body: { error: "invalid_client" } })
      yield* pfx.reload
      expect((yield* requestToken(pfx, url)).status).toBe(200)
    }).pipe(Effect.provide(FetchHttpClient.layer)))
})
