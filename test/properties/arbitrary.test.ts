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
