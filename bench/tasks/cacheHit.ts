/**
 * 1. Cache-hit `acquireTokenForClient` with `size` cached app tokens spread over tenants and
 * scopes. Every measured call is checked to be a cache hit.
 */
import { performance } from "node:perf_hooks"
import type { ConfidentialClient } from "effect-msal"
import { ConfidentialClient as Client } from "effect-msal"
import { generateTokens, HIT_SCOPE } from "../support/fixtures.js"
import { makeMsal } from "../support/msal.js"
import { makeRuntime } from "../support/ours.js"
import { fillMsal, fillOurs, sizeOfMsal, sizeOfOurs } from "../support/populate.js"
import type { Limits, Summary } from "../support/stats.js"
import { sampleAsync, sampleInFiber } from "../support/stats.js"

export interface CacheHitResult {
  readonly library: "ours" | "msal"
  readonly size: number
  /** Entries the cache really held when measured. */
  readonly cached: number
  readonly populateMillis: number
  /** Measured calls that were not served from the cache (must be 0). */
  readonly misses: number
  readonly runs: Readonly<Record<string, Summary>>
}

const OURS: Limits = { warmupCalls: 5_000, warmupMillis: 500, maxSamples: 200_000, maxMillis: 1_500 }

const msalLimits = (size: number): Limits =>
  size >= 100_000
    ? { warmupCalls: 3, warmupMillis: 2_000, maxSamples: 200, maxMillis: 15_000 }
    : size >= 10_000
    ? { warmupCalls: 10, warmupMillis: 1_000, maxSamples: 2_000, maxMillis: 3_000 }
    : { warmupCalls: 500, warmupMillis: 500, maxSamples: 100_000, maxMillis: 1_500 }

/** Times each call inside one running fiber. */
const fiberLoop = (client: ConfidentialClient.Service, limits: Limits) =>
  sampleInFiber(limits, client.acquireTokenForClient({ scopes: [HIT_SCOPE] }))

export const runOurs = async (baseUrl: string, size: number): Promise<CacheHitResult> => {
  const runtime = makeRuntime(baseUrl)
  try {
    const client = await runtime.runPromise(Client.ConfidentialClient)
    const t0 = performance.now()
    await runtime.runPromise(fillOurs(generateTokens(size)))
    const populateMillis = performance.now() - t0
    const cached = await sizeOfOurs(runtime)
    let misses = 0
    const request = { scopes: [HIT_SCOPE] }
    const runPromise = await sampleAsync(OURS, async () => {
      const result = await runtime.runPromise(client.acquireTokenForClient(request))
      if (result.tokenSource !== "cache") misses++
    })
    const fiber = await runtime.runPromise(fiberLoop(client, OURS))
    misses += fiber.misses
    return { library: "ours", size, cached, populateMillis, misses, runs: { runPromise, fiber: fiber.summary } }
  } finally {
    await runtime.dispose()
  }
}

export const runMsal = async (baseUrl: string, size: number): Promise<CacheHitResult> => {
  const { app, counts } = makeMsal(baseUrl)
  const t0 = performance.now()
  fillMsal(app, generateTokens(size))
  const populateMillis = performance.now() - t0
  const cached = sizeOfMsal(app)
  let misses = 0
  const request = { scopes: [HIT_SCOPE] }
  const promise = await sampleAsync(msalLimits(size), async () => {
    const result = await app.acquireTokenByClientCredential(request)
    if (result?.fromCache !== true) misses++
  })
  if (counts.get + counts.post > 0) misses += counts.get + counts.post
  return { library: "msal", size, cached, populateMillis, misses, runs: { promise } }
}
