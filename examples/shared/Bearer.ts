/**
 * Bearer tokens in `Authorization` headers (RFC 6750 §2.1), and reading a JWT's claims.
 */
import { Data, Either, Option, Predicate, Redacted } from "effect"

/** Why a request carries no usable bearer token. */
export class BearerProblem extends Data.TaggedError("BearerProblem")<{
  readonly reason: "Missing" | "Malformed" | "Invalid"
  readonly description: string
}> {}

/** RFC 6750's `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive).
 * The token stays `Redacted`: it is never logged or echoed.
 */
export const parse = (header: string | undefined): Either.Either<Redacted.Redacted<string>, BearerProblem> => {
  if (header === undefined || header.trim().length === 0) {
    return Either.left(new BearerProblem({ reason: "Missing", description: "no Authorization header" }))
  }
  const match = /^Bearer +(\S+)\s*$/i.exec(header.trim())
  if (match === null) {
    return Either.left(
      new BearerProblem({ reason: "Malformed", description: "the Authorization header is not 'Bearer <token>'" })
    )
  }
  const token = match[1]!
  if (!B64TOKEN.test(token)) {
    return Either.left(
      new BearerProblem({ reason: "Malformed", description: "the bearer token has characters RFC 6750 does not allow" })
    )
  }
  return Either.right(Redacted.make(token))
}

/**
 * The claims of a JWT, decoded without checking its signature (only for tokens whose origin
 * was established otherwise).
 */
export const unverifiedClaims = (token: string): Option.Option<Readonly<Record<string, unknown>>> => {
  const parts = token.split(".")
  if (parts.length !== 3) return Option.none()
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"))
    return Predicate.isRecord(payload) ? Option.some(payload) : Option.none()
  } catch {
    return Option.none()
  }
}

/** `WWW-Authenticate` for a request without a usable token (RFC 6750 §3). */
export const challenge = (problem?: BearerProblem | { readonly description: string }): string =>
  problem === undefined || (problem instanceof BearerProblem && problem.reason === "Missing")
    ? "Bearer realm=\"\""
    : `Bearer realm="", error="invalid_token", error_description="${problem.description.replace(/["\\]/g, "")}"`
