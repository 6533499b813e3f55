/**
 * The client assertion JWT (RFC 7523 §2.2, §3), signed with `jose`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { CompactJWSHeaderParameters } from "jose"
import type { AuthContext } from "../../CredentialSigner.js"
import { CredentialError } from "../../MsalError.js"
import type { SigningMaterial } from "./material.js"
import * as Material from "./material.js"

/** Seconds from `iat` to `exp`. @internal */
export const LIFETIME_SECONDS = 600

/** A signed assertion is replaced when fewer seconds than this remain before its `exp`. @internal */
export const REUSE_MARGIN_SECONDS = 60

/**
 * The protected header: `alg`, `typ`, the thumbprint the authority looks the key up by and,
 * for Subject Name/Issuer authentication, the certificate chain.
 *
 * @internal
 */
export const header = (material: SigningMaterial, context: AuthContext): CompactJWSHeaderParameters => {
  const choice = Material.choose(material, context.authorityKind)
  return {
    alg: choice.alg,
    typ: "JWT",
    ...choice.header,
    ...(material.x5c === undefined ? {} : { x5c: [...material.x5c] })
  }
}

/**
 * The claims, in whole seconds; `clientClaims` are merged last and may override any of them.
 *
 * @internal
 */
export const claims = (
  context: AuthContext,
  nowSeconds: number,
  jti: string
): Readonly<Record<string, unknown>> => ({
  aud: context.tokenEndpoint,
  iss: context.clientId,
  sub: context.clientId,
  iat: nowSeconds,
  nbf: nowSeconds,
  exp: nowSeconds + LIFETIME_SECONDS,
  jti,
  ...context.clientClaims
})

/**
 * A signed assertion and the second from which it must not be reused.
 *
 * @internal
 */
export interface Signed {
  readonly jwt: string
  readonly renewAt: number
}

/**
 * Signs one assertion. The reuse deadline follows the `exp` actually signed, so a
 * `clientClaims` override of `exp` is honoured.
 *
 * @internal
 */
export const sign = (
  material: SigningMaterial,
  context: AuthContext,
  nowSeconds: number,
  jti: string
): Effect.Effect<Signed, CredentialError> => {
  const payload = claims(context, nowSeconds, jti)
  const exp = typeof payload["exp"] === "number" ? payload["exp"] : nowSeconds + LIFETIME_SECONDS
  return Effect.tryPromise({
    // `jose` is loaded on the first signature, not when the package is imported.
    try: () =>
      import("jose").then(({ CompactSign }) =>
        new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
          .setProtectedHeader(header(material, context))
          .sign(material.privateKey)
      ),
    catch: (e) =>
      new CredentialError({
        description: `could not sign the client assertion${
          typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? ` (${e.code})` : ""
        }`
      })
  }).pipe(Effect.map((jwt) => ({ jwt, renewAt: exp - REUSE_MARGIN_SECONDS })))
}

/**
 * What decides whether a reused assertion fits a request: everything that goes into it
 * except the time and the `jti`.
 *
 * @internal
 */
export const reuseKey = (context: AuthContext): string =>
  JSON.stringify([context.tokenEndpoint, context.clientId, context.authorityKind, context.clientClaims ?? null])
