/** Every figure of the run with three columns: msal-node, MSAL Python and effect-msal. */
import { median } from "../support/stats.js"
import { bytes, count, duration, table } from "./format.js"
import type { ColdRun, Library, Results } from "./results.js"

const coldMedian = (runs: ReadonlyArray<ColdRun>, f: (x: ColdRun) => number): number =>
  runs.length === 0 ? Number.NaN : median(runs.map(f))

/** The three-column table, or a line saying why MSAL Python is missing. */
export const render = (r: Results): string => {
  const py = r.python
  if (py === undefined) return ""
  const missing = py.peer.available ? undefined : `missing (${py.peer.reason})`
  const cell = (value: string | undefined): string => missing ?? value ?? "–"
  const rows: Array<Array<string>> = []
  const hit = (library: Library, size: number) => r.cacheHit.find((c) => c.library === library && c.size === size)
  for (const size of Array.from(new Set(r.cacheHit.map((c) => c.size))).sort((a, b) => a - b)) {
    const ours = hit("ours", size)
    const p = py.cacheHit.find((c) => c.size === size)
    const calls = p !== undefined && p.runs.silent.bound === "time" && p.runs.silent.samples < 1000
      ? ` (${count(p.runs.silent.samples)} calls)`
      : ""
    rows.push([
      `cache hit at ${count(size)} token(s), median`,
      duration(hit("msal", size)?.runs.promise?.median ?? Number.NaN),
      cell(p === undefined ? undefined : `${duration(p.runs.silent.median)}${calls}`),
      ours === undefined
        ? "–"
        : `${duration(ours.runs.runPromise?.median ?? Number.NaN)} / ${
          duration(ours.runs.fiber?.median ?? Number.NaN)
        } (runPromise / fiber)`
    ])
  }
  for (const users of Array.from(new Set((r.oboHit ?? []).map((c) => c.users))).sort((a, b) => a - b)) {
    const of = (library: Library) => r.oboHit?.find((c) => c.library === library && c.users === users)
    const ours = of("ours")
    rows.push([
      `on-behalf-of cache hit at ${count(users)} user(s), median`,
      duration(of("msal")?.runs.promise?.median ?? Number.NaN),
      cell("no cache hit: 1.21's acquire_token_on_behalf_of always sends a request"),
      ours === undefined
        ? "–"
        : `${duration(ours.runs.runPromise?.median ?? Number.NaN)} / ${
          duration(ours.runs.fiber?.median ?? Number.NaN)
        } (runPromise / fiber)`
    ])
  }
  for (const calls of Array.from(new Set(r.concurrency.map((c) => c.calls))).sort((a, b) => a - b)) {
    const of = (library: Library, mode: string) =>
      r.concurrency.find((c) => c.library === library && c.calls === calls && c.mode === mode)
    const p = py.concurrency.find((c) => c.calls === calls)
    rows.push([
      `${count(calls)} concurrent cold calls → token requests`,
      count(of("msal", "Promise.all")?.atAuthority ?? Number.NaN),
      cell(p === undefined ? undefined : `${count(p.atAuthority)} (${count(p.succeeded)} succeeded)`),
      count(of("ours", "runPromise")?.atAuthority ?? Number.NaN)
    ])
  }
  const so = r.serialization.find((s) => s.library === "ours")
  const sm = r.serialization.find((s) => s.library === "msal")
  const sp = py.serialization[0]
  if (so !== undefined || sm !== undefined) {
    for (const way of ["deserialize", "serialize"] as const) {
      rows.push([
        `${way} ${count(so?.tokens ?? sm?.tokens ?? Number.NaN)} tokens, median`,
        duration(sm?.[way] ?? Number.NaN),
        cell(sp === undefined ? undefined : duration(sp[way])),
        duration(so?.[way] ?? Number.NaN)
      ])
    }
  }
  const heapOf = (library: Library, path: string) => r.heap.find((h) => h.library === library && h.path === path)
  if (r.heap.length > 0) {
    rows.push([
      "heap per cached app token (after deserialize)",
      `${bytes(heapOf("msal", "entries")?.bytesPerToken ?? Number.NaN)} (entries alone)`,
      cell(py.heap[0] === undefined ? undefined : bytes(py.heap[0].bytesPerToken)),
      bytes(heapOf("ours", "deserialize")?.bytesPerToken ?? Number.NaN)
    ])
  }
  const cold = (library: Library, bundled: boolean) =>
    r.coldStart.find((c) => c.library === library && (c.bundled === true) === bundled)?.runs ?? []
  if (r.coldStart.length > 0) {
    const phase = (name: string, bundled: boolean, f: (x: ColdRun) => number) => [
      name,
      duration(coldMedian(cold("msal", bundled), f)),
      bundled ? "–" : cell(py.coldStart.length === 0 ? undefined : duration(coldMedian(py.coldStart, f))),
      duration(coldMedian(cold("ours", bundled), f))
    ]
    const imported = (x: ColdRun) => x.imported - x.boot
    rows.push(
      phase("cold start: import of the package (ours: with effect and @effect/platform)", false, imported),
      phase("cold start: process start → first token", false, (x) => x.token),
      phase("cold start, esbuild bundle: import of the package", true, imported),
      phase("cold start, esbuild bundle: process start → first token", true, (x) => x.token)
    )
  }
  if (rows.length === 0) return ""
  const version = py.peer.available ? `MSAL Python ${py.peer.version}` : "MSAL Python"
  return [
    `### 7. Three libraries side by side (${version}, same authority, same run)`,
    "",
    "MSAL Python is Debian's `python3-msal` under `/usr/bin/python3`, driven by `bench/python/msal_bench.py` with an `http_client` that sends every request to the local authority. Its cache hit is `acquire_token_silent(scopes, account=None)` (1.21's `acquire_token_for_client` never reads the cache); its concurrent calls are threads, each silent first and then `acquire_token_for_client`; its heap is `tracemalloc`'s growth; its cold start counts from the parent's spawn (Node's from `performance.timeOrigin`) and includes its instance and tenant discovery requests (msal-node's metadata is inline, ours is known for Entra hosts). The esbuild-bundle rows run each Node library's cold-start script bundled into one file (bench/support/bundle.ts). MSAL Python 1.21's `acquire_token_on_behalf_of` always sends a request, so it has no on-behalf-of cache hit to measure.",
    "",
    table(["figure", "msal-node", version, "effect-msal"], rows, "l"),
    ""
  ].join("\n")
}
