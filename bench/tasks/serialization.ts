/** 4. Serialise and deserialise a cache of `tokens` app tokens (median of several runs). */
import { performance } from "node:perf_hooks"
import { TokenCache } from "effect-msal"
import { cacheJson, generateTokens } from "../support/fixtures.js"
import { makeMsal } from "../support/msal.js"
import { makeRuntime } from "../support/ours.js"
import { median } from "../support/stats.js"

export interface SerializationResult {
  readonly library: "ours" | "msal"
  readonly tokens: number
  readonly runs: number
  /** Milliseconds, median. */
  readonly deserialize: number
  /** Milliseconds, median. */
  readonly serialize: number
  /** Access tokens found in the serialised output (must equal `tokens`). */
  readonly roundTripped: number
  readonly outputBytes: number
}

const RUNS = 7

const countAccessTokens = (json: string): number =>
  Object.keys((JSON.parse(json) as { AccessToken?: Record<string, unknown> }).AccessToken ?? {}).length

export const runOurs = async (baseUrl: string, tokens: number): Promise<SerializationResult> => {
  const json = cacheJson(generateTokens(tokens))
  const de: Array<number> = []
  const se: Array<number> = []
  let out = ""
  for (let i = 0; i <= RUNS; i++) {
    const runtime = makeRuntime(baseUrl)
    try {
      await runtime.runPromise(TokenCache.deserialize("")) // builds the layer
      const t0 = performance.now()
      await runtime.runPromise(TokenCache.deserialize(json))
      const t1 = performance.now()
      out = await runtime.runPromise(TokenCache.serialize)
      const t2 = performance.now()
      if (i > 0) { // run 0 warms up
        de.push(t1 - t0)
        se.push(t2 - t1)
      }
    } finally {
      await runtime.dispose()
    }
  }
  return {
    library: "ours",
    tokens,
    runs: RUNS,
    deserialize: median(de),
    serialize: median(se),
    roundTripped: countAccessTokens(out),
    outputBytes: Buffer.byteLength(out)
  }
}

export const runMsal = (baseUrl: string, tokens: number): SerializationResult => {
  const json = cacheJson(generateTokens(tokens))
  const de: Array<number> = []
  const se: Array<number> = []
  let out = ""
  for (let i = 0; i <= RUNS; i++) {
    const cache = makeMsal(baseUrl).app.getTokenCache()
    const t0 = performance.now()
    cache.deserialize(json)
    const t1 = performance.now()
    out = cache.serialize()
    const t2 = performance.now()
    if (i > 0) {
      de.push(t1 - t0)
      se.push(t2 - t1)
    }
  }
  return {
    library: "msal",
    tokens,
    runs: RUNS,
    deserialize: median(de),
    serialize: median(se),
    roundTripped: countAccessTokens(out),
    outputBytes: Buffer.byteLength(out)
  }
}
