/**
 * Every public data type has a Schema from which `Arbitrary.make` yields valid values (issue
 * 15): each generated value is accepted by its Schema, survives encode → JSON → decode, and
 * encodes to the same JSON again. Users rely on this to property-test their own code.
 */
import { Arbitrary, Either, FastCheck as fc, Schema } from "effect"
import { AuthCodeFlow, AuthenticationResult, CacheEntry, MsalError } from "effect-msal"
import { describe, expect, it } from "vitest"

const RUNS = 200

const schemas = {
  AuthenticationResult: AuthenticationResult.AuthenticationResult,
  Account: AuthenticationResult.Account,
  AuthCodeFlow: AuthCodeFlow.AuthCodeFlow,
  "CacheEntry.AccessToken": CacheEntry.AccessToken,
  "CacheEntry.RefreshToken": CacheEntry.RefreshToken,
  "CacheEntry.IdToken": CacheEntry.IdToken,
  "CacheEntry.Account": CacheEntry.Account,
  "CacheEntry.AppMetadata": CacheEntry.AppMetadata,
  MsalError: MsalError.MsalError,
  ServerError: MsalError.ServerError,
  NetworkError: MsalError.NetworkError,
  Throttled: MsalError.Throttled,
  InvalidRequest: MsalError.InvalidRequest,
  CredentialError: MsalError.CredentialError,
  AuthorityError: MsalError.AuthorityError,
  AuthCodeFlowError: MsalError.AuthCodeFlowError,
  IdTokenError: MsalError.IdTokenError,
  TokenNotFound: MsalError.TokenNotFound,
  CacheError: MsalError.CacheError
} as const

describe("Arbitrary.make of every public Schema (property)", () => {
  for (const [name, schema] of Object.entries(schemas)) {
    it(`${name}: valid, and stable through encode → JSON → decode (${RUNS} cases)`, () => {
      const s = schema as unknown as Schema.Schema<unknown, unknown>
      fc.assert(
        fc.property(Arbitrary.make(s), (value) => {
          expect(Schema.is(s)(value)).toBe(true)
          const wire = JSON.stringify(Schema.encodeSync(s)(value))
          const back = Schema.decodeUnknownEither(s)(JSON.parse(wire))
          expect(Either.isRight(back), wire).toBe(true)
          expect(JSON.stringify(Schema.encodeSync(s)(Either.getOrThrow(back)))).toBe(wire)
        }),
        { numRuns: RUNS }
      )
    })
  }

  it("generated errors are MsalErrors whose message can be shown", () => {
    fc.assert(
      fc.property(Arbitrary.make(MsalError.MsalError), (error) => {
        expect(MsalError.isMsalError(error)).toBe(true)
        expect(typeof error.message).toBe("string")
      }),
      { numRuns: RUNS }
    )
  })

  it("an AuthCodeFlow whose createdAt is not a valid date is refused (JSON's 1e400 is Infinity)", () => {
    const json = JSON.stringify({
      authUri: "https://x",
      state: "s",
      codeVerifier: "v",
      nonce: "n",
      scopes: [],
      createdAt: 0
    })
      .replace("\"createdAt\":0", "\"createdAt\":1e400")
    expect(Either.isLeft(Schema.decodeUnknownEither(AuthCodeFlow.Json)(json))).toBe(true)
  })
})

describe("error numbers are what an error can hold", () => {
  const decode = (schema: Schema.Schema<unknown, unknown>, value: unknown) =>
    Either.isRight(Schema.decodeUnknownEither(schema)(value))
  const network = MsalError.NetworkError as unknown as Schema.Schema<unknown, unknown>
  const server = MsalError.ServerError as unknown as Schema.Schema<unknown, unknown>
  const throttled = MsalError.Throttled as unknown as Schema.Schema<unknown, unknown>
  const base = { _tag: "NetworkError", reason: "Status", description: "d" }

  it("a status is a three-digit integer; Retry-After and error codes are integers ≥ 0; retryAt a valid date", () => {
    expect(decode(network, { ...base, status: 503, retryAfter: 30 })).toBe(true)
    for (const status of [Number.NaN, Infinity, 99, 1000, 200.5, -200]) {
      expect(decode(network, { ...base, status })).toBe(false)
    }
    for (const retryAfter of [Number.NaN, Infinity, -1, 1.5]) {
      expect(decode(network, { ...base, retryAfter })).toBe(false)
    }
    const error = { _tag: "ServerError", error: "invalid_client", status: 401 }
    expect(decode(server, { ...error, errorCodes: [7_000_215] })).toBe(true)
    for (const code of [Number.NaN, -1, 1.5]) expect(decode(server, { ...error, errorCodes: [code] })).toBe(false)
    expect(decode(throttled, { _tag: "Throttled", retryAt: 1_700_000_000_000, description: "d" })).toBe(true)
    expect(decode(throttled, { _tag: "Throttled", retryAt: 1e300, description: "d" })).toBe(false)
  })
})
