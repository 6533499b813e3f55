/**
 * The caller's inputs at the boundary, ≥ 200 generated cases each: authority URLs, `claims`
 * JSON and scopes. Property: a client and a correct request, or a typed `MsalError` — never
 * a defect, never a request sent for input that was refused, never a secret in the error.
 */
import { Effect, Exit, FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import { check, expectNoSecret, RUNS, SECRET, typedFailure, withClient } from "./support.js"

const token = {
  body: JSON.stringify({ token_type: "Bearer", access_token: "an-access-token-value", expires_in: 3599 })
}

const hosts = fc.constantFrom(
  "login.microsoftonline.com",
  "login.microsoftonline.us",
  "contoso.b2clogin.com",
  "contoso.ciamlogin.com",
  "adfs.contoso.com",
  "127.0.0.1",
  "[::1]",
  "xn--80ak6aa92e.com",
  "LOGIN.MICROSOFTONLINE.COM",
  ""
)
const segment = fc.oneof(
  fc.constantFrom(
    "common",
    "organizations",
    "consumers",
    "contoso.onmicrosoft.com",
    "adfs",
    "tfp",
    "B2C_1_signin",
    "v2.0",
    ".",
    "..",
    "%2e%2e",
    "%00",
    "a b"
  ),
  fc.uuid(),
  fc.string({ maxLength: 12 })
)
/** Authority-like strings: schemes, hosts, ports, paths, queries and fragments, and plain noise. */
const authorityUrl: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(
      fc.constantFrom("https://", "http://", "HTTPS://", "ftp://", "//", "", "https:/", "javascript:"),
      fc.option(fc.constantFrom("user:pass-word-1@", "@", "a@", ":only-pass-word@"), { nil: "" }),
      hosts,
      fc.option(fc.constantFrom(":443", ":0", ":99999", ":-1", ":abc"), { nil: "" }),
      fc.array(segment, { maxLength: 4 }),
      fc.option(fc.constantFrom("?", "?dc=ESTS-PUB-WUS2-AZ1-FD000-TEST1", "?a=1&a=2", "#frag", "?x#y"), { nil: "" }),
      fc.option(fc.constantFrom("/", "//", "/ "), { nil: "" })
    ).map(([scheme, user, host, port, path, query, tail]) =>
      `${scheme}${user}${host}${port}${path.length === 0 ? "" : `/${path.join("/")}`}${tail}${query}`
    )
  },
  { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }
)

/** The password in the URL's user info, when it has one: it must never be shown. */
const passwordOf = (input: string): ReadonlyArray<string> => {
  try {
    const password = new URL(input.trim()).password
    return password === "" ? [] : [`:${password}@`]
  } catch {
    return []
  }
}

describe("authority URLs (property)", () => {
  it(`a client for a well-formed authority, else a typed error; nothing sent at construction (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(authorityUrl, (authority) =>
        check(Effect.gen(function*() {
          const { exit, sent } = yield* withClient(() => token, () => Effect.void, { authority })
          const error = typedFailure(exit)
          if (error !== undefined) {
            expect(["AuthorityError", "InvalidRequest"]).toContain(error._tag)
            expectNoSecret(error, [SECRET, ...passwordOf(authority)])
          }
          expect(sent).toEqual([])
        }))),
      { numRuns: RUNS }
    )
  })

  it(`an accepted authority sends its token request over https to its own host (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(authorityUrl, (authority) =>
        check(Effect.gen(function*() {
          const { exit, sent } = yield* withClient(
            (s) =>
              (s.url.includes("openid-configuration") || s.url.includes("discovery/instance"))
                ? { status: 404, body: "{}" }
                : token,
            (client) => client.acquireTokenForClient({ scopes: ["api://x/.default"] }),
            { authority, retry: false, timeout: "2 seconds" }
          )
          typedFailure(exit)
          for (const s of sent) {
            const url = new URL(s.url)
            // loopback hosts may be plain http (tests); everything else is https
            if (!["127.0.0.1", "[::1]", "localhost"].includes(url.hostname)) expect(url.protocol).toBe("https:")
            expect(url.username).toBe("")
            expect(url.password).toBe("")
          }
        }))),
      { numRuns: RUNS }
    )
  })
})

/** `claims` as callers pass it: JSON text (objects, other JSON), broken text, and values of other types. */
const claims: fc.Arbitrary<unknown> = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ access_token: v })),
  fc.constantFrom(
    "{",
    "{\"access_token\":",
    "[]",
    "null",
    "\"x\"",
    "{\"access_token\":{\"xms_cc\":{\"values\":[\"cp1\"]}}}",
    "",
    " "
  ),
  fc.string({ maxLength: 30 }),
  fc.anything({ maxDepth: 2 })
)

describe("claims (property)", () => {
  it(`an InvalidRequest with nothing sent, or a request whose claims field is a JSON object (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(claims, fc.boolean(), (value, capabilities) =>
        check(Effect.gen(function*() {
          const { exit, sent } = yield* withClient(
            () => token,
            (client) => client.acquireTokenForClient({ scopes: ["api://x/.default"], claims: value as string }),
            capabilities ? { clientCapabilities: ["cp1"] } : {}
          )
          const error = typedFailure(exit)
          if (error !== undefined) {
            expect(error._tag).toBe("InvalidRequest")
            expect(sent).toEqual([])
            expectNoSecret(error, [SECRET])
          } else {
            expect(Exit.isSuccess(exit)).toBe(true)
            const field = sent[0]?.form.claims
            if (field !== undefined) {
              const parsed: unknown = JSON.parse(field)
              expect(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)).toBe(true)
            }
          }
        }))),
      { numRuns: RUNS }
    )
  })
})

const scopeValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9:/._-]{1,30}$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      " ",
      "a b",
      "openid",
      "offline_access",
      "profile",
      "User.Read",
      "api://x/.default",
      "\n",
      "é"
    )
  },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) }
)
const scopes: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.array(scopeValue, { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) }
)

describe("scopes (property)", () => {
  it(`an InvalidRequest with nothing sent, or one request whose scope is the given set (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(scopes, (value) =>
        check(Effect.gen(function*() {
          const { exit, sent } = yield* withClient(
            () => token,
            (client) => client.acquireTokenForClient({ scopes: value as ReadonlyArray<string> })
          )
          const error = typedFailure(exit)
          if (error !== undefined) {
            expect(["InvalidRequest", "NetworkError"]).toContain(error._tag)
            if (error._tag === "InvalidRequest") expect(sent).toEqual([])
            expectNoSecret(error, [SECRET])
          } else {
            expect(Array.isArray(value)).toBe(true)
            const given = new Set(value as ReadonlyArray<string>)
            expect(new Set(sent[0]!.form.scope!.split(" "))).toEqual(given)
          }
        }))),
      { numRuns: RUNS }
    )
  })
})
