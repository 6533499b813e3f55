import * as Either from "effect/Either"
import { decodeJwtPayload as decodeJwt } from "../jwt.js"
import { InvalidRequest } from "../../MsalError.js"

/**
 * How far ahead of our clock a user assertion's `nbf` may be (clock skew), in seconds. Entra
 * itself allows five minutes of skew when it validates tokens ("Microsoft identity platform
 * access tokens", token validation); we allow two, as for ID tokens.
 * @internal
 */
export const NBF_SKEW_SECONDS = 120

/** What the user assertion's own lifetime says about using it now. @internal */
export type AssertionLifetime =
  /** A JWT valid now, until `exp` (seconds since the epoch); `tid`, the tenant that issued it, when it names one. */
  | {
    readonly _tag: "Valid"
    readonly exp: number
    readonly nbf?: number | undefined
    readonly tid?: string | undefined
  }
  /** Not a JWT with a numeric `exp` (opaque tokens): only the authority can judge it. */
  | { readonly _tag: "Unknown" }

/**
 * Checks the lifetime of the token a caller presented for on-behalf-of (RFC 7519 §4.1.4
 * `exp`, §4.1.5 `nbf`): an expired or not-yet-valid JWT is an `InvalidRequest` before any
 * cached token is served or refreshed — Entra answers `invalid_grant` (AADSTS500133) for
 * it, and a refresh token from an earlier exchange must not outlive it. The token is never
 * echoed in the error.
 * @internal
 */
export const checkLifetime = (
  assertion: string,
  nowSeconds: number
): Either.Either<AssertionLifetime, InvalidRequest> => {
  let claims: Record<string, unknown>
  try {
    claims = decodeJwt(assertion)
  } catch {
    return Either.right({ _tag: "Unknown" })
  }
  const exp = claims.exp
  const nbf = claims.nbf
  if (typeof exp !== "number" || !Number.isFinite(exp)) return Either.right({ _tag: "Unknown" })
  if (exp <= nowSeconds) {
    return Either.left(
      new InvalidRequest({
        field: "userAssertion",
        description: "the user assertion has expired (exp): ask the caller for a new token"
      })
    )
  }
  if (typeof nbf === "number" && Number.isFinite(nbf) && nbf > nowSeconds + NBF_SKEW_SECONDS) {
    return Either.left(
      new InvalidRequest({ field: "userAssertion", description: "the user assertion is not valid yet (nbf)" })
    )
  }
  const tid = claims.tid
  return Either.right({
    _tag: "Valid",
    exp,
    ...(typeof nbf === "number" && Number.isFinite(nbf) ? { nbf } : {}),
    ...(typeof tid === "string" && tid.length > 0 ? { tid } : {})
  })
}

/**
 * Whether a lifetime found valid earlier still is at `nowSeconds` (the same rules as
 * `checkLifetime`, without decoding the token again). @internal
 */
export const stillValid = (lifetime: AssertionLifetime, nowSeconds: number): boolean =>
  lifetime._tag === "Unknown" ||
  (lifetime.exp > nowSeconds && (lifetime.nbf === undefined || lifetime.nbf <= nowSeconds + NBF_SKEW_SECONDS))
