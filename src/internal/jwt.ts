/**
 * Decoding a JWT's payload without verifying it (RFC 7519 §7.2 steps 1–3 without the
 * signature): the compact JWS form `header.payload.signature`, the payload base64url
 * (RFC 4648 §5) JSON that must be an object. Written here rather than taken from `jose`'s
 * `decodeJwt` so that importing the package does not load `jose` (46 modules); `jose` is
 * loaded only to sign a client assertion.
 * @internal
 */

const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * The claims of a compact JWT; throws (with a message that never contains the token) when
 * it is not three dot-separated parts, or its payload is not base64url JSON of an object.
 * @internal
 */
export const decodeJwtPayload = (token: string): Record<string, unknown> => {
  if (typeof token !== "string") throw new TypeError("JWT must be a string")
  const parts = token.split(".")
  if (parts.length !== 3) throw new TypeError("not a compact JWT")
  const payload = parts[1] ?? ""
  if (payload.length === 0 || !BASE64URL.test(payload)) throw new TypeError("JWT payload is not base64url")
  const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"))
  if (typeof claims !== "object" || claims === null || Array.isArray(claims))
    throw new TypeError("JWT claims are not an object")
  return claims as Record<string, unknown>
}
