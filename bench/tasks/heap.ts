/**
 * 3. Heap bytes per cached app token (access tokens of about 830 characters), GC forced
 * before and after. Both libraries load the same serialised cache; ours is also measured
 * when the entries are written with `TokenCache.modify`, msal-node without the copy of the
 * serialised cache it keeps after `deserialize`.
 */
import { Effect } from "effect"
import { TokenCache } from "effect-msal"
import { cacheJson, generateTokens } from "../support/fixtures.js"
import { makeMsal } from "../support/msal.js"
import { makeRuntime } from "../support/ours.js"
import { fillOurs, sizeOfMsal, sizeOfOurs } from "../support/populate.js"

export type Path = "deserialize" | "modify" | "entries"

export interface HeapResult {
  readonly library: "ours" | "msal"
  /**
   * How the cache was filled: `deserialize`; ours `modify` (`TokenCache.modify`); msal-node
   * `entries` (deserialize, then `deserialize("")`, which drops the copy of the JSON string
   * msal-node keeps after a deserialize and leaves the entries).
   */
  readonly path: Path
  readonly tokens: number
  readonly cached: number
  readonly bytesPerToken: number
  readonly heapBefore: number
  readonly heapAfter: number
}

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error("run node with --expose-gc")
  for (let i = 0; i < 3; i++) collect()
}

const heapUsed = (): number => {
  gc()
  return process.memoryUsage().heapUsed
}

export const runOurs = async (baseUrl: string, tokens: number, path: "deserialize" | "modify"): Promise<HeapResult> => {
  const runtime = makeRuntime(baseUrl)
  try {
    // build the layer and warm the code paths on an empty cache first
    await runtime.runPromise(TokenCache.deserialize(cacheJson(generateTokens(1))))
    await runtime.runPromise(Effect.flatMap(TokenCache.TokenCache, (c) =>
      c.restore({
        entries: { AccessToken: [], RefreshToken: [], IdToken: [], Account: [], AppMetadata: [] },
        unknown: {}
      })))
    const heapBefore = heapUsed()
    if (path === "deserialize") {
      // the JSON is built and dropped inside this call: only what the cache keeps survives
      await runtime.runPromise(TokenCache.deserialize(cacheJson(generateTokens(tokens))))
    } else {
      await runtime.runPromise(fillOurs(generateTokens(tokens)))
    }
    const heapAfter = heapUsed()
    const cached = await sizeOfOurs(runtime)
    return {
      library: "ours",
      path,
      tokens,
      cached,
      heapBefore,
      heapAfter,
      bytesPerToken: (heapAfter - heapBefore) / tokens
    }
  } finally {
    await runtime.dispose()
  }
}

export const runMsal = (baseUrl: string, tokens: number, path: "deserialize" | "entries"): HeapResult => {
  // warm msal-node's code paths on another instance first
  const warm = makeMsal(baseUrl).app
  warm.getTokenCache().deserialize(cacheJson(generateTokens(1)))
  void warm.getTokenCache().serialize()
  const { app } = makeMsal(baseUrl)
  const heapBefore = heapUsed()
  app.getTokenCache().deserialize(cacheJson(generateTokens(tokens)))
  if (path === "entries") app.getTokenCache().deserialize("")
  const heapAfter = heapUsed()
  const cached = sizeOfMsal(app)
  return {
    library: "msal",
    path,
    tokens,
    cached,
    heapBefore,
    heapAfter,
    bytesPerToken: (heapAfter - heapBefore) / tokens
  }
}
