/**
 * Where the import time of effect-msal goes: `node --import tsx bench/cold/shares.ts [runs]`.
 *
 * Each run is a fresh `node` process (plain JavaScript, transpiled by bench/support/build.ts)
 * that imports, one after the other and timed apart: effect's core (`effect/Effect`, `Layer`,
 * `Redacted`), fast-check (which `effect/Schema` imports through `effect/Arbitrary`), the rest of
 * `effect/Schema`, `@effect/platform`'s HTTP client (which imports `effect/Schema` too), then
 * effect-msal itself (with the few effect modules only it uses). An ES-module `load` hook counts
 * the modules each stage loads. msal-node's import runs in its own processes, alternated with
 * ours, for the ratio. Each stage is timed as CPU time of the process (`process.cpuUsage`, less
 * moved by other work on a shared machine than wall time) and as wall time; medians of `runs`
 * (default 7). Nothing here is a test.
 */
import { spawnSync } from "node:child_process"
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"

const STAGES: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
  [
    "effect core (Effect, Layer, Redacted)",
    () => Promise.all([import("effect/Effect"), import("effect/Layer"), import("effect/Redacted")])
  ],
  ["fast-check (via effect/Arbitrary)", () => import("effect/FastCheck")],
  ["rest of effect/Schema", () => import("effect/Schema")],
  [
    "@effect/platform HttpClient + FetchHttpClient",
    () => Promise.all([import("@effect/platform/HttpClient"), import("@effect/platform/FetchHttpClient")])
  ],
  ["effect-msal itself", () => import("effect-msal")],
  ["msal-node", () => import("@azure/msal-node")]
]

const child = async (which: "ours" | "msal", countFile: string | undefined): Promise<void> => {
  const cpu = (): number => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }
  const times: Array<readonly [number, number]> = [[cpu(), performance.now()]]
  for (const [name, load] of which === "ours" ? STAGES.slice(0, -1) : STAGES.slice(-1)) {
    await load()
    times.push([cpu(), performance.now()])
    if (countFile !== undefined) appendFileSync(countFile, `@@stage ${name}\n`)
  }
  process.stdout.write(`@@bench ${JSON.stringify(times)}\n`)
}

const hooks = (file: string): string =>
  `data:text/javascript,${
    encodeURIComponent(
      `import { appendFileSync } from "node:fs"\nexport async function load(url, context, next) {\n  appendFileSync(${
        JSON.stringify(file)
      }, "m\\n")\n  return next(url, context)\n}`
    )
  }`

type Stamp = readonly [cpu: number, wall: number]

const run = (js: string, which: string, countFile?: string): Array<Stamp> => {
  const args = countFile === undefined ?
    [] :
    [
      "--import",
      `data:text/javascript,${
        encodeURIComponent(`import { register } from "node:module"; register(${JSON.stringify(hooks(countFile))})`)
      }`
    ]
  const r = spawnSync(process.execPath, [...args, js, "child", which, countFile ?? ""], { encoding: "utf8" })
  const line = r.stdout.split("\n").find((l) => l.startsWith("@@bench "))
  if (line === undefined) throw new Error(`shares child failed: ${r.stderr}`)
  return JSON.parse(line.slice(8)) as Array<Stamp>
}

/** CPU and wall milliseconds of each stage. */
const deltas = (stamps: ReadonlyArray<Stamp>): Array<Stamp> =>
  stamps.slice(1).map(([c, w], k) => [c - stamps[k]![0], w - stamps[k]![1]] as const)

const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!

const main = async (): Promise<void> => {
  const { build } = await import("../support/build.js")
  const root = fileURLToPath(new URL("../..", import.meta.url))
  const js = join(build(root), "bench", "cold", "shares.js")
  const runs = Number(process.argv[2] ?? 7)
  const ours: Array<Array<Stamp>> = []
  const msal: Array<Stamp> = []
  for (let i = 0; i < runs; i++) {
    ours.push(deltas(run(js, "ours")))
    msal.push(deltas(run(js, "msal"))[0]!)
  }
  const dir = mkdtempSync(join(tmpdir(), "shares-"))
  const countFile = join(dir, "loads.txt")
  run(js, "ours", countFile)
  const counts = readFileSync(countFile, "utf8").split("@@stage ").map((s) => s.split("m\n").length - 1)
  rmSync(dir, { recursive: true, force: true })
  const m = [median(msal.map((x) => x[0])), median(msal.map((x) => x[1]))] as const
  const sum = (o: ReadonlyArray<Stamp>, i: 0 | 1) => o.reduce((a, b) => a + b[i], 0)
  const total = [median(ours.map((o) => sum(o, 0))), median(ours.map((o) => sum(o, 1)))] as const
  const row = (name: string, modules: string, cpu: number, wall: number) =>
    `| ${name} | ${modules} | ${cpu.toFixed(0)} ms | ${((100 * cpu) / total[0]).toFixed(0)} % | ×${
      (cpu / m[0]).toFixed(2)
    } | ${wall.toFixed(0)} ms |`
  const rows = STAGES.slice(0, -1).map(([name], k) =>
    row(name, String(counts[k]), median(ours.map((o) => o[k]![0])), median(ours.map((o) => o[k]![1])))
  )
  process.stdout.write(
    [
      `| stage (imported in this order) | modules | CPU, median | share of CPU | CPU ÷ msal-node's | wall, median |`,
      `| --- | ---: | ---: | ---: | ---: | ---: |`,
      ...rows,
      row("all of ours", "", total[0], total[1]),
      row("msal-node (import)", "", m[0], m[1]),
      ""
    ].join("\n")
  )
}

if (process.argv[2] === "child") await child(process.argv[3] === "msal" ? "msal" : "ours", process.argv[4] || undefined)
else await main()
