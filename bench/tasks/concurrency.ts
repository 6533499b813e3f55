/**
 * 2. `n` concurrent first calls for one uncached scope; the authority answers after 200 ms.
 * The parent counts the requests for that scope that reached the authority.
 *
 * One call for another scope goes first, so that the burst measures concurrency, not the
 * process warming up (HTTP client, JIT); cold start is measured on its own (task 6).
 *
 * Ours runs the burst two ways: `runPromise` — `n` independent `runtime.runPromise` calls
 * joined with `Promise.all`, as `n` concurrent HTTP handlers of a server would make them —
 * and `Effect.all` — one fiber forking `n` fibers (`concurrency: "unbounded"`).
 */
import { Effect } from "effect"
import { performance } from "node:perf_hooks"
import { ConfidentialClient } from "effect-msal"
import { COLD_SCOPE, WARM_SCOPE } from "../support/fixtures.js"
import { makeMsal } from "../support/msal.js"
import { makeRuntime } from "../support/ours.js"

export type Mode = "runPromise" | "Effect.all" | "Promise.all"

export interface ConcurrencyResult {
  readonly library: "ours" | "msal"
  readonly mode: Mode
  readonly calls: number
  readonly wallMillis: number
  /** CPU time of this process during the burst (user + system). */
  readonly cpuMillis: number
  readonly succeeded: number
  readonly failed: number
  readonly firstError?: string | undefined
}

const timed = async <A>(run: () => Promise<A>) => {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const value = await run()
  const wallMillis = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { value, wallMillis, cpuMillis: (cpu.user + cpu.system) / 1000 }
}

export const runOurs = async (baseUrl: string, calls: number, mode: Mode): Promise<ConcurrencyResult> => {
  const runtime = makeRuntime(baseUrl)
  try {
    const client = await runtime.runPromise(ConfidentialClient.ConfidentialClient)
    await runtime.runPromise(client.acquireTokenForClient({ scopes: [WARM_SCOPE] }))
    const request = { scopes: [COLD_SCOPE] }
    const call = () => Effect.either(client.acquireTokenForClient(request))
    const { value: results, wallMillis, cpuMillis } = await timed(() =>
      mode === "Effect.all"
        ? runtime.runPromise(Effect.all(Array.from({ length: calls }, call), { concurrency: "unbounded" }))
        : Promise.all(Array.from({ length: calls }, () => runtime.runPromise(call())))
    )
    const failures = results.flatMap((r) => (r._tag === "Left" ? [r.left] : []))
    return {
      library: "ours",
      mode,
      calls,
      wallMillis,
      cpuMillis,
      succeeded: calls - failures.length,
      failed: failures.length,
      firstError: failures[0]?._tag
    }
  } finally {
    await runtime.dispose()
  }
}

export const runMsal = async (baseUrl: string, calls: number): Promise<ConcurrencyResult> => {
  const { app } = makeMsal(baseUrl)
  await app.acquireTokenByClientCredential({ scopes: [WARM_SCOPE] })
  const request = { scopes: [COLD_SCOPE] }
  const { value: results, wallMillis, cpuMillis } = await timed(() =>
    Promise.allSettled(Array.from({ length: calls }, () => app.acquireTokenByClientCredential(request)))
  )
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []))
  return {
    library: "msal",
    mode: "Promise.all",
    calls,
    wallMillis,
    cpuMillis,
    succeeded: calls - failures.length,
    failed: failures.length,
    firstError: failures.length > 0 ? String(failures[0]).slice(0, 200) : undefined
  }
}
