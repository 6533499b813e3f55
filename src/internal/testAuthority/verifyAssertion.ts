/**
 * Verifying a client assertion the way an authority does: for the in-process test
 * authority and for tests.
 *
 * @internal
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type { JWTPayload, ProtectedHeaderParameters } from "jose"
import { decodeProtectedHeader, errors as JoseErrors, jwtVerify } from "jose"
import type { KeyObject } from "node:crypto"
import { X509Certificate } from "node:crypto"
import * as Pem from "../credentials/pem.js"
import * as Thumbprint from "../credentials/thumbprint.js"

/**
 * Why an assertion was rejected; `reason` is short and stable enough to assert on.
 *
 * @internal
 */
export class ClientAssertionRejected extends Data.TaggedError("ClientAssertionRejected")<{
  readonly reason: string
}> {
  override get message(): string {
    return this.reason
  }
}

/**
 * A verified assertion: its header and claims, and which registered certificate signed it.
 *
 * @internal
 */
export interface VerifiedClientAssertion {
  readonly header: ProtectedHeaderParameters
  readonly payload: JWTPayload
  /** The registered certificate whose key verified the signature, when certificates were given. */
  readonly certificate?: X509Certificate | undefined
}

/**
 * What the assertion is checked against.
 *
 * @internal
 */
export interface VerifyClientAssertionOptions {
  /** Registered certificates (PEM, one or more per string); the header's thumbprint picks one. */
  readonly certificatesPem?: string | ReadonlyArray<string> | undefined
  /** Registered public keys, tried in turn when no certificates are given. */
  readonly publicKeys?: ReadonlyArray<KeyObject> | undefined
  /** The token endpoint the assertion must be addressed to (any one of them, when several). */
  readonly audience: string | ReadonlyArray<string>
  /** Must equal `iss` and `sub`. */
  readonly clientId: string
  /** The authority's current time, in seconds. */
  readonly nowSeconds: number
  /** Accepted clock skew for `exp` and `nbf`, in seconds (default 0). */
  readonly clockToleranceSeconds?: number | undefined
}

const reject = (reason: string) => Effect.fail(new ClientAssertionRejected({ reason }))

const registered = (pems: string | ReadonlyArray<string> | undefined): ReadonlyArray<X509Certificate> =>
  (typeof pems === "string" ? [pems] : pems ?? []).flatMap((pem) =>
    Pem.certificateBlocks(pem).map((der) => new X509Certificate(der))
  )

const findByThumbprint = (
  header: ProtectedHeaderParameters,
  certificates: ReadonlyArray<X509Certificate>
): X509Certificate | string => {
  const s256 = header["x5t#S256"]
  const s1 = header.x5t
  if (typeof s256 === "string") {
    return certificates.find((c) => Thumbprint.toBase64Url(Thumbprint.compute(c.raw, "sha256")) === s256) ??
      "no registered certificate has the x5t#S256 thumbprint"
  }
  if (typeof s1 === "string") {
    return certificates.find((c) => Thumbprint.toBase64Url(Thumbprint.compute(c.raw, "sha1")) === s1) ??
      "no registered certificate has the x5t thumbprint"
  }
  return "the header has neither x5t nor x5t#S256"
}

const checkX5c = (header: ProtectedHeaderParameters, certificate: X509Certificate | undefined): string | undefined => {
  const x5c: unknown = header.x5c
  if (x5c === undefined) return undefined
  const first: unknown = Array.isArray(x5c) ? x5c[0] : undefined
  if (!Array.isArray(x5c) || typeof first !== "string" || !x5c.every((c) => typeof c === "string")) {
    return "x5c must be a non-empty array of base64 strings"
  }
  if (certificate !== undefined && Buffer.from(first, "base64").compare(certificate.raw) !== 0) {
    return "x5c[0] is not the certificate the thumbprint names"
  }
  return undefined
}

const joseReason = (e: unknown): string => {
  if (e instanceof JoseErrors.JWTClaimValidationFailed) return `claim ${e.claim}: ${e.reason}`
  if (e instanceof JoseErrors.JWTExpired) return "the assertion has expired"
  if (e instanceof JoseErrors.JWSSignatureVerificationFailed) return "the signature does not verify"
  if (e instanceof JoseErrors.JOSEError) return `${e.code}: ${e.message}`
  return "the assertion could not be verified"
}

/**
 * Verifies a client assertion: `alg` RS256 or PS256, `typ` JWT, the key found by `x5t` or
 * `x5t#S256` among the registered certificates (or one of the public keys), `x5c[0]` (when
 * sent) equal to that certificate, the signature, `aud`, `iss` = `sub` = client id, `exp`,
 * `nbf`, and the presence of `iat` and `jti`.
 *
 * @internal
 */
export const verifyClientAssertion = (
  jwt: string,
  options: VerifyClientAssertionOptions
): Effect.Effect<VerifiedClientAssertion, ClientAssertionRejected> =>
  Effect.gen(function*() {
    const header = yield* Effect.try({
      try: () => decodeProtectedHeader(jwt),
      catch: () => new ClientAssertionRejected({ reason: "the assertion is not a JWS" })
    })
    const alg = header.alg
    if (alg !== "RS256" && alg !== "PS256") return yield* reject(`alg ${String(alg)} is not accepted`)
    if (header.typ !== "JWT") return yield* reject("typ must be JWT")

    const certificates = registered(options.certificatesPem)
    let certificate: X509Certificate | undefined
    let keys: ReadonlyArray<KeyObject>
    if (certificates.length > 0) {
      const found = findByThumbprint(header, certificates)
      if (typeof found === "string") return yield* reject(found)
      certificate = found
      keys = [found.publicKey]
    } else {
      keys = options.publicKeys ?? []
      if (keys.length === 0) return yield* reject("no certificate or public key is registered")
    }
    const x5cProblem = checkX5c(header, certificate)
    if (x5cProblem !== undefined) return yield* reject(x5cProblem)

    let lastReason = "the signature does not verify"
    for (const key of keys) {
      const result = yield* Effect.either(Effect.tryPromise({
        try: () =>
          jwtVerify(jwt, key, {
            algorithms: [alg],
            typ: "JWT",
            audience: typeof options.audience === "string" ? options.audience : [...options.audience],
            issuer: options.clientId,
            subject: options.clientId,
            currentDate: new Date(options.nowSeconds * 1000),
            clockTolerance: options.clockToleranceSeconds ?? 0,
            requiredClaims: ["exp", "iat", "jti"]
          }),
        catch: joseReason
      }))
      if (result._tag === "Right") return { header, payload: result.right.payload, certificate }
      lastReason = result.left
      if (!lastReason.startsWith("the signature")) break // a claim problem: another key won't help
    }
    return yield* reject(lastReason)
  })
