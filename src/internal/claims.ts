import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import { InvalidRequest } from "../MsalError.js"

/**
 * JSON text as Python's `json.dumps` writes it by default (`", "` and `": "` separators,
 * non-ASCII escaped), so the `claims` field is byte-for-byte what MSAL sends.
 * @internal
 */
export const pythonJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`
  if (Predicate.isRecord(value)) {
    return `{${Object.entries(value).map(([k, v]) => `${asciiString(k)}: ${pythonJson(v)}`).join(", ")}}`
  }
  if (typeof value === "string") return asciiString(value)
  return JSON.stringify(value) ?? "null"
}

const asciiString = (s: string): string =>
  JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/**
 * The `claims` form field: the claims challenge unchanged when the client declares no
 * capabilities; otherwise the challenge (or `{}`) with `access_token.xms_cc` set to the
 * capabilities (MSAL Python's `_merge_claims_challenge_and_capabilities`).
 * @internal
 */
export const merge = (
  capabilities: ReadonlyArray<string> | undefined,
  claims: string | undefined
): Either.Either<string | undefined, InvalidRequest> => {
  if (claims !== undefined && typeof claims !== "string") {
    return Either.left(
      new InvalidRequest({ field: "claims", description: "claims must be a JSON object, as a string" })
    )
  }
  if (claims === undefined && capabilities !== undefined && capabilities.length > 0) {
    // the common case on the cache-hit path: the same value every time
    let merged = capabilitiesOnly.get(capabilities)
    if (merged === undefined) {
      merged = mergeParsed(capabilities, claims)
      capabilitiesOnly.set(capabilities, merged)
    }
    return merged
  }
  return mergeParsed(capabilities, claims)
}

const capabilitiesOnly = new WeakMap<ReadonlyArray<string>, Either.Either<string | undefined, InvalidRequest>>()

const mergeParsed = (
  capabilities: ReadonlyArray<string> | undefined,
  claims: string | undefined
): Either.Either<string | undefined, InvalidRequest> => {
  if (claims !== undefined && claims.trim().length === 0) {
    return Either.left(new InvalidRequest({ field: "claims", description: "claims must not be empty" }))
  }
  let parsed: unknown = {}
  if (claims !== undefined) {
    try {
      parsed = JSON.parse(claims)
    } catch {
      return Either.left(new InvalidRequest({ field: "claims", description: "claims must be a JSON object" }))
    }
    if (!Predicate.isRecord(parsed) || Array.isArray(parsed)) {
      return Either.left(new InvalidRequest({ field: "claims", description: "claims must be a JSON object" }))
    }
  }
  if (capabilities === undefined || capabilities.length === 0) return Either.right(claims)
  const root = parsed as Record<string, unknown>
  const accessToken = Predicate.isRecord(root.access_token) ? root.access_token : {}
  return Either.right(pythonJson({ ...root, access_token: { ...accessToken, xms_cc: { values: [...capabilities] } } }))
}
