import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, TestClock } from "effect"
import { CompactSign } from "jose"
import * as ClientCredential from "../../src/ClientCredential.js"
import type { AuthContext } from "../../src/CredentialSigner.js"
import * as CredentialSigner from "../../src/CredentialSigner.js"
import type { VerifyClientAssertionOptions } from "../../src/internal/testAuthority/verifyAssertion.js"
import { verifyClientAssertion } from "../../src/internal/testAuthority/verifyAssertion.js"
import * as Fixtures from "./fixtures.js"
import { ENTRA, sha256Of } from "./helpers.js"

const fx = Fixtures.make()
afterAll(fx.cleanup)

const T0 = 1_767_225_600

const signed = (
  context: AuthContext,
  credential = ClientCredential.pfx({ path: fx.pfx.modern, passphrase: Fixtures.PASSPHRASE })
) =>
  Effect.scoped(Effect.gen(function*() {
    const signer = yield* CredentialSigner.make(credential)
    return Redacted.value((yield* signer.clientAuth(context))["client_assertion"]!)
  }))

const options = (overrides: Partial<VerifyClientAssertionOptions> = {}): VerifyClientAssertionOptions => ({
  certificatesPem: [fx.b.certPem, fx.a.certPem],
  audience: ENTRA.tokenEndpoint,
  clientId: ENTRA.clientId,
  nowSeconds: T0 + 1,
  ...overrides
})

const rejection = (jwt: string, opts: VerifyClientAssertionOptions) =>
  Effect.map(Effect.flip(verifyClientAssertion(jwt, opts)), (e) => e.reason)

describe("verifyClientAssertion", () => {
  it.effect("accepts a good assertion; checks signature, thumbprint, aud, iss, exp and nbf", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0 * 1000)
      const jwt = yield* signed(ENTRA)
      const ok = yield* verifyClientAssertion(jwt, options())
      expect(ok.certificate?.raw.equals(fx.a.cert.raw)).toBe(true)
      expect(ok.header["x5t#S256"]).toBe(sha256Of(fx.a.cert))
      expect(ok.payload).toMatchObject({ aud: ENTRA.tokenEndpoint, iss: ENTRA.clientId, sub: ENTRA.clientId })

      expect(yield* rejection(jwt, options({ audience: "https://elsewhere/token" }))).toMatch(/claim aud/)
      expect(yield* rejection(jwt, options({ clientId: "someone-else" }))).toMatch(/claim iss/)
      expect(yield* rejection(jwt, options({ nowSeconds: T0 + 600 }))).toMatch(/expired/)
      expect(yield* rejection(jwt, options({ nowSeconds: T0 - 5 }))).toMatch(/claim nbf/)
      expect(yield* rejection(jwt, options({ certificatesPem: fx.b.certPem }))).toMatch(/no registered certificate/)
      expect(yield* rejection(jwt, options({ certificatesPem: [] }))).toMatch(/no certificate or public key/)

      const [h, p, s] = jwt.split(".")
      const flipped = `${h}.${p}.${s!.slice(0, -4)}${s!.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`
      expect(yield* rejection(flipped, options())).toMatch(/signature does not verify/)
      const otherPayload = Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), sub: "x" })
      )
        .toString("base64url")
      expect(yield* rejection(`${h}.${otherPayload}.${s}`, options())).toMatch(/signature does not verify/)
      expect(yield* rejection("not-a-jwt", options())).toMatch(/not a JWS/)

      // By public key alone.
      const byKey = yield* verifyClientAssertion(
        jwt,
        options({ certificatesPem: undefined, publicKeys: [fx.b.cert.publicKey, fx.a.cert.publicKey] })
      )
      expect(byKey.certificate).toBeUndefined()
    }))

  it.effect("checks x5c against the certificate the thumbprint names", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0 * 1000)
      const good = yield* signed(
        ENTRA,
        ClientCredential.certificate({ privateKey: fx.a.pkcs8, publicCertificate: fx.a.certPem })
      )
      expect((yield* verifyClientAssertion(good, options())).header.x5c).toEqual([fx.a.cert.raw.toString("base64")])

      const forged = yield* Effect.promise(() =>
        new CompactSign(new TextEncoder().encode(JSON.stringify({
          aud: ENTRA.tokenEndpoint,
          iss: ENTRA.clientId,
          sub: ENTRA.clientId,
          iat: T0,
          exp: T0 + 600,
          jti: "j"
        })))
          .setProtectedHeader({
            alg: "PS256",
            typ: "JWT",
            "x5t#S256": sha256Of(fx.a.cert),
            x5c: [fx.b.cert.raw.toString("base64")]
          })
          .sign(fx.a.privateKey)
      )
      expect(yield* rejection(forged, options())).toMatch(/x5c\[0\] is not the certificate/)
    }))

  it.effect("accepts only RS256 and PS256 with typ JWT", () =>
    Effect.gen(function*() {
      const sign = (header: { alg: string; typ?: string }, key: Parameters<CompactSign["sign"]>[0]) =>
        Effect.promise(() =>
          new CompactSign(new TextEncoder().encode("{}")).setProtectedHeader({
            ...header,
            "x5t#S256": sha256Of(fx.a.cert)
          })
            .sign(key)
        )
      expect(yield* rejection(yield* sign({ alg: "HS256", typ: "JWT" }, new Uint8Array(32)), options())).toMatch(
        /alg HS256/
      )
      expect(yield* rejection(yield* sign({ alg: "RS384", typ: "JWT" }, fx.a.privateKey), options())).toMatch(
        /alg RS384/
      )
      expect(yield* rejection(yield* sign({ alg: "RS256" }, fx.a.privateKey), options())).toMatch(/typ must be JWT/)
    }))
})
