/**
 * MSAL Python in the bench: Debian's `python3-msal`, run with `/usr/bin/python3` by
 * bench/python/msal_bench.py against the same local authority. When it is missing, the set-up
 * installs it with apt-get (as root only); when it still cannot run, its column says "missing"
 * with the reason: no figure is ever made up for it.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import type { ColdRun } from "../report/results.js"
import type { Summary } from "./stats.js"
import type { LocalAuthority } from "./authority.js"
import { cacheJson, COLD_SCOPE, generateTokens } from "./fixtures.js"

export const PYTHON = "/usr/bin/python3"

/** The peer's version, or why it is missing. */
export type PythonPeer =
  | { readonly available: true; readonly version: string }
  | { readonly available: false; readonly reason: string }

const version = (): string | undefined => {
  if (!existsSync(PYTHON)) return undefined
  const r = spawnSync(PYTHON, ["-c", "import msal; print(msal.__version__)"], { encoding: "utf8", timeout: 30_000 })
  return r.status === 0 ? r.stdout.trim() : undefined
}

const aptGet = (args: ReadonlyArray<string>): boolean =>
  spawnSync("apt-get", args, {
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 300_000,
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  }).status === 0

/** Finds MSAL Python, installing Debian's python3-msal with apt-get when missing and root. */
export const setUp = (log: (line: string) => void): PythonPeer => {
  const found = version()
  if (found !== undefined) return { available: true, version: found }
  if (process.getuid?.() !== 0) return { available: false, reason: "python3-msal not installed (not root)" }
  log("MSAL Python missing: apt-get install -y python3-msal")
  if (!aptGet(["install", "-y", "python3-msal"])) {
    aptGet(["update"])
    aptGet(["install", "-y", "python3-msal"])
  }
  const installed = version()
  return installed === undefined
    ? { available: false, reason: "python3-msal could not be installed with apt-get" }
    : { available: true, version: installed }
}

/** What MSAL Python measured in one bench run (the same tasks, sizes and authority as the others). */
export interface PythonResults {
  readonly peer: PythonPeer
  readonly cacheHit: Array<{
    readonly size: number
    readonly cached: number
    readonly populateMillis: number
    /** Measured calls that were not cache hits, or token requests sent during the loop (must be 0). */
    readonly misses: number
    readonly runs: { readonly silent: Summary }
  }>
  readonly concurrency: Array<{
    readonly calls: number
    readonly wallMillis: number
    readonly cpuMillis: number
    readonly succeeded: number
    readonly failed: number
    /** Token requests for the cold scope that reached the authority. */
    readonly atAuthority: number
  }>
  readonly heap: Array<{ readonly tokens: number; readonly cached: number; readonly bytesPerToken: number }>
  readonly serialization: Array<{
    readonly tokens: number
    readonly deserialize: number
    readonly serialize: number
    readonly outputBytes: number
    readonly roundTripped: number
  }>
  readonly coldStart: Array<ColdRun>
}

/** Runs one task of msal_bench.py (bounded to `timeoutMillis`) and returns its `@@bench` line. */
export const run = (
  root: string,
  args: ReadonlyArray<string>,
  timeoutMillis = 180_000
): Promise<{ readonly result: unknown; readonly wallMillis: number }> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    // the epoch millisecond of the spawn: the cold start counts from it
    const spawnedAt = String(performance.timeOrigin + started)
    const child = spawn(PYTHON, [join(root, "bench", "python", "msal_bench.py"), ...args, spawnedAt], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"]
    })
    let stdout = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMillis)
    child.on("close", (code) => {
      clearTimeout(timer)
      const wallMillis = performance.now() - started
      const line = stdout.split("\n").find((l) => l.startsWith("@@bench "))
      if (line === undefined) reject(new Error(`MSAL Python ${args[0]} exited with ${String(code)} and no result`))
      else resolve({ result: JSON.parse(line.slice("@@bench ".length)), wallMillis })
    })
  })

export interface Plan {
  readonly root: string
  readonly out: string
  readonly authority: LocalAuthority
  readonly enabled: (task: string) => boolean
  readonly sizes: ReadonlyArray<number>
  readonly heapTokens: number
  readonly serialTokens: number
  readonly coldRuns: number
  readonly log: (line: string) => void
}

/**
 * The same generated cache, with `home_account_id` null in each app token, as MSAL Python writes
 * it for client-credential tokens (its silent lookup with no account matches null, not "").
 */
const cacheFile = (out: string, n: number): string => {
  const path = join(out, `python-cache-${n}.json`)
  writeFileSync(path, cacheJson(generateTokens(n)).replaceAll(`"home_account_id":""`, `"home_account_id":null`))
  return path
}

/** Every task of the bench for MSAL Python, one process each, one after the other. */
export const measure = async (peer: PythonPeer, plan: Plan): Promise<PythonResults> => {
  const results: PythonResults = { peer, cacheHit: [], concurrency: [], heap: [], serialization: [], coldStart: [] }
  if (!peer.available) return results
  const { authority, log, root } = plan
  const task = async <A>(args: ReadonlyArray<string>): Promise<A> => {
    const t0 = performance.now()
    const { result } = await run(root, args)
    log(`  python-${args[0]}-${args.slice(3).join("-")}: ${Math.round(performance.now() - t0)} ms`)
    return result as A
  }
  if (plan.enabled("cache-hit")) {
    for (const size of plan.sizes) {
      await authority.reset()
      results.cacheHit.push(await task(["cache-hit", authority.url, cacheFile(plan.out, size), String(size)]))
    }
  }
  if (plan.enabled("concurrency")) {
    await authority.configure({ latency: "200 millis" })
    for (const calls of [100, 1000]) {
      await authority.reset()
      const r = await task<Omit<PythonResults["concurrency"][number], "atAuthority">>(
        ["concurrency", authority.url, "-", String(calls)]
      )
      results.concurrency.push({ ...r, atAuthority: (await authority.tokenRequests(COLD_SCOPE)).count })
    }
    await authority.configure({ latency: 0 })
  }
  if (plan.enabled("heap")) {
    results.heap.push(
      await task(["heap", authority.url, cacheFile(plan.out, plan.heapTokens), String(plan.heapTokens)])
    )
  }
  if (plan.enabled("serialization")) {
    results.serialization.push(
      await task(["serialization", authority.url, cacheFile(plan.out, plan.serialTokens), String(plan.serialTokens)])
    )
  }
  if (plan.enabled("cold-start")) {
    for (let i = 0; i < plan.coldRuns; i++) {
      await authority.reset()
      const { result, wallMillis } = await run(root, ["cold-start", authority.url, "-", "0"])
      const r = result as Omit<ColdRun, "wall"> & { source: string }
      if (r.source !== "identity_provider") throw new Error("cold start of MSAL Python did not reach the authority")
      results.coldStart.push({ boot: r.boot, peers: r.peers, imported: r.imported, token: r.token, wall: wallMillis })
    }
  }
  return results
}
