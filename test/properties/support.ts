/**
 * What every property test checks: an input either gives a correct result or a typed
 * `MsalError` — never a defect, never a bad entry in the cache, never a secret in the error.
 */
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { Cause, Effect, Exit, Option, Redacted } from "effect"
import { ClientCredential, ConfidentialClient, CredentialSigner, TokenCache } from "effect-msal"
import type { MsalError } from "effect-msal/MsalError"
import { isMsalError } from "effect-msal/MsalError"
import { expect } from "vitest"

export const CLIENT_ID = "11111111-2222-3333-4444-555555555555"
export const SECRET = "prop-Secret~value.0123456789"
/** A tenant id: its endpoints are known without discovery, so the token request is the first one. */
export const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
export const AUTHORITY = `https://login.microsoftonline.com/${TENANT}`
/** The cases per property: at least 200 (issue 15). */
export const RUNS = 200

/** One recorded request of the scripted authority. */
export interface Sent {
  readonly method: string
  readonly url: string
  readonly form: Readonly<Record<string, string>>
}

/** What the scripted authority answers. */
export interface Answer {
  readonly status?: number | undefined
  readonly body: string
}

const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([204, 205, 304])

/**
 * A fresh client (memory cache, client secret, no retries) whose every request is answered by
 * `answer`; `use` runs against it. The exit of `use`, the requests sent and the cache after.
 */
export const withClient = <A>(
  answer: (sent: Sent) => Answer,
  use: (client: ConfidentialClient.Service) => Effect.Effect<A, MsalError, TokenCache.TokenCache>,
  options?: Partial<ConfidentialClient.Options>
) =>
  Effect.gen(function*() {
    const sent: Array<Sent> = []
    const http = HttpClient.make((request) =>
      Effect.sync(() => {
        const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
        const entry = { method: request.method, url: request.url, form: Object.fromEntries(new URLSearchParams(body)) }
        sent.push(entry)
        const a = answer(entry)
        const status = a.status ?? 200
        // 204, 205 and 304 carry no body (the Fetch standard's null body statuses)
        const answered = NULL_BODY_STATUSES.has(status) ? null : a.body
        return HttpClientResponse.fromWeb(
          request,
          new Response(answered, { status, headers: { "content-type": "application/json" } })
        )
      })
    )
    const cache = yield* TokenCache.makeMemory()
    const signer = yield* Effect.orDie(CredentialSigner.make(ClientCredential.secret(SECRET)))
    const exit = yield* Effect.scoped(
      Effect.flatMap(
        ConfidentialClient.make({ clientId: CLIENT_ID, authority: AUTHORITY, retry: false, ...options }),
        use
      )
    ).pipe(
      Effect.provideService(HttpClient.HttpClient, http),
      Effect.provideService(TokenCache.TokenCache, cache),
      Effect.provideService(CredentialSigner.CredentialSigner, signer),
      Effect.exit
    )
    const snapshot = yield* Effect.orDie(cache.snapshot)
    return { exit, sent, snapshot }
  }).pipe(Effect.scoped)

/** The failure of an exit: none on success; a typed `MsalError`, or the test fails (a defect, an interruption). */
export const typedFailure = <A>(exit: Exit.Exit<A, unknown>): MsalError | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure) || Cause.isDie(exit.cause) || Cause.isInterrupted(exit.cause)) {
    throw new Error(`not a typed failure: ${Cause.pretty(exit.cause)}`)
  }
  expect(isMsalError(failure.value), String(failure.value)).toBe(true)
  return failure.value as MsalError
}

/** None of `secrets` appears in the error, however it is shown. */
export const expectNoSecret = (error: unknown, secrets: ReadonlyArray<string>) => {
  const shown = [String(error), JSON.stringify(error), (error as { message?: string }).message ?? ""].join("\n")
  for (const secret of secrets) if (secret.length >= 6) expect(shown).not.toContain(secret)
}

/** Every cached access token is live and bounded: expires after it was cached, within a year. */
export const expectSaneCache = (snapshot: TokenCache.Snapshot, nowSeconds: number) => {
  for (const at of snapshot.entries.AccessToken) {
    expect(Number.isFinite(at.expires_on)).toBe(true)
    expect(at.expires_on).toBeGreaterThan(nowSeconds)
    expect(at.expires_on - nowSeconds).toBeLessThanOrEqual(365 * 24 * 3600 + 60)
    expect(Redacted.value(at.secret).length).toBeGreaterThan(0)
  }
}

/** Runs an effect that must not fail (the property's own checks throw). */
export const check = <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect)
