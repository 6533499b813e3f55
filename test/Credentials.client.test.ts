/**
 * Every `ClientCredential` kind acquiring tokens through `ConfidentialClient` from a test
 * authority that verifies each client assertion as Entra does: the signature against the
 * registered certificate its thumbprint names, `x5c`, `aud`, `iss`, `sub`, `exp`, `nbf`, and
 * federated tokens against the app's federated credentials.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Clock, Context, Effect, Layer, Queue, Redacted, TestClock } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import type { ProtectedHeaderParameters } from "jose"
import { decodeProtectedHeader, SignJWT } from "jose"
import { copyFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { CredentialError, ServerError } from "../src/MsalError.js"
import * as Fixtures from "./credentials/fixtures.js"
import { sha1Of, sha256Of } from "./credentials/helpers.js"
import { AUTHORITY, CLIENT_ID, GRAPH, TOKEN_ENDPOINT } from "./support/harness.js"

const fx = Fixtures.make()
afterAll(fx.cleanup)

/** 2026-01-01T00:00:00Z. */
const T0 = 1_767_225_600
const atT0 = TestClock.setTime(T0 * 1000)

/** The issuer of workload tokens (an AKS OIDC issuer) and the service account they are about. */
const WORKLOAD_ISSUER = "https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/"
const WORKLOAD_SUBJECT = "system:serviceaccount:payments:api"

let fileCounter = 0
const tempPath = (name: string) => join(fx.dir, `client-${++fileCounter}-${name}`)

const scope = (n: number | string) => `https://api-${n}.contoso.com/.default`

/** Signals each completed `reload` of the signer, to wait for the one `invalid_client` triggers. */
class Reloads extends Context.Tag("test/Reloads")<Reloads, Queue.Queue<void>>() {}

/**
 * A client with `credential` against an in-process authority where `CLIENT_ID` is registered
 * as `registration`; `Reloads` receives one item per finished signer reload.
 */
const clientLayer = (
  credential: ClientCredential.ClientCredential,
  registration: TestAuthority.RegisteredClient,
  settings?: Partial<TestAuthority.Settings>
) => {
  const signer = Layer.effect(
    CredentialSigner.CredentialSigner,
    Effect.gen(function*() {
      const real = yield* CredentialSigner.make(credential)
      const reloads = yield* Reloads
      return { clientAuth: real.clientAuth, reload: Effect.ensuring(real.reload, Queue.offer(reloads, undefined)) }
    })
  )
  return ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
    Layer.provide(signer),
    Layer.provideMerge(Layer.effect(Reloads, Queue.unbounded<void>())),
    Layer.provideMerge(TokenCache.layerMemory()),
    Layer.provide(TestAuthority.layerHttpClient),
    Layer.provideMerge(TestAuthority.layer({ ...settings, clients: { [CLIENT_ID]: registration } }))
  )
}

const client = ConfidentialClient.ConfidentialClient
const authority = TestAuthority.TestAuthority

const acquire = (scopes: string) => Effect.flatMap(client, (c) => c.acquireTokenForClient({ scopes: [scopes] }))

/** The `client_assertion` values the authority received, oldest first. */
const assertionsSeen = Effect.flatMap(authority, (a) => a.tokenRequests).pipe(
  Effect.map((requests) => requests.map((r) => r.form.client_assertion ?? ""))
)

const lastHeader = Effect.map(assertionsSeen, (all): ProtectedHeaderParameters => decodeProtectedHeader(all.at(-1)!))

/** Acquires a token, checks it came from the authority, and returns the assertion's header. */
const acquireOk = (scopes: string = GRAPH) =>
  Effect.gen(function*() {
    const result = yield* acquire(scopes)
    expect(result.tokenSource).toBe("identity_provider")
    const issued = yield* Effect.flatMap(authority, (a) => a.issued)
    expect(Redacted.value(result.accessToken)).toBe(issued.at(-1)!.accessToken)
    const [request] = (yield* Effect.flatMap(authority, (a) => a.tokenRequests)).slice(-1)
    expect(request!.form.client_assertion_type).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    expect(request!.form.client_secret).toBeUndefined()
    return yield* lastHeader
  })

/** The refusal of a token request, with the assertion kept out of every rendering. */
const refused = (scopes: string = GRAPH) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(acquire(scopes))
    expect(error).toBeInstanceOf(ServerError)
    const server = error as ServerError
    const assertion = (yield* assertionsSeen).at(-1)!
    for (const text of [server.message, String(server), JSON.stringify(server), server.errorDescription ?? ""]) {
      expect(text).not.toContain(assertion)
    }
    return server
  })

/** An assertion signed elsewhere with certificate `a`'s key, for `aud` = the token endpoint. */
const preSigned = (options: { readonly now: number; readonly lifetime?: number; readonly audience?: string }) =>
  Effect.promise(() =>
    new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", x5t: sha1Of(fx.a.cert) })
      .setIssuer(CLIENT_ID)
      .setSubject(CLIENT_ID)
      .setAudience(options.audience ?? TOKEN_ENDPOINT)
      .setIssuedAt(options.now)
      .setNotBefore(options.now)
      .setExpirationTime(options.now + (options.lifetime ?? 600))
      .sign(fx.a.privateKey)
  )

/** A workload token of the external issuer, signed with key `b`. */
const workloadToken = (now: number, subject = WORKLOAD_SUBJECT) =>
  Effect.promise(() =>
    new SignJWT({})
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: "workload-key-1" })
      .setIssuer(WORKLOAD_ISSUER)
      .setSubject(subject)
      .setAudience("api://AzureADTokenExchange")
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(fx.b.privateKey)
  )

/** The app trusts the workload issuer's key (given as a public key; a certificate works too). */
const workloadRegistration = (): TestAuthority.RegisteredClient => ({
  federatedCredentials: [{
    issuer: WORKLOAD_ISSUER,
    subject: WORKLOAD_SUBJECT,
    keys: [fx.b.cert.publicKey.export({ type: "spki", format: "pem" }).toString()]
  }]
})

/** Registered with certificate a (a getter: fixtures are made on first use). */
const registeredA = (): TestAuthority.RegisteredClient => ({ certificates: [fx.a.certPem] })

describe("client credentials against a verifying authority", () => {
  describe("certificate (PEM)", () => {
    it.scoped("PKCS#8 key + certificate: PS256 with x5t#S256 and x5c", () =>
      Effect.gen(function*() {
        yield* atT0
        const header = yield* acquireOk()
        expect(header).toEqual({
          alg: "PS256",
          typ: "JWT",
          "x5t#S256": sha256Of(fx.a.cert),
          x5c: [fx.a.cert.raw.toString("base64")]
        })
      }).pipe(Effect.provide(clientLayer(
        ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem }),
        registeredA()
      ))))

    it.scoped("PKCS#1 key + SHA-1 thumbprint: RS256 with x5t", () =>
      Effect.gen(function*() {
        yield* atT0
        expect(yield* acquireOk()).toEqual({ alg: "RS256", typ: "JWT", x5t: sha1Of(fx.a.cert) })
      }).pipe(Effect.provide(clientLayer(
        ClientCredential.certificate({
          privateKey: fx.a.pkcs1,
          thumbprint: Buffer.from(sha1Of(fx.a.cert), "base64url").toString("hex").toUpperCase()
        }),
        registeredA()
      ))))

    it.scoped("encrypted PKCS#8 key + SHA-256 thumbprint only: PS256 with x5t#S256, no x5c", () =>
      Effect.gen(function*() {
        yield* atT0
        expect(yield* acquireOk()).toEqual({ alg: "PS256", typ: "JWT", "x5t#S256": sha256Of(fx.a.cert) })
      }).pipe(Effect.provide(clientLayer(
        ClientCredential.certificate({
          privateKey: fx.a.encrypted,
          passphrase: Fixtures.PASSPHRASE,
          thumbprintSha256: Buffer.from(sha256Of(fx.a.cert), "base64url").toString("hex")
        }),
        registeredA()
      ))))

    it.scoped("a key that does not match the registered certificate: invalid_client AADSTS700027", () =>
      Effect.gen(function*() {
        yield* atT0
        const error = yield* refused()
        expect(error).toMatchObject({ error: "invalid_client", status: 401, errorCodes: [700027] })
        expect(error.errorDescription).toMatch(/invalid signature/)
        expect(yield* Effect.flatMap(authority, (a) => a.issued)).toEqual([])
      }).pipe(Effect.provide(clientLayer(
        // key b, but the thumbprint of certificate a: the signer cannot tell, the authority can
        ClientCredential.certificate({
          privateKey: fx.b.pkcs8,
          thumbprintSha256: Buffer.from(sha256Of(fx.a.cert), "base64url").toString("hex")
        }),
        registeredA()
      ))))

    it.scoped("a certificate the app has not registered: invalid_client AADSTS700027, key not found", () =>
      Effect.gen(function*() {
        yield* atT0
        const error = yield* refused()
        expect(error).toMatchObject({ error: "invalid_client", errorCodes: [700027] })
        expect(error.errorDescription).toMatch(/key was not found/)
      }).pipe(Effect.provide(clientLayer(
        ClientCredential.certificate({ privateKey: fx.b.pkcs8, publicCertificate: fx.b.certPem }),
        registeredA()
      ))))

    it.scoped("the same certificate on every grant: on-behalf-of is verified too", () =>
      Effect.gen(function*() {
        yield* atT0
        const userAssertion = yield* Effect.flatMap(authority, (a) => a.userAssertion({ audience: CLIENT_ID }))
        const result = yield* Effect.flatMap(client, (c) =>
          c.acquireTokenOnBehalfOf({ userAssertion, scopes: ["User.Read"] }))
        expect(result.tokenSource).toBe("identity_provider")
        expect((yield* lastHeader).alg).toBe("PS256")
      }).pipe(Effect.provide(clientLayer(
        ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem }),
        registeredA()
      ))))
  })

  describe("pfx", () => {
    for (const file of ["modern", "legacy", "windows"] as const) {
      it.scoped(`${file} PKCS#12: PS256 with x5t#S256, no x5c`, () =>
        Effect.gen(function*() {
          yield* atT0
          expect(yield* acquireOk()).toEqual({ alg: "PS256", typ: "JWT", "x5t#S256": sha256Of(fx.a.cert) })
        }).pipe(Effect.provide(clientLayer(
          ClientCredential.pfx({ path: fx.pfx[file], passphrase: Fixtures.PASSPHRASE }),
          registeredA()
        ))))
    }

    it.scoped("sendCertificateChain: x5c is leaf then issuer, and the authority checks x5c[0]", () =>
      Effect.gen(function*() {
        yield* atT0
        expect(yield* acquireOk()).toEqual({
          alg: "PS256",
          typ: "JWT",
          "x5t#S256": sha256Of(fx.leaf.cert),
          x5c: [fx.leaf.cert.raw.toString("base64"), fx.ca.cert.raw.toString("base64")]
        })
      }).pipe(Effect.provide(clientLayer(
        ClientCredential.pfx({ path: fx.pfx.chain, passphrase: Fixtures.PASSPHRASE, sendCertificateChain: true }),
        { certificates: [fx.leaf.certPem] }
      ))))
  })

  describe("certificateFile", () => {
    it.scoped("a PEM bundle (encrypted key, certificate, issuer) and a PKCS#12 file", () =>
      Effect.gen(function*() {
        yield* atT0
        const pem = tempPath("bundle.pem")
        writeFileSync(pem, fx.ca.certPem + fx.leaf.encrypted + fx.leaf.certPem)
        const viaPem = yield* acquireOk().pipe(Effect.provide(clientLayer(
          ClientCredential.certificateFile({ path: pem, passphrase: Fixtures.PASSPHRASE, sendCertificateChain: true }),
          { certificates: [fx.leaf.certPem] }
        )))
        expect(viaPem["x5c"]).toEqual([fx.leaf.cert.raw.toString("base64"), fx.ca.cert.raw.toString("base64")])
        const viaPfx = yield* acquireOk().pipe(Effect.provide(clientLayer(
          ClientCredential.certificateFile({ path: fx.pfx.windows, passphrase: Fixtures.PASSPHRASE }),
          registeredA()
        )))
        expect(viaPfx).toEqual({ alg: "PS256", typ: "JWT", "x5t#S256": sha256Of(fx.a.cert) })
      }))
  })

  describe("assertion", () => {
    it.scoped("a pre-signed assertion is accepted until it expires (AADSTS700024), then refused", () =>
      Effect.gen(function*() {
        yield* atT0
        const jwt = yield* preSigned({ now: T0 })
        yield* Effect.gen(function*() {
          yield* acquireOk(scope(1))
          yield* TestClock.adjust("9 minutes")
          yield* acquireOk(scope(2))
          expect(yield* assertionsSeen).toEqual([jwt, jwt])
          // past exp and the five minutes of skew
          yield* TestClock.adjust("7 minutes")
          const error = yield* refused(scope(3))
          expect(error).toMatchObject({ error: "invalid_client", errorCodes: [700024] })
        }).pipe(Effect.provide(clientLayer(ClientCredential.assertion(jwt), registeredA())))
      }))

    it.scoped("for another audience: AADSTS700023; a listed opaque assertion is accepted as is", () =>
      Effect.gen(function*() {
        yield* atT0
        const elsewhere = yield* preSigned({
          now: T0,
          audience: "https://login.microsoftonline.com/fabrikam.com/oauth2/v2.0/token"
        })
        const error = yield* refused().pipe(
          Effect.provide(clientLayer(ClientCredential.assertion(elsewhere), registeredA()))
        )
        expect(error).toMatchObject({ error: "invalid_client", errorCodes: [700023] })
        const listed = yield* Effect.gen(function*() {
          const result = yield* acquire(GRAPH)
          expect(yield* assertionsSeen).toEqual(["opaque-partner-assertion"])
          return result
        }).pipe(Effect.provide(clientLayer(
          ClientCredential.assertion(Redacted.make("opaque-partner-assertion")),
          { assertions: ["opaque-partner-assertion"] }
        )))
        expect(listed.tokenSource).toBe("identity_provider")
        const unlisted = yield* refused().pipe(Effect.provide(clientLayer(
          ClientCredential.assertion("not.a-listed.assertion"),
          { assertions: ["opaque-partner-assertion"] }
        )))
        expect(unlisted.errorCodes).toEqual([50027])
      }))
  })

  describe("assertionProvider", () => {
    it.scoped("runs for each token request; each workload token is verified against the federated credential", () =>
      Effect.gen(function*() {
        yield* atT0
        let calls = 0
        const provide = Effect.sync(() => ++calls).pipe(
          Effect.zipRight(Clock.currentTimeMillis),
          Effect.flatMap((ms) => workloadToken(Math.floor(ms / 1000)))
        )
        yield* Effect.gen(function*() {
          yield* acquireOk(scope(1))
          yield* TestClock.adjust("1 minute")
          yield* acquireOk(scope(2))
          expect((yield* acquire(scope(1))).tokenSource).toBe("cache") // no request, no call
          expect(calls).toBe(2)
          const seen = yield* assertionsSeen
          expect(new Set(seen).size).toBe(2)
          expect(decodeProtectedHeader(seen[0]!).kid).toBe("workload-key-1")
        }).pipe(Effect.provide(clientLayer(ClientCredential.assertionProvider(provide), workloadRegistration())))
      }))

    const boom = new Error("the token service is down")
    it.scoped("a provider failure is a CredentialError carrying the cause, and nothing is sent", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(acquire(GRAPH))
        expect(error).toBeInstanceOf(CredentialError)
        expect((error as CredentialError).description).toBe("the assertion provider failed")
        // equal, not identical: Effect's spans hand on a copy of a failing Error
        const cause = (error as CredentialError).cause
        expect(cause).toBeInstanceOf(Error)
        expect((cause as Error).message).toBe(boom.message)
        expect(yield* Effect.flatMap(authority, (a) => a.tokenRequests)).toEqual([])
      }).pipe(
        Effect.provide(clientLayer(ClientCredential.assertionProvider(Effect.fail(boom)), workloadRegistration()))
      ))
  })

  describe("federatedTokenFile", () => {
    it.scoped("a changed file sends the new token; a token for another subject is refused (AADSTS700213)", () =>
      Effect.gen(function*() {
        yield* atT0
        const path = tempPath("azure-identity-token")
        const first = yield* workloadToken(T0)
        writeFileSync(path, first)
        yield* Effect.gen(function*() {
          yield* acquireOk(scope(1))
          yield* TestClock.adjust("10 minutes")
          const second = yield* workloadToken(T0 + 600)
          writeFileSync(path, `${second}\n`)
          yield* acquireOk(scope(2))
          expect(yield* assertionsSeen).toEqual([first, second])
          writeFileSync(path, yield* workloadToken(T0 + 600, "system:serviceaccount:default:other"))
          const error = yield* refused(scope(3))
          expect(error).toMatchObject({ error: "invalid_client", errorCodes: [700213] })
        }).pipe(Effect.provide(clientLayer(ClientCredential.federatedTokenFile(path), workloadRegistration())))
      }))
  })

  describe("assertion reuse", () => {
    it.scoped("30 minutes of requests for new scopes: one signed assertion about every 9 minutes", () =>
      Effect.gen(function*() {
        yield* atT0
        // a request for a new scope every minute: 30 token requests, every one verified (the
        // second at which an assertion stops being reused is CredentialSigner.test.ts's)
        for (let i = 0; i < 30; i++) {
          yield* acquireOk(scope(i))
          yield* TestClock.adjust("1 minute")
        }
        const seen = yield* assertionsSeen
        expect(seen.length).toBe(30)
        // signed at 0, 540, 1080 and 1620 s: requests 0, 9, 18 and 27
        expect(new Set(seen).size).toBe(4)
        expect([0, 9, 18, 27].map((i) => seen.indexOf(seen[i]!))).toEqual([0, 9, 18, 27])
        expect(seen[8]).toBe(seen[0])
      }).pipe(Effect.provide(clientLayer(
        ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem }),
        registeredA()
      ))))
  })

  describe("rotation", () => {
    it.scoped("new certificate at the authority and on disk: invalid_client, reload, then success; the cache is kept", () =>
      Effect.gen(function*() {
        yield* atT0
        const path = tempPath("rotating.pfx")
        copyFileSync(fx.pfx.modern, path)
        yield* Effect.gen(function*() {
          const cached = yield* acquire(GRAPH)
          expect((yield* lastHeader)["x5t#S256"]).toBe(sha256Of(fx.a.cert))

          // The app registration now holds only the new certificate, and the file is replaced.
          yield* Effect.flatMap(
            authority,
            (a) => a.configure({ clients: { [CLIENT_ID]: { certificates: [fx.b.certPem] } } })
          )
          copyFileSync(fx.pfx.rotated, path)
          yield* TestClock.adjust("1 minute")

          const error = yield* refused(scope("new"))
          expect(error).toMatchObject({ error: "invalid_client", errorCodes: [700027] })
          yield* Effect.flatMap(Reloads, Queue.take) // the client asked the signer to reload

          yield* acquireOk(scope("new"))
          expect((yield* lastHeader)["x5t#S256"]).toBe(sha256Of(fx.b.cert))

          const again = yield* acquire(GRAPH)
          expect(again.tokenSource).toBe("cache")
          expect(Redacted.value(again.accessToken)).toBe(Redacted.value(cached.accessToken))
          expect((yield* assertionsSeen).length).toBe(3)
        }).pipe(
          Effect.provide(clientLayer(ClientCredential.pfx({ path, passphrase: Fixtures.PASSPHRASE }), registeredA()))
        )
      }))
  })

  describe("over real HTTP on 127.0.0.1", () => {
    it.scoped("certificate and PFX credentials get tokens from a served authority that verifies them", () =>
      Effect.gen(function*() {
        yield* atT0
        const served = yield* TestAuthority.make({
          clients: { [CLIENT_ID]: { certificates: [fx.a.certPem, fx.leaf.certPem] } }
        })
        const server = yield* TestAuthority.serve().pipe(Effect.provideService(authority, served))
        const viaHttp = (credential: ClientCredential.ClientCredential) =>
          ConfidentialClient.layer({ clientId: CLIENT_ID, authority: AUTHORITY }).pipe(
            Layer.provide(CredentialSigner.layer(credential)),
            Layer.provide(TokenCache.layerMemory()),
            Layer.provide(TestAuthority.layerHttpClientVia(server.url))
          )
        const pem = yield* acquire(GRAPH).pipe(Effect.provide(viaHttp(
          ClientCredential.certificate({ privateKey: fx.a.pkcs1, publicCertificate: fx.a.certPem })
        )))
        const pfx = yield* acquire(GRAPH).pipe(Effect.provide(viaHttp(
          ClientCredential.pfx({ path: fx.pfx.chain, passphrase: Fixtures.PASSPHRASE, sendCertificateChain: true })
        )))
        const wrong = yield* Effect.flip(acquire(GRAPH)).pipe(Effect.provide(viaHttp(
          ClientCredential.certificate({ privateKey: fx.b.pkcs8, publicCertificate: fx.b.certPem })
        )))
        const requests = yield* served.tokenRequests
        expect(requests.map((r) => r.url)).toEqual([TOKEN_ENDPOINT, TOKEN_ENDPOINT, TOKEN_ENDPOINT])
        expect(requests.map((r) => decodeProtectedHeader(r.form.client_assertion!)["x5t#S256"])).toEqual([
          sha256Of(fx.a.cert),
          sha256Of(fx.leaf.cert),
          sha256Of(fx.b.cert)
        ])
        expect([pem.tokenSource, pfx.tokenSource]).toEqual(["identity_provider", "identity_provider"])
        expect((yield* served.issued).map((t) => t.accessToken)).toEqual(
          [pem, pfx].map((r) => Redacted.value(r.accessToken))
        )
        expect(wrong).toMatchObject({ _tag: "ServerError", error: "invalid_client", errorCodes: [700027] })
      }))
  })
})
