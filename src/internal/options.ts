import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type { Options } from "../ConfidentialClient.js"
import { InvalidRequest } from "../MsalError.js"

/** What a value is, for a message: never the value itself (it may be a secret). @internal */
export const kindOf = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
    ? "an array"
    : typeof value === "object"
    ? "an object"
    : typeof value === "undefined"
    ? "undefined"
    : `a ${typeof value}`

const fail = (field: string, description: string) => new InvalidRequest({ field, description })

const durationFields = ["timeout", "attemptTimeout", "azureRegionTimeout", "authCodeFlowLifetime"] as const
const booleanFields = ["validateAuthority", "instanceDiscovery", "enablePiiLog"] as const
const stringFields = ["appName", "appVersion"] as const

const checkDuration = (field: string, value: unknown): InvalidRequest | undefined =>
  value === undefined || Duration.decodeUnknown(value)._tag === "Some"
    ? undefined
    : fail(field, `must be a duration such as "30 seconds" or a number of milliseconds (got ${kindOf(value)})`)

const isStringArray = (value: unknown): boolean =>
  Array.isArray(value) && value.every((item) => typeof item === "string")

/**
 * The client options' shapes, checked before anything is built: a mistyped option (read from
 * untyped JavaScript or JSON) is an `InvalidRequest` naming it, never a `TypeError`. The
 * values themselves (a client id, an authority) are checked where they are used. @internal
 */
export const check = (options: unknown): InvalidRequest | undefined => {
  if (!Predicate.isRecord(options)) {
    return fail("options", `the client options must be an object (got ${kindOf(options)})`)
  }
  for (const field of durationFields) {
    const problem = checkDuration(field, options[field])
    if (problem !== undefined) return problem
  }
  for (const field of booleanFields) {
    const value = options[field]
    if (value !== undefined && typeof value !== "boolean")
      return fail(field, `must be true or false (got ${kindOf(value)})`)
  }
  for (const field of stringFields) {
    const value = options[field]
    if (value !== undefined && typeof value !== "string") return fail(field, `must be a string (got ${kindOf(value)})`)
  }
  const retry = options.retry
  if (retry !== undefined && retry !== false) {
    if (!Predicate.isRecord(retry)) return fail("retry", `must be false or an object (got ${kindOf(retry)})`)
    const attempts = retry.maxAttempts
    if (attempts !== undefined && (typeof attempts !== "number" || !Number.isInteger(attempts) || attempts < 1)) {
      return fail("retry.maxAttempts", "must be a whole number of at least 1")
    }
    for (const field of ["baseDelay", "maxDelay", "maxRetryAfter"] as const) {
      const problem = checkDuration(`retry.${field}`, retry[field])
      if (problem !== undefined) return problem
    }
  }
  const capabilities = options.clientCapabilities
  if (capabilities !== undefined && !isStringArray(capabilities)) {
    return fail("clientCapabilities", `must be an array of strings such as ["CP1"] (got ${kindOf(capabilities)})`)
  }
  const claims = options.clientClaims
  if (claims !== undefined && !Predicate.isRecord(claims)) {
    return fail("clientClaims", `must be an object of claims (got ${kindOf(claims)})`)
  }
  const region = options.azureRegion
  if (region !== undefined && region !== false && typeof region !== "string") {
    return fail("azureRegion", `must be a region name, "discover" or false (got ${kindOf(region)})`)
  }
  const fraction = options.refreshLifetimeFraction
  if (fraction !== undefined && (typeof fraction !== "number" || !(fraction > 0 && fraction < 1))) {
    return fail("refreshLifetimeFraction", "must be a number between 0 and 1 (exclusive), for example 0.5")
  }
  return undefined
}

/** `check` as an effect. @internal */
export const validate = (options: Options): Effect.Effect<void, InvalidRequest> => {
  const problem = check(options)
  return problem === undefined ? Effect.void : Effect.fail(problem)
}
