/**
 * 5. Signatures made for 1,000 certificate-credential token requests spread over 30
 * simulated minutes (one every 1.8 s), all to one token endpoint (one assertion audience).
 * Every request is a real token request: each asks for a scope not cached yet.
 *
 * Simulated time moves `Date` (msal-node reads it) and, for ours, `TestClock` in step.
 */
import { Duration, Effect, TestClock, TestContext } from "effect"
import { createHash, generateKeyPairSync } from "node:crypto"
import { ClientCredential, ConfidentialClient } from "effect-msal"
import * as FakeTime from "../support/fakeTime.js"
import { makeMsal } from "../support/msal.js"
import { makeRuntime } from "../support/ours.js"
import * as SignCounter from "../support/signCounter.js"

export const REQUESTS = 1_000
export const SIMULATED_MINUTES = 30
const STEP_MILLIS = (SIMULATED_MINUTES * 60_000) / REQUESTS

export interface SignaturesResult {
  readonly library: "ours" | "msal"
  readonly status: "measured" | "pending"
  readonly requests: number
  readonly succeeded: number
  readonly simulatedMinutes: number
  /** Signing operations counted in-process. */
  readonly signCalls: number
  readonly note?: string | undefined
}

const scopeAt = (i: number): string => `api://sig-resource-${i}-x/.default`

const keyPair = () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })
  return {
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    thumbprintSha256: createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex")
  }
}

export const runOurs = async (baseUrl: string): Promise<SignaturesResult> => {
  const key = keyPair()
  const time = FakeTime.install()
  const signs = SignCounter.install()
  const runtime = makeRuntime(
    baseUrl,
    ClientCredential.certificate({ privateKey: key.privateKey, thumbprintSha256: key.thumbprintSha256 })
  )
  try {
    const built = await runtime.runPromise(Effect.either(ConfidentialClient.ConfidentialClient))
    if (built._tag === "Left") {
      const message = String((built.left as { message?: unknown }).message ?? built.left)
      return {
        library: "ours",
        status: "pending",
        requests: 0,
        succeeded: 0,
        simulatedMinutes: SIMULATED_MINUTES,
        signCalls: 0,
        note: `the certificate credential could not be built: ${message}`
      }
    }
    const client = built.right
    const succeeded = await runtime.runPromise(
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.now())
        let ok = 0
        for (let i = 0; i < REQUESTS; i++) {
          const result = yield* Effect.either(client.acquireTokenForClient({ scopes: [scopeAt(i)] }))
          if (result._tag === "Right" && result.right.tokenSource === "identity_provider") ok++
          time.advance(STEP_MILLIS)
          yield* TestClock.adjust(Duration.millis(STEP_MILLIS))
        }
        return ok
      }).pipe(Effect.provide(TestContext.TestContext))
    )
    return {
      library: "ours",
      status: "measured",
      requests: REQUESTS,
      succeeded,
      simulatedMinutes: SIMULATED_MINUTES,
      signCalls: signs.count()
    }
  } catch (error) {
    // the layer fails to build while the certificate credential is not implemented
    const message = error instanceof Error ? error.message : String(error)
    return {
      library: "ours",
      status: "pending",
      requests: 0,
      succeeded: 0,
      simulatedMinutes: SIMULATED_MINUTES,
      signCalls: 0,
      note: `the certificate credential could not be built: ${message.split("\n")[0]}`
    }
  } finally {
    await runtime.dispose().catch(() => undefined)
    signs.uninstall()
    time.uninstall()
  }
}

export const runMsal = async (baseUrl: string): Promise<SignaturesResult> => {
  const key = keyPair()
  const time = FakeTime.install()
  const signs = SignCounter.install()
  try {
    const { app } = makeMsal(baseUrl, { kind: "certificate", ...key })
    let succeeded = 0
    for (let i = 0; i < REQUESTS; i++) {
      const result = await app.acquireTokenByClientCredential({ scopes: [scopeAt(i)] }).catch(() => null)
      if (result !== null && !result.fromCache) succeeded++
      time.advance(STEP_MILLIS)
    }
    return {
      library: "msal",
      status: "measured",
      requests: REQUESTS,
      succeeded,
      simulatedMinutes: SIMULATED_MINUTES,
      signCalls: signs.count()
    }
  } finally {
    signs.uninstall()
    time.uninstall()
  }
}
