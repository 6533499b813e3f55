/**
 * The sign-in boundary, ≥ 200 generated cases each: ID tokens in the token endpoint's answer
 * (each claim of the wrong type or range in turn, and broken token shapes) and the redirect
 * the browser brings back to `acquireTokenByAuthCodeFlow` (any parameters, repeated ones,
 * any types). Property: a correct result or a typed `MsalError` with nothing cached — never a
 * defect, never the code, a token or the PKCE verifier in the error.
 */
import { Effect, Exit, FastCheck as fc, Redacted } from "effect"
import { createHash } from "node:crypto"
import type { AuthCodeFlow } from "effect-msal"
import { describe, expect, it } from "vitest"
import { CLIENT_ID, check, expectNoSecret, RUNS, SECRET, typedFailure, withClient } from "./support.js"

const TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
const OID = "00000000-0000-0000-66f3-3332eca7ea81"
const CODE = "the-authorization-code-0123456789"
const ACCESS_TOKEN = "the-user-access-token-0123456789"
const REFRESH_TOKEN = "the-user-refresh-token-0123456789"
const b64 = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url")
const CLIENT_INFO = b64({ uid: OID, utid: TID })

const claimsFor = (nonce: string, now: number): Record<string, unknown> => ({
  ver: "2.0",
  aud: CLIENT_ID,
  iss: `https://login.microsoftonline.com/${TID}/v2.0`,
  tid: TID,
  oid: OID,
  sub: "the-subject",
  nonce,
  iat: now,
  nbf: now,
  exp: now + 3600,
  preferred_username: "bob@contoso.com",
  name: "Bob"
})

const CLAIMS = [
  "ver",
  "aud",
  "iss",
  "tid",
  "oid",
  "sub",
  "nonce",
  "iat",
  "nbf",
  "exp",
  "preferred_username",
  "name",
  "auth_time"
] as const
const wrong: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -1,
    2 ** 53 + 2,
    1e308,
    "1700000000",
    CLIENT_ID.toUpperCase(),
    [CLIENT_ID],
    [CLIENT_ID, "other"],
    []
  ),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 })
)

/** An ID token for the flow's nonce: valid, with one claim wrong or removed, or broken in shape. */
type IdTokenMaker = (nonce: string, now: number) => string
const idToken: fc.Arbitrary<IdTokenMaker> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(fc.constantFrom(...CLAIMS), fc.option(wrong, { nil: undefined, freq: 5 })).map(
      ([claim, value]): IdTokenMaker => (nonce, now) => {
        const claims = claimsFor(nonce, now)
        if (value === undefined) delete claims[claim]
        else claims[claim] = value
        return `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`
      }
    )
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => `${b64({ alg: "none" })}.${b64(v)}.sig`),
      fc.constantFrom("a.b", "a.b.c.d", "..", "x.%%%.y", `${b64({ alg: "none" })}.${b64("not json")}.`, "")
    ).map((raw): IdTokenMaker => () => raw)
  }
)

const tokenAnswer = (id: string) =>
  JSON.stringify({
    token_type: "Bearer",
    access_token: ACCESS_TOKEN,
    refresh_token: REFRESH_TOKEN,
    expires_in: 3599,
    scope: "User.Read openid profile offline_access",
    id_token: id,
    client_info: CLIENT_INFO
  })

const signIn = (
  makeId: IdTokenMaker,
  response: (flow: AuthCodeFlow.AuthCodeFlow) => URLSearchParams | Record<string, unknown>
) => {
  let raw = ""
  let flowOf: AuthCodeFlow.AuthCodeFlow | undefined
  return Effect.map(
    withClient(
      () => {
        // the authorize URL carried the nonce's SHA-256 hex: the ID token echoes that
        raw = makeId(createHash("sha256").update(flowOf!.nonce).digest("hex"), Math.floor(Date.now() / 1000))
        return { body: tokenAnswer(raw) }
      },
      (client) =>
        Effect.gen(function*() {
          const flow = yield* client.initiateAuthCodeFlow({
            scopes: ["User.Read"],
            redirectUri: "https://app.example/callback"
          })
          flowOf = flow
          return yield* client.acquireTokenByAuthCodeFlow({ flow, response: response(flow) })
        })
    ),
    (outcome) => ({ ...outcome, raw: () => raw, flow: () => flowOf! })
  )
}

const nothingCached = (snapshot: { readonly entries: Readonly<Record<string, ReadonlyArray<unknown>>> }) => {
  for (const entries of Object.values(snapshot.entries)) expect(entries).toEqual([])
}

describe("ID tokens (property)", () => {
  it(`a signed-in account or a typed error with nothing cached (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(idToken, (makeId) =>
        check(Effect.gen(function*() {
          const outcome = yield* signIn(makeId, (flow) => ({ code: CODE, state: flow.state }))
          const error = typedFailure(outcome.exit)
          const verifier = Redacted.value(outcome.flow().codeVerifier)
          if (error !== undefined) {
            expect(
              ["IdTokenError", "AuthCodeFlowError", "NetworkError", "ServerError"],
              `${error._tag}: ${error.message}`
            ).toContain(error._tag)
            nothingCached(outcome.snapshot)
            const raw = outcome.raw()
            expectNoSecret(error, [
              SECRET,
              CODE,
              ACCESS_TOKEN,
              REFRESH_TOKEN,
              verifier,
              ...(raw.length >= 20 ? [raw] : [])
            ])
          } else if (Exit.isSuccess(outcome.exit)) {
            const result = outcome.exit.value
            expect(result.idTokenClaims?.nonce).toBe(createHash("sha256").update(outcome.flow().nonce).digest("hex"))
            // OpenID Connect Core 2: aud is the client id, or an array that contains it
            const aud = result.idTokenClaims?.aud
            expect(aud === CLIENT_ID || (Array.isArray(aud) && aud.includes(CLIENT_ID))).toBe(true)
            expect(result.account?.homeAccountId).toBe(`${OID}.${TID}`)
            expect(outcome.snapshot.entries.AccessToken).toHaveLength(1)
          }
        }))),
      { numRuns: RUNS }
    )
  })
})

const KEYS = [
  "code",
  "state",
  "error",
  "error_description",
  "client_info",
  "session_state",
  "cloud_instance_host_name",
  "x"
] as const
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
  { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }) }
)
/** How the redirect's parameters are built from the flow: right or wrong state and code, extra or repeated keys, other types. */
type ResponseMaker = (flow: AuthCodeFlow.AuthCodeFlow) => URLSearchParams | Record<string, unknown>
const response: fc.Arbitrary<ResponseMaker> = fc.tuple(
  fc.constantFrom("right", "wrong", "missing", "case", "padded"),
  fc.option(fc.constantFrom(CODE, "", " "), { nil: undefined, freq: 4 }),
  fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 3 }),
  fc.boolean(),
  fc.boolean()
).map(([stateKind, code, extra, asParams, repeat]): ResponseMaker => (flow) => {
  const state = stateKind === "right"
    ? flow.state
    : stateKind === "wrong"
    ? "another-state"
    : stateKind === "case"
    ? flow.state.toUpperCase()
    : stateKind === "padded"
    ? ` ${flow.state}`
    : undefined
  const record: Record<string, unknown> = { ...extra }
  if (state !== undefined) record.state = state
  if (code !== undefined) record.code = code
  if (!asParams) return record
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(record)) params.append(k, String(v))
  if (repeat && state !== undefined) params.append("state", state)
  return params
})

describe("auth-code redirect responses (property)", () => {
  it(`the code is redeemed only for the flow's own state; anything else is a typed error with nothing sent or cached (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(response, (makeResponse) =>
        check(Effect.gen(function*() {
          let built: URLSearchParams | Record<string, unknown> = {}
          const outcome = yield* signIn(
            (nonce, now) => `${b64({ alg: "none" })}.${b64(claimsFor(nonce, now))}.`,
            (flow) => (built = makeResponse(flow))
          )
          const error = typedFailure(outcome.exit)
          const get = (k: string) => (built instanceof URLSearchParams ? built.getAll(k) : k in built ? [built[k]] : [])
          if (error !== undefined) {
            expect(["AuthCodeFlowError", "InvalidRequest", "ServerError", "NetworkError"]).toContain(error._tag)
            if (error._tag !== "ServerError" && error._tag !== "NetworkError") {
              expect(outcome.sent, `${error._tag}: ${error.message} for ${JSON.stringify([...Object.entries(built)])}`)
                .toEqual([])
            }
            nothingCached(outcome.snapshot)
            expectNoSecret(error, [
              SECRET,
              CODE,
              ACCESS_TOKEN,
              REFRESH_TOKEN,
              Redacted.value(outcome.flow().codeVerifier)
            ])
          } else {
            expect(get("state")).toEqual([outcome.flow().state])
            expect(get("error")).toEqual([])
            expect(outcome.sent).toHaveLength(1)
            expect(outcome.sent[0]!.form.code).toBe(get("code")[0])
            expect(outcome.sent[0]!.form.code_verifier).toBe(Redacted.value(outcome.flow().codeVerifier))
          }
        }))),
      { numRuns: RUNS }
    )
  })
})
