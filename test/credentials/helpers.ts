/**
 * Checks shared by the credential tests: every assertion is verified against the
 * certificate's public key and all its header fields and claims are pinned.
 */
import { expect } from "@effect/vitest"
import { Cause, Effect, Redacted } from "effect"
import type { JWTPayload, ProtectedHeaderParameters } from "jose"
import { jwtVerify } from "jose"
import type { X509Certificate } from "node:crypto"
import { constants, createHash, verify } from "node:crypto"
import type { AuthContext, ClientAuthFields } from "../../src/CredentialSigner.js"
import { verifyClientAssertion } from "../../src/internal/testAuthority/verifyAssertion.js"
import { JWT_BEARER } from "../../src/internal/signer.js"
import type { CredentialError } from "../../src/MsalError.js"

export const ENTRA: AuthContext = {
  clientId: "11111111-2222-3333-4444-555555555555",
  tokenEndpoint: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
  authorityKind: "Entra"
}
export const ADFS: AuthContext = {
  clientId: "adfs-client",
  tokenEndpoint: "https://adfs.contoso.com/adfs/oauth2/token",
  authorityKind: "Adfs"
}
export const OIDC: AuthContext = {
  clientId: "oidc-client",
  tokenEndpoint: "https://idp.example.com/oauth2/token",
  authorityKind: "Oidc"
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** The `client_assertion` of client-auth fields, after checking the assertion type. */
export const assertionOf = (fields: ClientAuthFields): string => {
  expect(Object.keys(fields).sort()).toEqual(["client_assertion", "client_assertion_type"])
  expect(Redacted.value(fields["client_assertion_type"]!)).toBe(JWT_BEARER)
  return Redacted.value(fields["client_assertion"]!)
}

export const sha1Of = (cert: X509Certificate) => createHash("sha1").update(cert.raw).digest("base64url")
export const sha256Of = (cert: X509Certificate) => createHash("sha256").update(cert.raw).digest("base64url")

export interface Expected {
  readonly cert: X509Certificate
  readonly context: AuthContext
  readonly alg: "RS256" | "PS256"
  /** The chain expected in `x5c`; `undefined` when no `x5c` may be sent. */
  readonly x5c?: ReadonlyArray<X509Certificate> | undefined
  /** The x5t value expected when it is a given thumbprint rather than the cert's own. */
  readonly thumbprint?: string | undefined
  readonly nowSeconds: number
  /** Claims expected to override or add to the defaults. */
  readonly clientClaims?: Readonly<Record<string, unknown>> | undefined
}

/**
 * Verifies the signature with the certificate's public key (jose, and for PS256 node:crypto
 * with salt length 32 as Entra expects), then pins header and claims. Also runs the
 * authority-side `verifyClientAssertion`.
 */
export const checkAssertion = (
  jwt: string,
  expected: Expected
): Effect.Effect<{ header: ProtectedHeaderParameters; payload: JWTPayload }> =>
  Effect.gen(function*() {
    const { context, nowSeconds } = expected
    const overridden = expected.clientClaims ?? {}
    const { payload, protectedHeader } = yield* Effect.promise(() =>
      jwtVerify(jwt, expected.cert.publicKey, {
        algorithms: [expected.alg],
        currentDate: new Date(nowSeconds * 1000),
        typ: "JWT"
      })
    )
    const header = protectedHeader
    expect(header.alg).toBe(expected.alg)
    expect(header.typ).toBe("JWT")
    if (expected.alg === "PS256") {
      expect(header["x5t#S256"]).toBe(expected.thumbprint ?? sha256Of(expected.cert))
      expect(header.x5t).toBeUndefined()
      const [h, p, s] = jwt.split(".")
      expect(verify(
        "sha256",
        Buffer.from(`${h}.${p}`),
        { key: expected.cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        Buffer.from(s!, "base64url")
      )).toBe(true)
    } else {
      expect(header.x5t).toBe(expected.thumbprint ?? sha1Of(expected.cert))
      expect(header["x5t#S256"]).toBeUndefined()
    }
    expect(String(header.x5t ?? header["x5t#S256"])).not.toMatch(/[=+/]/)
    expect(header.x5c).toEqual(expected.x5c?.map((c) => c.raw.toString("base64")))
    expect(Object.keys(header).sort()).toEqual(
      ["alg", "typ", expected.alg === "PS256" ? "x5t#S256" : "x5t", ...(expected.x5c ? ["x5c"] : [])].sort()
    )
    expect(payload).toEqual({
      aud: context.tokenEndpoint,
      iss: context.clientId,
      sub: context.clientId,
      iat: nowSeconds,
      nbf: nowSeconds,
      exp: nowSeconds + 600,
      jti: payload.jti,
      ...overridden
    })
    if (overridden["jti"] === undefined) expect(payload.jti).toMatch(UUID)
    if (overridden["exp"] === undefined) expect(payload.exp! - payload.iat!).toBe(600)
    for (const claim of ["iat", "nbf", "exp"] as const) {
      if (overridden[claim] === undefined) expect(Number.isInteger(payload[claim])).toBe(true)
    }

    if (Object.keys(overridden).every((k) => !["aud", "iss", "sub", "exp", "nbf"].includes(k))) {
      const verified = yield* verifyClientAssertion(jwt, {
        certificatesPem: expected.cert.toString(),
        audience: context.tokenEndpoint,
        clientId: context.clientId,
        nowSeconds
      }).pipe(Effect.orDie)
      expect(verified.certificate?.raw.equals(expected.cert.raw)).toBe(true)
    }
    return { header, payload }
  })

/** Every rendering of an error a user or a log could see. */
export const renderings = (error: CredentialError): ReadonlyArray<string> => [
  error.message,
  String(error),
  JSON.stringify(error),
  Cause.pretty(Cause.fail(error)),
  error.description
]

/** Fails the test when any rendering of the error holds one of the secrets. */
export const expectNoSecrets = (error: CredentialError, secrets: ReadonlyArray<string>) => {
  for (const text of renderings(error)) {
    for (const secret of secrets) expect(text).not.toContain(secret)
  }
}
