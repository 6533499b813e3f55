import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Queue, Redacted, Scope, TestClock } from "effect"
import { copyFileSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as ClientCredential from "../src/ClientCredential.js"
import type { AuthContext } from "../src/CredentialSigner.js"
import * as CredentialSigner from "../src/CredentialSigner.js"
import * as Signer from "../src/internal/signer.js"
import { CredentialError } from "../src/MsalError.js"
import * as Fixtures from "./credentials/fixtures.js"
import {
  ADFS,
  assertionOf,
  checkAssertion,
  ENTRA,
  expectNoSecrets,
  OIDC,
  sha1Of,
  sha256Of
} from "./credentials/helpers.js"

const fx = Fixtures.make()
afterAll(fx.cleanup)

/** 2026-01-01T00:00:00Z: a realistic `iat`. */
const T0 = 1_767_225_600
const atT0 = TestClock.setTime(T0 * 1000)

const signWith = (service: CredentialSigner.Service, context: AuthContext) =>
  Effect.map(service.clientAuth(context), assertionOf)

/** Signs for `context` at T0 and checks the assertion: its algorithm, the certificate's thumbprint, x5c when given. */
const signedAs = (
  service: CredentialSigner.Service,
  context: AuthContext,
  alg: "PS256" | "RS256",
  expected: Pick<Parameters<typeof checkAssertion>[1], "cert" | "x5c" | "clientClaims">
) =>
  Effect.flatMap(
    signWith(service, context),
    (jwt) => checkAssertion(jwt, { ...expected, context, alg, nowSeconds: T0 })
  )

const buildFailure = (credential: ClientCredential.ClientCredential, options?: CredentialSigner.Options) =>
  Effect.scoped(CredentialSigner.make(credential, options)).pipe(Effect.flip)

const colonHex = (base64url: string, upper: boolean) => {
  const hex = Buffer.from(base64url, "base64url").toString("hex")
  const spaced = hex.match(/../g)!.join(":")
  return upper ? spaced.toUpperCase() : spaced
}

/** A file path in the fixture directory, unique per test. */
let fileCounter = 0
const tempPath = (name: string) => join(fx.dir, `${++fileCounter}-${name}`)

describe("CredentialSigner", () => {
  describe("secret", () => {
    it.scoped("sends client_secret, Redacted", () =>
      Effect.gen(function*() {
        const signer = yield* CredentialSigner.make(ClientCredential.secret("s3cret"))
        const fields = yield* signer.clientAuth(ENTRA)
        expect(Object.keys(fields)).toEqual(["client_secret"])
        expect(String(fields["client_secret"])).toBe("<redacted>")
        expect(Redacted.value(fields["client_secret"]!)).toBe("s3cret")
        yield* signer.reload
      }))
  })

  describe("certificate (PEM)", () => {
    it.scoped("PKCS#8 key + publicCertificate on Entra: PS256 with x5t#S256 derived, x5c sent", () =>
      Effect.gen(function*() {
        yield* atT0
        const signer = yield* CredentialSigner.make(
          ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem })
        )
        const jwt = yield* signWith(signer, ENTRA)
        yield* checkAssertion(jwt, { cert: fx.a.cert, context: ENTRA, alg: "PS256", x5c: [fx.a.cert], nowSeconds: T0 })
      }))

    it.scoped("publicCertificate only on ADFS and OIDC: RS256 with x5t (SHA-1) derived from the certificate", () =>
      Effect.gen(function*() {
        yield* atT0
        const signer = yield* CredentialSigner.make(
          ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem })
        )
        for (const context of [ADFS, OIDC]) {
          const jwt = yield* signWith(signer, context)
          yield* checkAssertion(jwt, { cert: fx.a.cert, context, alg: "RS256", x5c: [fx.a.cert], nowSeconds: T0 })
        }
      }))

    it.scoped("PKCS#1 key + SHA-1 thumbprint (upper case, colons): RS256 with x5t on every authority, no x5c", () =>
      Effect.gen(function*() {
        yield* atT0
        expect(fx.a.pkcs1).toContain("BEGIN RSA PRIVATE KEY")
        const signer = yield* CredentialSigner.make(
          ClientCredential.certificate({ privateKey: fx.a.pkcs1, thumbprint: colonHex(sha1Of(fx.a.cert), true) })
        )
        for (const context of [ENTRA, ADFS, OIDC]) {
          const jwt = yield* signWith(signer, context)
          yield* checkAssertion(jwt, { cert: fx.a.cert, context, alg: "RS256", nowSeconds: T0 })
        }
      }))

    it.scoped("encrypted PKCS#8 key + thumbprintSha256 only (lower case, spaces): PS256 on every authority", () =>
      Effect.gen(function*() {
        yield* atT0
        expect(fx.a.encrypted).toContain("BEGIN ENCRYPTED PRIVATE KEY")
        const signer = yield* CredentialSigner.make(ClientCredential.certificate({
          privateKey: Redacted.make(fx.a.encrypted),
          passphrase: Redacted.make(Fixtures.PASSPHRASE),
          thumbprintSha256: colonHex(sha256Of(fx.a.cert), false).replaceAll(":", " ")
        }))
        for (const context of [ENTRA, ADFS, OIDC]) {
          const jwt = yield* signWith(signer, context)
          yield* checkAssertion(jwt, { cert: fx.a.cert, context, alg: "PS256", nowSeconds: T0 })
        }
      }))

    it.scoped("traditional encrypted PKCS#1 key (Proc-Type: 4,ENCRYPTED) with its passphrase", () =>
      Effect.gen(function*() {
        yield* atT0
        const pem = fx.a.privateKey.export({
          type: "pkcs1",
          format: "pem",
          cipher: "aes-256-cbc",
          passphrase: Fixtures.PASSPHRASE
        }).toString()
        expect(pem).toContain("Proc-Type: 4,ENCRYPTED")
        const signer = yield* CredentialSigner.make(
          ClientCredential.certificate({
            privateKey: pem,
            passphrase: Fixtures.PASSPHRASE,
            publicCertificate: fx.a.certPem
          })
        )
        yield* signedAs(signer, OIDC, "RS256", { cert: fx.a.cert, x5c: [fx.a.cert] })
        const error = yield* buildFailure(
          ClientCredential.certificate({ privateKey: pem, passphrase: "nope-nope", publicCertificate: fx.a.certPem })
        )
        expect(error.description).toMatch(/passphrase is wrong/)
        expectNoSecrets(error, ["nope-nope", Fixtures.PASSPHRASE, ...Fixtures.pemBodyChunks(pem)])
      }))

    it.scoped("clientClaims that are not JSON fail the request with a CredentialError", () =>
      Effect.gen(function*() {
        const signer = yield* CredentialSigner.make(
          ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem })
        )
        const error = yield* Effect.flip(signer.clientAuth({ ...ENTRA, clientClaims: { big: 1n } }))
        expect(error.description).toMatch(/clientClaims must be serialisable/)
      }))

    it.scoped("both thumbprints: PS256 on Entra, RS256 on ADFS and OIDC", () =>
      Effect.gen(function*() {
        yield* atT0
        const signer = yield* CredentialSigner.make(ClientCredential.certificate({
          privateKey: fx.a.pkcs8,
          thumbprint: Buffer.from(sha1Of(fx.a.cert), "base64url").toString("hex"),
          thumbprintSha256: Buffer.from(sha256Of(fx.a.cert), "base64url").toString("hex")
        }))
        yield* signedAs(signer, ENTRA, "PS256", { cert: fx.a.cert })
        for (const context of [ADFS, OIDC]) {
          yield* signedAs(signer, context, "RS256", { cert: fx.a.cert })
        }
      }))

    it.scoped("thumbprint + publicCertificate: the given SHA-1 wins (RS256) even on Entra, x5c sent", () =>
      Effect.gen(function*() {
        yield* atT0
        const given = "00".repeat(20) // deliberately not the certificate's own
        const signer = yield* CredentialSigner.make(
          ClientCredential.certificate({ privateKey: fx.a.pkcs8, thumbprint: given, publicCertificate: fx.a.certPem })
        )
        const jwt = yield* signWith(signer, ENTRA)
        const thumbprint = Buffer.alloc(20).toString("base64url")
        yield* Effect.promise(async () => {
          const { decodeProtectedHeader } = await import("jose")
          expect(decodeProtectedHeader(jwt)).toEqual({
            alg: "RS256",
            typ: "JWT",
            x5t: thumbprint,
            x5c: [fx.a.cert.raw.toString("base64")]
          })
        })
      }))

    it.scoped("thumbprintSha256 + publicCertificate on ADFS: RS256 with the certificate's SHA-1", () =>
      Effect.gen(function*() {
        yield* atT0
        const signer = yield* CredentialSigner.make(ClientCredential.certificate({
          privateKey: fx.a.pkcs8,
          thumbprintSha256: Buffer.from(sha256Of(fx.a.cert), "base64url").toString("hex"),
          publicCertificate: fx.a.certPem
        }))
        yield* signedAs(signer, ADFS, "RS256", { cert: fx.a.cert, x5c: [fx.a.cert] })
        yield* signedAs(signer, ENTRA, "PS256", { cert: fx.a.cert, x5c: [fx.a.cert] })
      }))

    it.scoped("a publicCertificate chain is sent as x5c, leaf first, one base64 DER per certificate", () =>
      Effect.gen(function*() {
        yield* atT0
        const signer = yield* CredentialSigner.make(ClientCredential.certificate({
          privateKey: fx.leaf.pkcs8,
          publicCertificate: `${fx.leaf.certPem}\n  ${fx.ca.certPem.replaceAll("\n", "\n  ")}`
        }))
        yield* signedAs(signer, ENTRA, "PS256", { cert: fx.leaf.cert, x5c: [fx.leaf.cert, fx.ca.cert] })
      }))

    it.scoped("clientClaims are merged last and may override the defaults", () =>
      Effect.gen(function*() {
        yield* atT0
        const signer = yield* CredentialSigner.make(
          ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem })
        )
        const clientClaims = { client_ip: "1.2.3.4", exp: T0 + 120, jti: "fixed" }
        const context = { ...ENTRA, clientClaims }
        const { payload } = yield* signedAs(signer, context, "PS256", {
          cert: fx.a.cert,
          x5c: [fx.a.cert],
          clientClaims
        })
        expect(payload).toMatchObject({ client_ip: "1.2.3.4", exp: T0 + 120, jti: "fixed", iss: ENTRA.clientId })
      }))
  })

  describe("pfx", () => {
    const variants = [
      ["OpenSSL 3 default (PBES2/AES-256, MAC SHA-256)", "modern"],
      ["openssl -legacy (RC2-40 certificates, 3DES key)", "legacy"],
      ["Windows export style (3DES, MAC SHA-1)", "windows"]
    ] as const

    for (const [name, file] of variants) {
      it.scoped(`${name}: PS256 with x5t#S256 on Entra, RS256 with x5t on ADFS, no x5c`, () =>
        Effect.gen(function*() {
          yield* atT0
          const signer = yield* CredentialSigner.make(
            ClientCredential.pfx({ path: fx.pfx[file], passphrase: Fixtures.PASSPHRASE })
          )
          yield* signedAs(signer, ENTRA, "PS256", { cert: fx.a.cert })
          yield* signedAs(signer, ADFS, "RS256", { cert: fx.a.cert })
          yield* signedAs(signer, OIDC, "RS256", { cert: fx.a.cert })
        }))
    }

    it.scoped("from bytes, with sendCertificateChain: x5c holds the leaf", () =>
      Effect.gen(function*() {
        yield* atT0
        const signer = yield* CredentialSigner.make(ClientCredential.pfx({
          bytes: readFileSync(fx.pfx.legacy),
          passphrase: Redacted.make(Fixtures.PASSPHRASE),
          sendCertificateChain: true
        }))
        yield* signedAs(signer, ENTRA, "PS256", { cert: fx.a.cert, x5c: [fx.a.cert] })
      }))

    it.scoped("the chain in a PFX is ordered leaf first for x5c, whatever the order in the file", () =>
      Effect.gen(function*() {
        yield* atT0
        const signer = yield* CredentialSigner.make(
          ClientCredential.pfx({ path: fx.pfx.chain, passphrase: Fixtures.PASSPHRASE, sendCertificateChain: true })
        )
        yield* signedAs(signer, ENTRA, "PS256", { cert: fx.leaf.cert, x5c: [fx.leaf.cert, fx.ca.cert] })
      }))

    it.scoped("a PFX without a passphrase opens without one", () =>
      Effect.gen(function*() {
        yield* atT0
        const signer = yield* CredentialSigner.make(ClientCredential.pfx({ path: fx.pfx.noPassphrase }))
        yield* signedAs(signer, ENTRA, "PS256", { cert: fx.a.cert })
      }))
  })

  describe("certificateFile", () => {
    it.scoped("a PEM file with key, certificate and issuer; chain sent on request", () =>
      Effect.gen(function*() {
        yield* atT0
        const path = tempPath("bundle.pem")
        writeFileSync(path, fx.ca.certPem + fx.leaf.encrypted + fx.leaf.certPem)
        const signer = yield* CredentialSigner.make(
          ClientCredential.certificateFile({ path, passphrase: Fixtures.PASSPHRASE, sendCertificateChain: true })
        )
        yield* signedAs(signer, ENTRA, "PS256", { cert: fx.leaf.cert, x5c: [fx.leaf.cert, fx.ca.cert] })
      }))

    it.scoped("a PKCS#12 file is detected by its content", () =>
      Effect.gen(function*() {
        yield* atT0
        const signer = yield* CredentialSigner.make(
          ClientCredential.certificateFile({ path: fx.pfx.windows, passphrase: Fixtures.PASSPHRASE })
        )
        yield* signedAs(signer, ADFS, "RS256", { cert: fx.a.cert })
      }))
  })

  describe("bad input fails when the signer is built, without leaking secrets", () => {
    const wrong = "not-the-Pa55phrase"
    const secrets = [
      Fixtures.PASSPHRASE,
      wrong,
      ...[fx.a, fx.b, fx.small, fx.ec].flatMap((p) => [
        ...Fixtures.pemBodyChunks(p.pkcs8),
        ...Fixtures.pemBodyChunks(p.pkcs1),
        ...Fixtures.pemBodyChunks(p.encrypted)
      ])
    ]
    const pem = (options: Partial<Parameters<typeof ClientCredential.certificate>[0]>) =>
      ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem, ...options })
    const corruptPfx = tempPath("corrupt.pfx")
    const truncatedPfx = tempPath("truncated.pfx")
    const emptyToken = tempPath("empty-token")
    // Well-formed DER, but not a PFX: SEQUENCE { INTEGER 3, OCTET STRING <junk> }.
    writeFileSync(corruptPfx, Buffer.concat([Buffer.from("308186020103048180", "hex"), Buffer.alloc(128, 0xab)]))
    writeFileSync(truncatedPfx, readFileSync(fx.pfx.modern).subarray(0, 1200))
    writeFileSync(emptyToken, "  \n")

    const cases: ReadonlyArray<
      readonly [string, ClientCredential.ClientCredential, RegExp, CredentialSigner.Options?]
    > = [
      ["an empty secret", ClientCredential.secret(""), /secret is empty/],
      ["an empty assertion", ClientCredential.assertion(""), /assertion is empty/],
      [
        "a corrupt PEM key",
        pem({ privateKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }),
        /privateKey is not a valid PEM private key/
      ],
      [
        "a passphrase given as the key",
        pem({ privateKey: Fixtures.PASSPHRASE }),
        /privateKey holds no PEM private key/
      ],
      ["an encrypted key without passphrase", pem({ privateKey: fx.a.encrypted }), /encrypted: give its passphrase/],
      [
        "an encrypted key with a wrong passphrase",
        pem({ privateKey: fx.a.encrypted, passphrase: wrong }),
        /passphrase is wrong/
      ],
      [
        "neither thumbprint nor certificate",
        ClientCredential.certificate({ privateKey: fx.a.pkcs8 }),
        /thumbprint.*publicCertificate/
      ],
      ["a thumbprint that is not hex", pem({ thumbprint: "zz".repeat(20) }), /thumbprint must be hexadecimal/],
      ["a SHA-256 value as thumbprint", pem({ thumbprint: "ab".repeat(32) }), /looks like a SHA-256 thumbprint/],
      [
        "a thumbprintSha256 of the wrong length",
        pem({ thumbprintSha256: "ab".repeat(20) }),
        /thumbprintSha256 must be a SHA256 thumbprint of 64/
      ],
      ["a key not matching the certificate", pem({ privateKey: fx.b.pkcs8 }), /does not match the certificate/],
      [
        "an RSA key under 2048 bits",
        pem({ privateKey: fx.small.pkcs1, publicCertificate: fx.small.certPem }),
        /1024 bits; at least 2048/
      ],
      [
        "an EC key",
        pem({ privateKey: fx.ec.pkcs8, publicCertificate: fx.ec.certPem }),
        /of type ec; client assertions need an RSA key/
      ],
      [
        "a private key given as publicCertificate",
        pem({ publicCertificate: fx.b.pkcs8 }),
        /publicCertificate holds a private key/
      ],
      [
        "a corrupt publicCertificate",
        pem({ publicCertificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" }),
        /publicCertificate: the certificate is not a valid X.509/
      ],
      [
        "a missing PFX file",
        ClientCredential.pfx({ path: join(fx.dir, "missing.pfx") }),
        /could not read the PFX file .*missing\.pfx \(ENOENT\)/
      ],
      [
        "a corrupt PFX",
        ClientCredential.pfx({ path: corruptPfx, passphrase: Fixtures.PASSPHRASE }),
        /corrupt\.pfx is corrupt/
      ],
      [
        "a truncated PFX",
        ClientCredential.pfx({ path: truncatedPfx, passphrase: Fixtures.PASSPHRASE }),
        /truncated\.pfx is truncated/
      ],
      [
        "a PEM file given as PFX",
        ClientCredential.pfx({ path: fx.a.certPath }),
        /not a PKCS#12 \(PFX\) file; it looks like a PEM file/
      ],
      [
        "a PFX with a wrong passphrase",
        ClientCredential.pfx({ path: fx.pfx.modern, passphrase: wrong }),
        /the passphrase is wrong/
      ],
      [
        "a legacy PFX with a wrong passphrase",
        ClientCredential.pfx({ path: fx.pfx.legacy, passphrase: wrong }),
        /the passphrase is wrong/
      ],
      [
        "a PFX without its passphrase",
        ClientCredential.pfx({ path: fx.pfx.windows }),
        /protected by a passphrase and none was given/
      ],
      [
        "a PFX without a key",
        ClientCredential.pfx({ path: fx.pfx.noKey, passphrase: Fixtures.PASSPHRASE }),
        /holds no private key/
      ],
      [
        "a PFX whose key does not match",
        ClientCredential.pfx({ path: fx.pfx.mismatched, passphrase: Fixtures.PASSPHRASE }),
        /no certificate in .* matches its private key/
      ],
      [
        "a PFX with a 1024-bit key",
        ClientCredential.pfx({ bytes: readFileSync(fx.pfx.small), passphrase: Fixtures.PASSPHRASE }),
        /the RSA key in the PFX bytes has 1024 bits/
      ],
      ["an empty PFX", ClientCredential.pfx({ bytes: new Uint8Array(0) }), /not a PKCS#12/],
      [
        "a PEM certificate file without its key",
        ClientCredential.certificateFile({ path: fx.a.certPath }),
        /holds no PEM private key/
      ],
      [
        "a PEM key file without its certificate",
        ClientCredential.certificateFile({ path: fx.a.keyPath }),
        /holds no certificate next to the private key/
      ],
      [
        "a missing federated token file",
        ClientCredential.federatedTokenFile(join(fx.dir, "no-token")),
        /could not read the federated token file .*no-token \(ENOENT\)/
      ],
      [
        "an empty federated token file",
        ClientCredential.federatedTokenFile(emptyToken),
        /federated token file .* is empty/
      ],
      [
        "a reloadEvery of zero",
        ClientCredential.pfx({ path: fx.pfx.modern, passphrase: Fixtures.PASSPHRASE }),
        /reloadEvery must be a positive duration/,
        { reloadEvery: 0 }
      ]
    ]

    for (const [name, credential, description, options] of cases) {
      it.effect(name, () =>
        Effect.gen(function*() {
          const error = yield* buildFailure(credential, options)
          expect(error).toBeInstanceOf(CredentialError)
          expect(error._tag).toBe("CredentialError")
          expect(error.description).toMatch(description)
          expectNoSecrets(error, secrets)
        }))
    }

    it.effect("neither thumbprint nor certificate: the message names both fields", () =>
      Effect.gen(function*() {
        const error = yield* buildFailure(ClientCredential.certificate({ privateKey: fx.a.pkcs8 }))
        expect(error.message).toContain("thumbprint")
        expect(error.message).toContain("publicCertificate")
      }))

    it.effect("the layer fails to build with the same error", () =>
      Effect.gen(function*() {
        const exit = yield* Layer.build(
          CredentialSigner.layer(ClientCredential.pfx({ path: fx.pfx.modern, passphrase: wrong }))
        )
          .pipe(Effect.scoped, Effect.exit)
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("the passphrase is wrong")
      }))
  })

  describe("assertion reuse", () => {
    it.scoped("1,000 requests for two audiences over 30 minutes sign about once per 9 minutes per audience", () =>
      Effect.gen(function*() {
        yield* atT0
        const counts = new Map<string, number>()
        const signer = yield* Signer.make(
          ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem }),
          {},
          { onSign: (c) => counts.set(c.tokenEndpoint, (counts.get(c.tokenEndpoint) ?? 0) + 1) }
        )
        const regional = { ...ENTRA, tokenEndpoint: "https://westus.login.microsoft.com/contoso/oauth2/v2.0/token" }
        const seen = new Map<string, Set<string>>([[ENTRA.tokenEndpoint, new Set()], [
          regional.tokenEndpoint,
          new Set()
        ]])
        // 50 bursts of 10 requests per audience, 36 s apart (each TestClock.adjust costs a few
        // real milliseconds, so the clock moves per burst rather than per request).
        for (let burst = 0; burst < 50; burst++) {
          for (let i = 0; i < 10; i++) {
            for (const context of [ENTRA, regional]) {
              const jwt = yield* signWith(signer, context)
              seen.get(context.tokenEndpoint)!.add(jwt)
            }
          }
          yield* TestClock.adjust("36 seconds")
        }
        expect(counts.get(ENTRA.tokenEndpoint)).toBe(4)
        expect(counts.get(regional.tokenEndpoint)).toBe(4)
        expect(seen.get(ENTRA.tokenEndpoint)!.size).toBe(4)
      }))

    it.scoped("an assertion is reused until less than a minute of it remains", () =>
      Effect.gen(function*() {
        yield* atT0
        let signatures = 0
        const signer = yield* Signer.make(
          ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem }),
          {},
          { onSign: () => signatures++ }
        )
        const first = yield* signWith(signer, ENTRA)
        yield* TestClock.adjust("539 seconds")
        expect(yield* signWith(signer, ENTRA)).toBe(first)
        yield* TestClock.adjust("1 second")
        const second = yield* signWith(signer, ENTRA)
        expect(second).not.toBe(first)
        yield* checkAssertion(second, {
          cert: fx.a.cert,
          context: ENTRA,
          alg: "PS256",
          x5c: [fx.a.cert],
          nowSeconds: T0 + 540
        })
        expect(signatures).toBe(2)
        // Different client claims, authority kind or client id are different assertions.
        yield* signWith(signer, { ...ENTRA, clientClaims: { a: 1 } })
        yield* signWith(signer, { ...ENTRA, authorityKind: "Oidc" })
        yield* signWith(signer, { ...ENTRA, clientId: "other" })
        expect(signatures).toBe(5)
      }))

    it.scoped("concurrent requests share one signature", () =>
      Effect.gen(function*() {
        yield* atT0
        let signatures = 0
        const signer = yield* Signer.make(
          ClientCredential.pfx({ path: fx.pfx.modern, passphrase: Fixtures.PASSPHRASE }),
          {},
          { onSign: () => signatures++ }
        )
        const jwts = yield* Effect.all(Array.from({ length: 50 }, () => signWith(signer, ENTRA)), {
          concurrency: "unbounded"
        })
        expect(new Set(jwts).size).toBe(1)
        expect(signatures).toBe(1)
      }))
  })

  describe("assertion and assertionProvider", () => {
    it.scoped("a pre-signed assertion is sent as is", () =>
      Effect.gen(function*() {
        const signer = yield* CredentialSigner.make(ClientCredential.assertion("eyJ.pre.signed"))
        expect(assertionOf(yield* signer.clientAuth(ENTRA))).toBe("eyJ.pre.signed")
        yield* signer.reload
        expect(assertionOf(yield* signer.clientAuth(ADFS))).toBe("eyJ.pre.signed")
      }))

    it.scoped("the provider runs for each request", () =>
      Effect.gen(function*() {
        let calls = 0
        const provide = Effect.sync(() => ++calls).pipe(
          Effect.map((n) => (n % 2 === 0 ? Redacted.make(`token-${n}`) : `token-${n}`))
        )
        const signer = yield* CredentialSigner.make(ClientCredential.assertionProvider(provide))
        expect(assertionOf(yield* signer.clientAuth(ENTRA))).toBe("token-1")
        expect(assertionOf(yield* signer.clientAuth(ENTRA))).toBe("token-2")
        expect(calls).toBe(2)
      }))

    it.scoped("a provider failure is a CredentialError carrying the cause", () =>
      Effect.gen(function*() {
        const boom = new Error("token service unavailable")
        const signer = yield* CredentialSigner.make(ClientCredential.assertionProvider(Effect.fail(boom)))
        const error = yield* Effect.flip(signer.clientAuth(ENTRA))
        expect(error).toBeInstanceOf(CredentialError)
        expect(error.description).toBe("the assertion provider failed")
        expect(error.cause).toBe(boom)
      }))

    it.scoped("a provider defect and an empty assertion are CredentialErrors too", () =>
      Effect.gen(function*() {
        const defect = yield* CredentialSigner.make(ClientCredential.assertionProvider(Effect.die("bug")))
        expect((yield* Effect.flip(defect.clientAuth(ENTRA))).cause).toBe("bug")
        const empty = yield* CredentialSigner.make(ClientCredential.assertionProvider(Effect.succeed("")))
        expect((yield* Effect.flip(empty.clientAuth(ENTRA))).description).toMatch(/empty assertion/)
      }))
  })

  describe("federatedTokenFile", () => {
    it.scoped("reads the token and reads it again when the file changes", () =>
      Effect.gen(function*() {
        const path = tempPath("token")
        writeFileSync(path, "token-one\n")
        const signer = yield* CredentialSigner.make(ClientCredential.federatedTokenFile(path))
        expect(assertionOf(yield* signer.clientAuth(ENTRA))).toBe("token-one")
        writeFileSync(path, "token-number-two")
        expect(assertionOf(yield* signer.clientAuth(ENTRA))).toBe("token-number-two")
        // Same size, new mtime.
        writeFileSync(path, "token-number-3ee")
        utimesSync(path, new Date(2030, 0, 1), new Date(2030, 0, 1))
        expect(assertionOf(yield* signer.clientAuth(ENTRA))).toBe("token-number-3ee")
        // Replaced by rename (a new inode), as Kubernetes does with its symlink swap.
        const next = tempPath("token-next")
        writeFileSync(next, "token-four")
        copyFileSync(next, `${path}.tmp`)
        yield* Effect.promise(() => import("node:fs/promises").then((fs) => fs.rename(`${path}.tmp`, path)))
        expect(assertionOf(yield* signer.clientAuth(ENTRA))).toBe("token-four")
      }))

    it.scoped("a file that disappears or empties fails the request with a CredentialError", () =>
      Effect.gen(function*() {
        const path = tempPath("token")
        writeFileSync(path, "token")
        const signer = yield* CredentialSigner.make(ClientCredential.federatedTokenFile(path))
        writeFileSync(path, "")
        expect((yield* Effect.flip(signer.clientAuth(ENTRA))).description).toMatch(/is empty/)
        rmSync(path)
        expect((yield* Effect.flip(signer.clientAuth(ENTRA))).description).toMatch(/ENOENT/)
        writeFileSync(path, "back")
        expect(assertionOf(yield* signer.clientAuth(ENTRA))).toBe("back")
        yield* signer.reload
      }))
  })

  describe("rotation", () => {
    it.scoped("reload reads a replaced PFX and signs with the new key at once", () =>
      Effect.gen(function*() {
        yield* atT0
        const path = tempPath("rotating.pfx")
        copyFileSync(fx.pfx.modern, path)
        let signatures = 0
        const signer = yield* Signer.make(
          ClientCredential.pfx({ path, passphrase: Fixtures.PASSPHRASE }),
          {},
          { onSign: () => signatures++ }
        )
        const before = yield* signWith(signer, ENTRA)
        yield* checkAssertion(before, { cert: fx.a.cert, context: ENTRA, alg: "PS256", nowSeconds: T0 })
        copyFileSync(fx.pfx.rotated, path)
        yield* TestClock.adjust("10 seconds")
        expect(yield* signWith(signer, ENTRA)).toBe(before) // nothing re-read without reload or schedule
        yield* signer.reload
        const after = yield* signWith(signer, ENTRA)
        yield* checkAssertion(after, { cert: fx.b.cert, context: ENTRA, alg: "PS256", nowSeconds: T0 + 10 })
        expect(signatures).toBe(2)
      }))

    it.scoped("a reload that cannot read the new file fails and keeps the previous key", () =>
      Effect.gen(function*() {
        yield* atT0
        const path = tempPath("rotating.pfx")
        copyFileSync(fx.pfx.modern, path)
        const signer = yield* CredentialSigner.make(ClientCredential.pfx({ path, passphrase: Fixtures.PASSPHRASE }))
        const before = yield* signWith(signer, ENTRA)
        writeFileSync(path, "half-written")
        const error = yield* Effect.flip(signer.reload)
        expect(error.description).toMatch(/not a PKCS#12/)
        const after = yield* signWith(signer, ENTRA)
        expect(after).not.toBe(before) // the reused assertion was dropped
        yield* checkAssertion(after, { cert: fx.a.cert, context: ENTRA, alg: "PS256", nowSeconds: T0 })
      }))

    it.scoped("reload of an in-memory certificate drops the reused assertion", () =>
      Effect.gen(function*() {
        yield* atT0
        const signer = yield* CredentialSigner.make(
          ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem })
        )
        const before = yield* signWith(signer, ENTRA)
        yield* signer.reload
        expect(yield* signWith(signer, ENTRA)).not.toBe(before)
      }))

    it.effect("reloadEvery re-reads a changed file on schedule, in a fiber scoped to the signer", () =>
      Effect.gen(function*() {
        yield* atT0
        const path = tempPath("scheduled.pem")
        writeFileSync(path, fx.a.pkcs8 + fx.a.certPem)
        const checks = yield* Queue.unbounded<Exit.Exit<boolean, CredentialError>>()
        let signatures = 0
        const scope = yield* Scope.make()
        const signer = yield* Signer.make(
          ClientCredential.certificateFile({ path }),
          { reloadEvery: "5 minutes" },
          { onSign: () => signatures++, onScheduledReload: (exit) => Queue.unsafeOffer(checks, exit) }
        ).pipe(Scope.extend(scope))

        const first = yield* signWith(signer, ENTRA)
        yield* TestClock.adjust("5 minutes")
        expect(yield* Queue.take(checks)).toEqual(Exit.succeed(false)) // unchanged: nothing swapped
        expect(yield* signWith(signer, ENTRA)).toBe(first)

        writeFileSync(path, fx.b.pkcs8 + fx.b.certPem)
        yield* TestClock.adjust("5 minutes")
        expect(yield* Queue.take(checks)).toEqual(Exit.succeed(true))
        const rotated = yield* signWith(signer, ENTRA)
        yield* checkAssertion(rotated, { cert: fx.b.cert, context: ENTRA, alg: "PS256", nowSeconds: T0 + 600 })

        writeFileSync(path, "garbage")
        yield* TestClock.adjust("5 minutes")
        const failed = yield* Queue.take(checks)
        expect(Exit.isFailure(failed)).toBe(true)
        expect(yield* signWith(signer, ENTRA)).toBe(rotated) // the previous key stays in use
        expect(signatures).toBe(2)

        yield* Scope.close(scope, Exit.void)
        yield* TestClock.adjust("1 hour")
        expect(yield* Queue.size(checks)).toBe(0) // the schedule stopped with its scope
      }))

    it.effect("the layer takes the options: scheduled reload through CredentialSigner.layer", () =>
      Effect.gen(function*() {
        yield* atT0
        const path = tempPath("layer.pfx")
        copyFileSync(fx.pfx.modern, path)
        const program = Effect.gen(function*() {
          const signer = yield* CredentialSigner.CredentialSigner
          const before = yield* signWith(signer, ENTRA)
          yield* checkAssertion(before, { cert: fx.a.cert, context: ENTRA, alg: "PS256", nowSeconds: T0 })
          copyFileSync(fx.pfx.rotated, path)
          // The check runs after one minute; its file read is real I/O, so wait for the swap
          // by asking until the new key signs (each ask takes the signer's lock).
          yield* TestClock.adjust("1 minute")
          let after = before
          for (let i = 0; i < 1000 && after === before; i++) {
            yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
            after = yield* signWith(signer, ENTRA)
          }
          yield* checkAssertion(after, { cert: fx.b.cert, context: ENTRA, alg: "PS256", nowSeconds: T0 + 60 })
        })
        yield* program.pipe(
          Effect.provide(
            CredentialSigner.layer(ClientCredential.pfx({ path, passphrase: Fixtures.PASSPHRASE }), {
              reloadEvery: "1 minute"
            })
          )
        )
      }))
  })
})
