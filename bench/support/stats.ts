/** Timing helpers: percentiles and bounded sampling loops. */
import { Effect } from "effect"
import { performance } from "node:perf_hooks"

export interface Summary {
  readonly samples: number
  /** Milliseconds. */
  readonly median: number
  /** Milliseconds. */
  readonly p99: number
  /** Milliseconds. */
  readonly mean: number
  /** Calls per second over the whole measured loop (wall clock). */
  readonly perSecond: number
  /** Why sampling stopped. */
  readonly bound: "samples" | "time"
}

export const percentile = (sorted: ArrayLike<number>, p: number): number => {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

export const median = (values: ReadonlyArray<number>): number => percentile(Float64Array.from(values).sort(), 50)

export const summarize = (
  samples: Float64Array,
  count: number,
  wallMillis: number,
  bound: Summary["bound"]
): Summary => {
  const s = samples.subarray(0, count).slice().sort()
  let total = 0
  for (let i = 0; i < count; i++) total += s[i]!
  return {
    samples: count,
    median: percentile(s, 50),
    p99: percentile(s, 99),
    mean: total / count,
    perSecond: count / (wallMillis / 1000),
    bound
  }
}

/** Limits of one sampling loop. */
export interface Limits {
  /** Calls made before measuring (JIT warm-up). */
  readonly warmupCalls: number
  /** Longest warm-up, milliseconds. */
  readonly warmupMillis: number
  readonly maxSamples: number
  /** Longest measured loop, milliseconds. */
  readonly maxMillis: number
}

/** Times each call of an async function, within the limits. */
export const sampleAsync = async (limits: Limits, call: () => Promise<unknown>): Promise<Summary> => {
  const warmupEnd = performance.now() + limits.warmupMillis
  for (let i = 0; i < limits.warmupCalls && performance.now() < warmupEnd; i++) await call()
  const samples = new Float64Array(limits.maxSamples)
  const start = performance.now()
  const deadline = start + limits.maxMillis
  let n = 0
  while (n < limits.maxSamples) {
    const t0 = performance.now()
    await call()
    const t1 = performance.now()
    samples[n++] = t1 - t0
    if (t1 > deadline) break
  }
  return summarize(samples, n, performance.now() - start, n === limits.maxSamples ? "samples" : "time")
}

/**
 * Times each run of `call` inside one running fiber (no `runPromise` per call), within the
 * limits; counts the results that were not served from the cache.
 */
export const sampleInFiber = <E, R>(limits: Limits, call: Effect.Effect<{ readonly tokenSource: string }, E, R>) =>
  Effect.gen(function*() {
    let misses = 0
    const warmupEnd = performance.now() + limits.warmupMillis
    for (let i = 0; i < limits.warmupCalls && performance.now() < warmupEnd; i++) yield* call
    const samples = new Float64Array(limits.maxSamples)
    const start = performance.now()
    const deadline = start + limits.maxMillis
    let n = 0
    while (n < limits.maxSamples) {
      const t0 = performance.now()
      const result = yield* call
      const t1 = performance.now()
      if (result.tokenSource !== "cache") misses++
      samples[n++] = t1 - t0
      if (t1 > deadline) break
    }
    const bound = n === limits.maxSamples ? "samples" as const : "time" as const
    return { summary: summarize(samples, n, performance.now() - start, bound), misses }
  })
