/**
 * `npm run bench`: effect-msal, @azure/msal-node and MSAL Python side by side, against one local
 * authority on 127.0.0.1 (`TestAuthority.serve()`), each measurement in its own child process.
 * MSAL Python (Debian's python3-msal, bench/support/python.ts) runs the same tasks after the
 * others; when it cannot be installed its column says "missing".
 *
 * Options:
 *   --only=cache-hit,obo-hit,concurrency,heap,serialization,signatures,cold-start
 *   --sizes=1,1000,10000,100000   cache sizes for the cache-hit runs
 *   --obo-users=1,10000            users (one cached on-behalf-of token each) for the obo-hit runs
 *   --profile                     write a CPU profile per child to .bench-out/profiles
 *   --write                       also update the results block of BENCHMARKS.md
 *
 * Outputs: the tables on stdout, .bench-out/results.{json,md}, bench/cache-hit.svg.
 */
import { spawn } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { duration } from "./report/format.js"
import * as Markdown from "./report/markdown.js"
import type { ColdRun, Library, Results } from "./report/results.js"
import * as Svg from "./report/svg.js"
import * as Authority from "./support/authority.js"
import { build } from "./support/build.js"
import * as Bundle from "./support/bundle.js"
import { COLD_SCOPE } from "./support/fixtures.js"
import * as Python from "./support/python.js"
import type { CacheHitResult } from "./tasks/cacheHit.js"
import type { ConcurrencyResult } from "./tasks/concurrency.js"
import type { HeapResult } from "./tasks/heap.js"
import type { OboHitResult } from "./tasks/oboHit.js"
import type { SerializationResult } from "./tasks/serialization.js"
import type { SignaturesResult } from "./tasks/signatures.js"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const OUT = join(ROOT, ".bench-out")
const PROFILES = join(OUT, "profiles")

const argv = process.argv.slice(2)
const option = (name: string): string | undefined =>
  argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const flag = (name: string): boolean => argv.includes(`--${name}`)
const only = option("only")?.split(",")
const enabled = (task: string): boolean => only === undefined || only.includes(task)
const SIZES = (option("sizes") ?? "1,1000,10000,100000").split(",").map(Number)
const PROFILE = flag("profile")
/** Users with a cached on-behalf-of token, for the on-behalf-of cache-hit runs. */
const OBO_USERS = (option("obo-users") ?? "1,10000").split(",").map(Number)
const COLD_RUNS = 5
const HEAP_TOKENS = 10_000
const SERIAL_TOKENS = 10_000
const CHILD_TIMEOUT_MILLIS = 180_000

const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}

const readVersion = (pkg: string): string =>
  (JSON.parse(readFileSync(join(ROOT, pkg, "package.json"), "utf8")) as { version: string }).version

interface ChildOutput {
  readonly result: unknown
  readonly wallMillis: number
}

/** Runs a node process and returns its `@@bench` line. */
const runNode = (args: ReadonlyArray<string>, label: string): Promise<ChildOutput> =>
  new Promise((resolve, reject) => {
    // one folder per child: with a loader, the hooks thread writes a profile of its own (the main thread's has tid 0)
    const profiling = PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${join(PROFILES, label)}`] : []
    const started = performance.now()
    const child = spawn(process.execPath, [...profiling, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] })
    let stdout = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MILLIS)
    child.on("close", (code) => {
      clearTimeout(timer)
      const wallMillis = performance.now() - started
      const line = stdout.split("\n").find((l) => l.startsWith("@@bench "))
      if (line === undefined)
        reject(new Error(`${label} exited with ${String(code)} and no result:\n${stdout.slice(-2000)}`))
      else resolve({ result: JSON.parse(line.slice("@@bench ".length)), wallMillis })
    })
  })

/** Where the transpiled JavaScript is (built once per run). */
let JS = ""

const worker = async <A>(task: string, library: Library, url: string, ...args: Array<string>): Promise<A> => {
  const label = [task, library, ...args].join("-")
  const t0 = performance.now()
  const { result } = await runNode(["--expose-gc", join(JS, "bench", "worker.js"), task, library, url, ...args], label)
  log(`  ${label}: ${duration(performance.now() - t0)}`)
  return result as A
}

const main = async (): Promise<void> => {
  const started = performance.now()
  mkdirSync(OUT, { recursive: true })
  if (PROFILE) mkdirSync(PROFILES, { recursive: true })
  JS = build(ROOT)
  const authority = await Authority.start()
  log(`authority on ${authority.url}`)
  const pythonPeer = Python.setUp(log)
  let python: Python.PythonResults | undefined
  let results: Results = {
    date: new Date().toISOString().slice(0, 10),
    machine: {
      cpus: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      loadAverage: [os.loadavg()[0] ?? 0, 0]
    },
    command: ["npm run bench", ...(argv.length > 0 ? ["--", ...argv] : [])].join(" "),
    versions: {
      ours: readVersion("."),
      msal: readVersion("node_modules/@azure/msal-node"),
      effect: readVersion("node_modules/effect")
    },
    cacheHit: [],
    concurrency: [],
    heap: [],
    serialization: [],
    signatures: [],
    coldStart: [],
    totalSeconds: 0
  }
  try {
    if (enabled("cache-hit")) {
      log("1. cache hits")
      for (const size of SIZES) {
        for (const library of ["ours", "msal"] as const) {
          await authority.reset()
          const r = await worker<CacheHitResult>("cache-hit", library, authority.url, String(size))
          results.cacheHit.push({ ...r, authorityRequests: await authority.requestCount() })
        }
      }
    }
    if (enabled("obo-hit")) {
      log("1b. on-behalf-of cache hits")
      const oboHit: Array<OboHitResult & { readonly authorityRequests: number }> = []
      for (const users of OBO_USERS) {
        for (const library of ["ours", "msal"] as const) {
          await authority.reset()
          const r = await worker<OboHitResult>("obo-hit", library, authority.url, String(users))
          oboHit.push({ ...r, authorityRequests: await authority.requestCount() })
        }
      }
      results = { ...results, oboHit }
    }
    if (enabled("concurrency")) {
      log("2. concurrent cold calls")
      await authority.configure({ latency: "200 millis" })
      for (const calls of [100, 1000]) {
        for (
          const [library, mode] of [["ours", "runPromise"], ["ours", "Effect.all"], ["msal", "Promise.all"]] as const
        ) {
          await authority.reset()
          const r = await worker<ConcurrencyResult>("concurrency", library, authority.url, String(calls), mode)
          results.concurrency.push({ ...r, atAuthority: (await authority.tokenRequests(COLD_SCOPE)).count })
        }
      }
      await authority.configure({ latency: 0 })
    }
    if (enabled("heap")) {
      log("3. heap per token")
      results.heap.push(
        await worker<HeapResult>("heap", "ours", authority.url, String(HEAP_TOKENS), "deserialize"),
        await worker<HeapResult>("heap", "ours", authority.url, String(HEAP_TOKENS), "modify"),
        await worker<HeapResult>("heap", "msal", authority.url, String(HEAP_TOKENS), "deserialize"),
        await worker<HeapResult>("heap", "msal", authority.url, String(HEAP_TOKENS), "entries")
      )
    }
    if (enabled("serialization")) {
      log("4. serialise / deserialise")
      for (const library of ["ours", "msal"] as const) {
        results.serialization.push(
          await worker<SerializationResult>("serialization", library, authority.url, String(SERIAL_TOKENS))
        )
      }
    }
    if (enabled("signatures")) {
      log("5. signatures")
      for (const library of ["ours", "msal"] as const) {
        await authority.reset()
        const r = await worker<SignaturesResult>("signatures", library, authority.url)
        const seen = await authority.tokenRequests()
        results.signatures.push({ ...r, tokenRequests: seen.count, distinctAssertions: seen.distinctAssertions })
      }
    }
    if (enabled("cold-start")) {
      log("6. cold start")
      const bundles = await Bundle.coldBundles(JS, OUT)
      for (const bundled of [false, true]) {
        const runs: Record<Library, Array<ColdRun>> = { ours: [], msal: [] }
        for (let i = 0; i < COLD_RUNS; i++) {
          for (const library of ["ours", "msal"] as const) {
            await authority.reset()
            const { result, wallMillis } = await runNode(
              [bundled ? bundles[library] : join(JS, "bench", "cold", `${library}.js`), authority.url],
              `cold-${library}${bundled ? "-bundled" : ""}-${i}`
            )
            const r = result as Omit<ColdRun, "wall"> & { source: string }
            if (r.source !== "identity_provider")
              throw new Error(`cold start of ${library} did not reach the authority`)
            runs[library].push({ boot: r.boot, peers: r.peers, imported: r.imported, token: r.token, wall: wallMillis })
          }
        }
        results.coldStart.push({ library: "ours", bundled, runs: runs.ours }, {
          library: "msal",
          bundled,
          runs: runs.msal
        })
      }
    }
    log(`7. MSAL Python (${pythonPeer.available ? pythonPeer.version : pythonPeer.reason})`)
    python = await Python.measure(pythonPeer, {
      root: ROOT,
      out: OUT,
      authority,
      enabled,
      sizes: SIZES,
      heapTokens: HEAP_TOKENS,
      serialTokens: SERIAL_TOKENS,
      coldRuns: COLD_RUNS,
      log
    })
  } finally {
    await authority.close()
  }
  const final: Results = {
    ...results,
    python,
    machine: { ...results.machine, loadAverage: [results.machine.loadAverage[0], os.loadavg()[0] ?? 0] },
    totalSeconds: (performance.now() - started) / 1000
  }
  const markdown = `${Markdown.header(final)}\n\n${Markdown.render(final)}`
  process.stdout.write(`\n${markdown}\n`)
  writeFileSync(join(OUT, "results.json"), `${JSON.stringify(final, null, 2)}\n`)
  writeFileSync(join(OUT, "results.md"), `${markdown}\n`)
  if (final.cacheHit.length > 0) {
    writeFileSync(join(ROOT, "bench", "cache-hit.svg"), chart(final))
    log("wrote bench/cache-hit.svg")
  }
  if (flag("write")) writeBenchmarksMd(markdown)
}

const chart = (r: Results): string => {
  const points = (library: Library, run: string) =>
    r.cacheHit
      .filter((c) => c.library === library && c.runs[run] !== undefined)
      .sort((a, b) => a.size - b.size)
      .map((c) => [c.size, c.runs[run]!.median * 1000] as const)
  return Svg.render({
    title: "Cache-hit acquireTokenForClient: median latency vs cache size",
    subtitle: `${r.date} · ${r.machine.cpus} vCPU · Node ${r.machine.node} · log-log`,
    xLabel: "cached app tokens",
    yLabel: "median latency per call",
    formatX: (x) => x.toLocaleString("en-US"),
    formatY: (y) => (y >= 1e6 ? `${y / 1e6} s` : y >= 1000 ? `${y / 1000} ms` : `${y} µs`),
    series: [
      { name: `msal-node ${r.versions.msal}`, color: "#d9480f", points: points("msal", "promise") },
      { name: "effect-msal (runPromise)", color: "#1c7ed6", points: points("ours", "runPromise") },
      { name: "effect-msal (one fiber)", color: "#2b8a3e", dashed: true, points: points("ours", "fiber") }
    ]
  })
}

const START = "<!-- bench:results:start -->"
const END = "<!-- bench:results:end -->"

const writeBenchmarksMd = (markdown: string): void => {
  const path = join(ROOT, "BENCHMARKS.md")
  const text = readFileSync(path, "utf8")
  const a = text.indexOf(START)
  const b = text.indexOf(END)
  if (a < 0 || b < a) throw new Error(`BENCHMARKS.md has no ${START} … ${END} block`)
  writeFileSync(path, `${text.slice(0, a + START.length)}\n${markdown}\n${text.slice(b)}`)
  log("updated BENCHMARKS.md")
}

await main()
