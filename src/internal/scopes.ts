import * as Either from "effect/Either"
import { InvalidRequest } from "../MsalError.js"

/** Scopes the user flows add to every request (OpenID Connect). @internal */
export const RESERVED_SCOPES: ReadonlyArray<string> = ["openid", "profile", "offline_access"]

/**
 * Whether a request asks only to sign the user in (the OpenID Connect scopes `openid`,
 * `profile`, `email`, `offline_access`: Microsoft Learn, "Scopes and permissions in the
 * Microsoft identity platform", OpenID Connect scopes): the only request whose answer may
 * carry an ID token without an access token. @internal
 */
export const isSignInOnly = (scopes: ReadonlyArray<string>): boolean =>
  scopes.every((s) => RESERVED_SCOPES.includes(s) || s === "email")

/**
 * A non-empty list of non-empty scope strings without whitespace, de-duplicated and sorted
 * ascending (code-unit order, as MSAL does), or an `InvalidRequest`.
 * @internal
 */
export const normalize = (scopes: unknown): Either.Either<ReadonlyArray<string>, InvalidRequest> => {
  if (!Array.isArray(scopes)) {
    return Either.left(new InvalidRequest({ field: "scopes", description: "scopes must be an array of strings" }))
  }
  if (scopes.length === 0) {
    return Either.left(new InvalidRequest({ field: "scopes", description: "at least one scope is required" }))
  }
  for (const s of scopes) {
    if (typeof s !== "string" || s.length === 0) {
      return Either.left(new InvalidRequest({ field: "scopes", description: "every scope must be a non-empty string" }))
    }
    if (/\s/.test(s)) {
      return Either.left(new InvalidRequest({ field: "scopes", description: "a scope must not contain whitespace" }))
    }
  }
  const unique = scopes.length === 1 ? (scopes as Array<string>) : Array.from(new Set(scopes as Array<string>)).sort()
  return Either.right(unique)
}

/** Whether every requested scope is in the cached target (case-insensitive). @internal */
export const isSubset = (requested: ReadonlyArray<string>, target: string): boolean => {
  const have = new Set(target.toLowerCase().split(" "))
  for (const s of requested) if (!have.has(s.toLowerCase())) return false
  return true
}
