/**
 * How the test authority checks a client assertion against an app registration: pre-signed
 * assertions listed as they are, assertions the app signed with a registered certificate,
 * and tokens of a trusted external issuer (workload identity federation).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { JWTPayload } from "jose"
import { decodeJwt, errors as JoseErrors, jwtVerify } from "jose"
import type { KeyObject } from "node:crypto"
import { createPublicKey } from "node:crypto"
import type { FederatedCredential, RegisteredClient } from "../../TestAuthority.js"
import { verifyClientAssertion } from "./verifyAssertion.js"
import { DEFAULT_ALIAS_GROUPS } from "./discovery.js"

/** Entra accepts about five minutes of clock skew. @internal */
export const CLOCK_SKEW_SECONDS = 300

/** The default audience of federated tokens exchanged at Entra. @internal */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"

/** Why an assertion is refused: an AADSTS code and its text. @internal */
export interface Refusal {
  readonly code: number
  readonly text: string
}

const refuse = (code: number, text: string): Refusal => ({ code, text })

const MALFORMED = refuse(50027, "JWT token is invalid or malformed.")

const groupOf = (host: string): ReadonlyArray<string> =>
  DEFAULT_ALIAS_GROUPS.find((g) => g.aliases.includes(host))?.aliases ?? [host]

/**
 * The audiences accepted for a request to `tokenEndpoint`: the endpoint itself on the host
 * or any of its aliases, and for a regional host (`westus.login.microsoft.com`) the central
 * hosts, because clients address their assertions to the central endpoint.
 *
 * @internal
 */
export const audiencesFor = (tokenEndpoint: string): ReadonlyArray<string> => {
  const url = new URL(tokenEndpoint)
  const host = url.host.toLowerCase()
  const labels = host.split(".")
  const central = labels.length >= 4 ? labels.slice(1).join(".") : undefined
  const hosts = new Set([host, ...groupOf(host), ...(central === undefined ? [] : groupOf(central))])
  return [tokenEndpoint, ...[...hosts].map((h) => `${url.protocol}//${h}${url.pathname}`)]
}

/** The refusal for a reason of `verifyClientAssertion`. */
const refusalOf = (reason: string): Refusal => {
  if (reason.startsWith("claim aud"))
    return refuse(700023, "Client assertion audience claim does not match Realm issuer.")
  if (reason.startsWith("claim iss") || reason.startsWith("claim sub")) {
    return refuse(700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
  }
  if (reason.endsWith("missing")) return MALFORMED
  if (reason === "the assertion has expired" || reason.startsWith("claim nbf") || reason.startsWith("claim iat")) {
    return refuse(700024, "Client assertion is not within its valid time range.")
  }
  if (reason.includes("x5c") || reason.startsWith("the signature")) {
    return refuse(700027, `Client assertion contains an invalid signature. [Reason - ${reason}.]`)
  }
  if (reason.includes("thumbprint") || reason.includes("x5t") || reason.includes("certificate")) {
    return refuse(700027, `Client assertion failed signature validation. [Reason - The key was not found: ${reason}.]`)
  }
  return MALFORMED
}

const keysOf = (pems: ReadonlyArray<string>): ReadonlyArray<KeyObject> =>
  pems.flatMap((pem) => {
    try {
      return [createPublicKey(pem)]
    } catch {
      return [] // a registration with a bad key simply trusts nothing with it
    }
  })

const audiences = (payload: JWTPayload): ReadonlyArray<string> =>
  typeof payload.aud === "string" ? [payload.aud] : payload.aud ?? []

/** A token of an external issuer, checked against the app's federated credentials. */
const verifyFederated = (
  jwt: string,
  payload: JWTPayload,
  credentials: ReadonlyArray<FederatedCredential>,
  nowSeconds: number
): Effect.Effect<Refusal | undefined> =>
  Effect.gen(function*() {
    const byIssuer = credentials.filter((c) => c.issuer === payload.iss)
    if (byIssuer.length === 0) {
      return refuse(
        700211,
        `No matching federated identity record found for presented assertion issuer '${String(payload.iss)}'.`
      )
    }
    const bySubject = byIssuer.filter((c) => c.subject === payload.sub)
    if (bySubject.length === 0) {
      return refuse(
        700213,
        `No matching federated identity record found for presented assertion subject '${String(payload.sub)}'.`
      )
    }
    const matching = bySubject.filter((c) => audiences(payload).includes(c.audience ?? TOKEN_EXCHANGE_AUDIENCE))
    if (matching.length === 0) {
      return refuse(700212, "No matching federated identity record found for presented assertion audience.")
    }
    let refusal = refuse(700027, "Client assertion contains an invalid signature. [Reason - The key was not found.]")
    for (const credential of matching) {
      for (const key of keysOf(credential.keys)) {
        const result = yield* Effect.either(Effect.tryPromise(() =>
          jwtVerify(jwt, key, {
            algorithms: ["RS256", "PS256", "ES256"],
            issuer: credential.issuer,
            subject: credential.subject,
            audience: credential.audience ?? TOKEN_EXCHANGE_AUDIENCE,
            currentDate: new Date(nowSeconds * 1000),
            clockTolerance: CLOCK_SKEW_SECONDS,
            requiredClaims: ["exp"]
          })
        ))
        if (result._tag === "Right") return undefined
        const cause = result.left.error
        if (
          cause instanceof JoseErrors.JWTExpired ||
          (cause instanceof JoseErrors.JWTClaimValidationFailed && cause.claim === "nbf")
        ) {
          return refuse(700024, "Client assertion is not within its valid time range.")
        }
        if (!(cause instanceof JoseErrors.JWSSignatureVerificationFailed)) refusal = MALFORMED
      }
    }
    return refusal
  })

/**
 * Checks a `client_assertion` against a registered client that declares credentials:
 * `undefined` when accepted, else the refusal.
 *
 * @internal
 */
export const check = (options: {
  readonly assertion: string
  readonly clientId: string
  readonly registered: RegisteredClient
  readonly tokenEndpoint: string
  readonly nowSeconds: number
}): Effect.Effect<Refusal | undefined> => {
  const { assertion, clientId, nowSeconds, registered } = options
  if (registered.assertions?.includes(assertion) === true) return Effect.succeed(undefined)
  let payload: JWTPayload
  try {
    payload = decodeJwt(assertion)
  } catch {
    return Effect.succeed(MALFORMED)
  }
  const certificates = registered.certificates ?? []
  const federated = registered.federatedCredentials ?? []
  if (payload.iss !== clientId && federated.length > 0)
    return verifyFederated(assertion, payload, federated, nowSeconds)
  if (certificates.length === 0) {
    return Effect.succeed(
      refuse(
        700027,
        "Client assertion failed signature validation. [Reason - The key was not found: no certificate is registered.]"
      )
    )
  }
  return verifyClientAssertion(assertion, {
    certificatesPem: certificates,
    audience: audiencesFor(options.tokenEndpoint),
    clientId,
    nowSeconds,
    clockToleranceSeconds: CLOCK_SKEW_SECONDS
  }).pipe(Effect.match({ onFailure: (e) => refusalOf(e.reason), onSuccess: () => undefined }))
}
