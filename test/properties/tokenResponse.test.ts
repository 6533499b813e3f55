/**
 * Token responses at the boundary: a valid client-credentials answer with one field of the
 * wrong type or out of range in turn (or removed, or the body replaced), ≥ 200 cases.
 * Property: a correct result (a live token, cached with a bounded lifetime) or a typed
 * `MsalError` with nothing cached — never a defect, never the token or secret in the error.
 */
import { Effect, Exit, FastCheck as fc, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { check, expectNoSecret, expectSaneCache, RUNS, SECRET, typedFailure, withClient } from "./support.js"

const GRAPH = "https://graph.microsoft.com/.default"
const ACCESS_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.the-access-token-value"
const REFRESH_TOKEN = "the-refresh-token-value-0123"

const valid = {
  token_type: "Bearer",
  access_token: ACCESS_TOKEN,
  expires_in: 3599,
  ext_expires_in: 3599,
  refresh_in: 1800
}

const FIELDS = [
  "access_token",
  "token_type",
  "expires_in",
  "ext_expires_in",
  "refresh_in",
  "expires_on",
  "scope",
  "refresh_token",
  "id_token",
  "client_info",
  "foci"
] as const

/** Values of every JSON type, and the ranges that matter for lifetimes. */
const wrong: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -1,
    -3600,
    1e-9,
    0.5,
    3599.5,
    2 ** 31,
    2 ** 53 - 1,
    2 ** 53 + 2,
    -(2 ** 53),
    1e308,
    365 * 24 * 3600 + 1
  ),
  fc.constantFrom(
    "0",
    "-1",
    "3599",
    " 3599",
    "3599 ",
    "0x10",
    "1e3",
    "Infinity",
    "NaN",
    "",
    "9007199254740993",
    "3599.5"
  ),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 })
)

/** A body: the valid answer with one field set to a wrong value or removed, or something else altogether. */
const body: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(fc.constantFrom(...FIELDS), fc.option(wrong, { nil: undefined, freq: 6 })).map(
      ([field, value]) => {
        const copy: Record<string, unknown> = { ...valid }
        if (value === undefined) delete copy[field]
        else copy[field] = value
        if (field === "expires_on" && typeof value === "number") delete copy.expires_in
        return JSON.stringify(copy)
      }
    )
  },
  { weight: 1, arbitrary: fc.json() },
  {
    // an OAuth error body with every field of the wrong kind
    weight: 1,
    arbitrary: fc.record({
      error: fc.oneof(fc.constant("invalid_client"), wrong),
      error_codes: fc.oneof(wrong, fc.constant([-1, 1.5, "AADSTS-7", "AADSTS700016", 7_000_215])),
      error_description: wrong,
      retry_after: wrong
    }).map((b) => JSON.stringify(b))
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "{", "[]", "null", "<html>", JSON.stringify(valid).slice(0, 30)) }
)

const status = fc.oneof({ weight: 6, arbitrary: fc.constant(200) }, {
  weight: 1,
  arbitrary: fc.constantFrom(201, 400, 401, 429, 500, 503)
}, { weight: 1, arbitrary: fc.integer({ min: 200, max: 599 }) })

describe("token responses (property)", () => {
  it(`a typed error or a live token, never a defect, a bad entry or a secret in the error (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(body, status, (text, code) =>
        check(Effect.gen(function*() {
          const nowSeconds = Math.floor(Date.now() / 1000)
          const { exit, snapshot } = yield* withClient(
            () => ({ status: code, body: text }),
            (client) => client.acquireTokenForClient({ scopes: [GRAPH] })
          )
          const error = typedFailure(exit)
          if (error !== undefined) {
            expect(["NetworkError", "ServerError", "IdTokenError"]).toContain(error._tag)
            expect(snapshot.entries.AccessToken).toEqual([])
            expectNoSecret(error, [SECRET, ACCESS_TOKEN, REFRESH_TOKEN, "the-access-token-value"])
          } else if (Exit.isSuccess(exit)) {
            const result = exit.value
            expect(code).toBeGreaterThanOrEqual(200)
            expect(code).toBeLessThan(300)
            expect(Number.isFinite(result.expiresOn.getTime())).toBe(true)
            expect(result.expiresOn.getTime()).toBeGreaterThan(nowSeconds * 1000)
            expect(Redacted.value(result.accessToken).length).toBeGreaterThan(0)
            expect(snapshot.entries.AccessToken).toHaveLength(1)
          }
          expectSaneCache(snapshot, nowSeconds)
        }))),
      { numRuns: RUNS }
    )
  })
})
