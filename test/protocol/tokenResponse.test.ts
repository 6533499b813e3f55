import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Redacted } from "effect"
import { interpret } from "../../src/internal/protocol/tokenResponse.js"

const URL = "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"
const NOW = 1_700_000_000_000
const ok = (body: unknown, status = 200) => interpret({ status, text: JSON.stringify(body) }, URL, NOW)
const token = { access_token: "at-secret", token_type: "Bearer", expires_in: 3599 }

describe("interpret: token lifetimes", () => {
  it("accepts integer and integer-string lifetimes up to a year", () => {
    expect(Either.isRight(ok({ ...token, expires_in: "3599", ext_expires_in: 7199, refresh_in: "1800" }))).toBe(true)
    expect(Either.isRight(ok({ ...token, expires_in: 31_536_000 }))).toBe(true)
    expect(Either.isRight(ok({ access_token: "a", expires_on: NOW / 1000 + 3600 }))).toBe(true)
  })

  for (
    const [name, body] of [
      ["expires_in 0", { ...token, expires_in: 0 }],
      ["expires_in negative", { ...token, expires_in: -99 }],
      ["expires_in 2^53-1", { ...token, expires_in: Number.MAX_SAFE_INTEGER }],
      ["expires_in over a year", { ...token, expires_in: 31_536_001 }],
      ["expires_in as a negative string", { ...token, expires_in: "-1" }],
      ["ext_expires_in 0", { ...token, ext_expires_in: 0 }],
      ["refresh_in negative", { ...token, refresh_in: -5 }],
      ["expires_on in the past", { access_token: "a", expires_on: NOW / 1000 - 1 }],
      ["expires_on two years ahead", { access_token: "a", expires_on: NOW / 1000 + 2 * 31_536_000 }]
    ] as const
  ) {
    it(`refuses ${name} as an invalid response, naming only the field`, () => {
      const result = ok(body)
      expect(Either.isLeft(result)).toBe(true)
      const error = Either.getLeft(result)
      expect(error._tag === "Some" && error.value).toMatchObject({ _tag: "NetworkError", reason: "InvalidResponse" })
      expect(JSON.stringify(error)).not.toContain("at-secret")
    })
  }

  it("a fractional or non-numeric lifetime is an invalid response", () => {
    expect(Either.isLeft(ok({ ...token, expires_in: 12.5 }))).toBe(true)
    expect(Either.isLeft(ok({ ...token, expires_in: "soon" }))).toBe(true)
  })
})

describe("interpret: OAuth error bodies are read leniently", () => {
  it("keeps the error when error_codes are strings and error_description is null", () => {
    const result = ok({
      error: "invalid_request",
      error_description: null,
      error_codes: ["AADSTS90014"],
      trace_id: "t-1"
    }, 400)
    expect(Either.getLeft(result)).toMatchObject({
      _tag: "Some",
      value: { _tag: "ServerError", error: "invalid_request", errorCodes: [90014], traceId: "t-1", status: 400 }
    })
    const e = Either.getLeft(result)
    expect(e._tag === "Some" && e.value._tag === "ServerError" && e.value.errorDescription).toBe(undefined)
  })

  it("keeps error_additional_info, and drops fields of the wrong type instead of the error", () => {
    const result = ok(
      { error: "invalid_grant", error_additional_info: ["client_mismatch"], suberror: 42, claims: {} },
      400
    )
    expect(Either.getLeft(result)).toMatchObject({
      _tag: "Some",
      value: { _tag: "ServerError", error: "invalid_grant", errorAdditionalInfo: ["client_mismatch"] }
    })
  })

  it("an error body on a 200 is still a ServerError; a 5xx is a NetworkError naming the code", () => {
    expect(Either.getLeft(ok({ error: "invalid_client" }))).toMatchObject({
      value: { _tag: "ServerError", status: 200 }
    })
    expect(Either.getLeft(ok({ error: "temporarily_unavailable" }, 503))).toMatchObject({
      value: { _tag: "NetworkError", reason: "Status" }
    })
  })
})

describe("interpret: a 200 without access_token", () => {
  it("with an ID token it is a sign-in answer (the grant decides); with neither it is an invalid response", () => {
    const signIn = interpret(
      { status: 200, text: JSON.stringify({ token_type: "Bearer", id_token: "h.p.s", refresh_token: "rt" }) },
      URL,
      NOW
    )
    expect(Either.isRight(signIn) && signIn.right.access_token === undefined).toBe(true)
    const neither = interpret(
      { status: 200, text: JSON.stringify({ token_type: "Bearer", expires_in: 3600 }) },
      URL,
      NOW
    )
    expect(Either.isLeft(neither) && neither.left).toMatchObject({
      _tag: "NetworkError",
      reason: "InvalidResponse",
      description: "the token response has missing or invalid fields: access_token"
    })
    const blank = interpret({ status: 200, text: JSON.stringify({ access_token: "  ", id_token: "h.p.s" }) }, URL, NOW)
    expect(Either.isLeft(blank)).toBe(true)
  })
})

describe("interpret: never a defect, never a secret in the error (property)", () => {
  const field = fc.oneof(
    fc.integer({ min: -1e12, max: 1e12 }),
    fc.double(),
    fc.string(),
    fc.constant(null),
    fc.boolean(),
    fc.array(fc.oneof(fc.string(), fc.integer())),
    fc.object()
  )
  const body = fc.record(
    {
      access_token: fc.oneof(fc.constant("SECRET-AT-1234567890"), field),
      expires_in: field,
      ext_expires_in: field,
      refresh_in: field,
      expires_on: field,
      refresh_token: fc.oneof(fc.constant("SECRET-RT-1234567890"), field),
      error: fc.oneof(fc.constantFrom("invalid_grant", ""), field),
      error_codes: field,
      error_description: field
    },
    { requiredKeys: [] }
  )

  it("gives a token with sane lifetimes or a typed error", () => {
    fc.assert(
      fc.property(body, fc.constantFrom(200, 400, 401, 429, 500), (b, status) => {
        const result = interpret({ status, text: JSON.stringify(b) }, URL, NOW)
        if (Either.isRight(result)) {
          const t = result.right
          // a token, or (a sign-in) an ID token
          if (t.access_token === undefined) expect(t.id_token).toBeDefined()
          else expect(Redacted.value(t.access_token).trim().length).toBeGreaterThan(0)
          for (const v of [t.expires_in, t.ext_expires_in, t.refresh_in]) {
            if (v !== undefined) expect(v > 0 && v <= 31_536_000 && Number.isInteger(v)).toBe(true)
          }
        } else {
          expect(["ServerError", "NetworkError"]).toContain(result.left._tag)
          const shown = `${JSON.stringify(result.left)} ${String(result.left)}`
          expect(shown).not.toContain("SECRET-AT")
          expect(shown).not.toContain("SECRET-RT")
        }
      }),
      { numRuns: 300 }
    )
  })
})
