/** The side-by-side tables and the targets of issue 8, as Markdown. */
import { median } from "../support/stats.js"
import { bytes, count, duration, ratio, table } from "./format.js"
import * as Obo from "./obo.js"
import * as Python from "./python.js"
import type { Library, Results } from "./results.js"

const LABEL: Record<Library, string> = { ours: "effect-msal", msal: "msal-node" }

export interface Target {
  readonly target: string
  readonly measured: string
  readonly met: boolean | "pending"
}

const hit = (r: Results, library: Library, size: number) =>
  r.cacheHit.find((c) => c.library === library && c.size === size)

export const targets = (r: Results): Array<Target> => {
  const out: Array<Target> = []
  const ours1 = hit(r, "ours", 1)
  const msal1 = hit(r, "msal", 1)
  if (ours1 !== undefined && msal1 !== undefined) {
    const m = msal1.runs.promise!.median
    for (const mode of ["runPromise", "fiber"] as const) {
      const o = ours1.runs[mode]!.median
      out.push({
        target: `cache hit at 1 token ≥ 2× faster than msal-node (${mode})`,
        measured: `${duration(o)} vs ${duration(m)} (${ratio(m, o)})`,
        met: m / o >= 2
      })
    }
  }
  const ours100k = hit(r, "ours", 100_000)
  if (ours1 !== undefined && ours100k !== undefined) {
    for (const mode of ["runPromise", "fiber"] as const) {
      const a = ours1.runs[mode]!.median
      const b = ours100k.runs[mode]!.median
      out.push({
        target: `cache hit at 100,000 tokens within 2× of our 1-token figure (${mode})`,
        measured: `${duration(b)} vs ${duration(a)} (${(b / a).toFixed(2)}×)`,
        met: b <= 2 * a
      })
    }
  }
  for (const c of r.concurrency.filter((c) => c.library === "ours")) {
    out.push({
      target: `exactly 1 request for ${count(c.calls)} concurrent cold calls (${c.mode})`,
      measured: `${count(c.atAuthority)} request(s), ${count(c.succeeded)}/${count(c.calls)} succeeded`,
      met: c.atAuthority === 1 && c.failed === 0
    })
  }
  const heapOurs = r.heap.find((h) => h.library === "ours" && h.path === "deserialize")
  // the stricter comparison: msal-node's entries alone, without the JSON copy it keeps
  const heapMsal = r.heap.find((h) => h.library === "msal" && h.path === "entries") ??
    r.heap.find((h) => h.library === "msal")
  if (heapOurs !== undefined && heapMsal !== undefined) {
    out.push({
      target: `heap per cached token no worse than msal-node (${
        heapMsal.path === "entries" ? "its entries alone" : "after deserialize"
      })`,
      measured: `${bytes(heapOurs.bytesPerToken)} vs ${bytes(heapMsal.bytesPerToken)}`,
      met: heapOurs.bytesPerToken <= heapMsal.bytesPerToken
    })
  }
  const so = r.serialization.find((s) => s.library === "ours")
  const sm = r.serialization.find((s) => s.library === "msal")
  if (so !== undefined && sm !== undefined) {
    out.push(
      {
        target: `deserialise ${count(so.tokens)} tokens no slower than msal-node`,
        measured: `${duration(so.deserialize)} vs ${duration(sm.deserialize)}`,
        met: so.deserialize <= sm.deserialize
      },
      {
        target: `serialise ${count(so.tokens)} tokens no slower than msal-node`,
        measured: `${duration(so.serialize)} vs ${duration(sm.serialize)}`,
        met: so.serialize <= sm.serialize
      }
    )
  }
  const sig = r.signatures.find((s) => s.library === "ours")
  if (sig !== undefined) {
    const allowed = Math.floor((sig.simulatedMinutes * 60) / 600) + 1
    out.push({
      target:
        `at most one signature per assertion lifetime per audience (≤ ${allowed} over ${sig.simulatedMinutes} min)`,
      measured: sig.status === "pending"
        ? "pending: certificate credential not available yet"
        : `${count(sig.distinctAssertions)} assertions, ${count(sig.signCalls)} signing calls`,
      met: sig.status === "pending"
        ? "pending"
        : Math.max(sig.distinctAssertions, sig.signCalls) <= allowed && sig.succeeded === sig.requests
    })
  }
  return out
}

const mark = (met: Target["met"]): string => (met === "pending" ? "pending" : met ? "met" : "**missed**")

export const render = (r: Results): string => {
  const s: Array<string> = []
  const sizes = Array.from(new Set(r.cacheHit.map((c) => c.size))).sort((a, b) => a - b)
  if (sizes.length > 0) {
    s.push("### 1. Cache-hit `acquireTokenForClient`", "")
    s.push(
      "Median and p99 per call, calls per second (one caller, back to back). `runPromise`: one `ManagedRuntime.runPromise` per call; `fiber`: a loop inside one running fiber. msal-node: one awaited `acquireTokenByClientCredential` per call. Ratio: msal-node ÷ ours (above 1: ours is faster).",
      ""
    )
    const rows = sizes.map((size) => {
      const o = hit(r, "ours", size)
      const m = hit(r, "msal", size)
      const rp = o?.runs.runPromise
      const fb = o?.runs.fiber
      const mp = m?.runs.promise
      const cell = (
        x: typeof rp
      ) => (x === undefined ? "–" : `${duration(x.median)} / ${duration(x.p99)} / ${count(x.perSecond)}`)
      return [
        count(size),
        cell(rp),
        cell(fb),
        cell(mp) + (mp !== undefined && mp.bound === "time" && mp.samples < 1000 ? ` (${mp.samples} calls)` : ""),
        rp !== undefined && mp !== undefined ? ratio(mp.median, rp.median) : "–",
        fb !== undefined && mp !== undefined ? ratio(mp.median, fb.median) : "–"
      ]
    })
    s.push(
      table(
        [
          "cached tokens",
          "ours runPromise (median / p99 / calls/s)",
          "ours fiber (median / p99 / calls/s)",
          "msal-node (median / p99 / calls/s)",
          "ratio runPromise",
          "ratio fiber"
        ],
        rows,
        "l"
      ),
      ""
    )
    const checks = r.cacheHit.map((c) =>
      `${LABEL[c.library]} ${count(c.size)}: ${
        count(c.cached)
      } cached, ${c.misses} non-cache results, ${c.authorityRequests} authority requests, filled in ${
        duration(c.populateMillis)
      }`
    )
    s.push(
      `Checks (each measured call was a cache hit, the caches really held that many tokens): ${checks.join("; ")}.`,
      ""
    )
  }
  s.push(...Obo.render(r))
  if (r.concurrency.length > 0) {
    s.push("### 2. Concurrent first calls (one uncached scope, authority answers after 200 ms)", "")
    s.push(
      "Requests for that scope that reached the authority; wall time of the burst; CPU time of the client process during it. Ours: `runPromise` = n independent `runtime.runPromise` calls joined with `Promise.all` (n concurrent handlers of a server); `Effect.all` = one fiber forking n (`concurrency: \"unbounded\"`). msal-node: n `acquireTokenByClientCredential` joined with `Promise.allSettled`. Ratio: msal-node ÷ ours (runPromise).",
      ""
    )
    const calls = Array.from(new Set(r.concurrency.map((c) => c.calls))).sort((a, b) => a - b)
    const cell = (c: Results["concurrency"][number] | undefined) =>
      c === undefined
        ? "–"
        : `${count(c.atAuthority)} req, ${duration(c.wallMillis)} wall, ${duration(c.cpuMillis)} CPU${
          c.failed > 0 ? `, ${c.failed} failed (${c.firstError ?? ""})` : ""
        }`
    const rows = calls.map((n) => {
      const o = r.concurrency.find((c) => c.library === "ours" && c.calls === n && c.mode === "runPromise")
      const a = r.concurrency.find((c) => c.library === "ours" && c.calls === n && c.mode === "Effect.all")
      const m = r.concurrency.find((c) => c.library === "msal" && c.calls === n)
      return [
        count(n),
        cell(o),
        cell(a),
        cell(m),
        o !== undefined && m !== undefined ? ratio(m.atAuthority, o.atAuthority) : "–",
        o !== undefined && m !== undefined ? ratio(m.wallMillis, o.wallMillis) : "–",
        o !== undefined && m !== undefined ? ratio(m.cpuMillis, o.cpuMillis) : "–"
      ]
    })
    s.push(
      table(
        [
          "concurrent calls",
          "ours runPromise",
          "ours Effect.all",
          "msal-node",
          "ratio requests",
          "ratio wall",
          "ratio CPU"
        ],
        rows,
        "l"
      ),
      ""
    )
  }
  if (r.heap.length > 0) {
    s.push("### 3. Heap per cached app token (830-character access tokens, GC forced before and after)", "")
    const m = r.heap.find((h) => h.library === "msal" && h.path === "entries") ??
      r.heap.find((h) => h.library === "msal")
    const how = {
      deserialize: "after deserialize",
      modify: "TokenCache.modify",
      entries: "entries alone: deserialize, then deserialize(\"\")"
    }
    s.push(
      "msal-node keeps a copy of the JSON string it was given after `deserialize` (its `cacheSnapshot`); the `entries alone` row drops it with `deserialize(\"\")`, which leaves the entries in place. Ratio: against that row.",
      ""
    )
    const rows = r.heap.map((h) => [
      `${LABEL[h.library]} (${how[h.path]})`,
      count(h.tokens),
      count(h.cached),
      bytes(h.heapAfter - h.heapBefore),
      bytes(h.bytesPerToken),
      m === undefined ? "–" : ratio(m.bytesPerToken, h.bytesPerToken)
    ])
    s.push(
      table(["library (how filled)", "tokens", "cached", "heap growth", "bytes per token", "ratio"], rows, "l"),
      ""
    )
  }
  if (r.serialization.length > 0) {
    s.push("### 4. Serialise and deserialise", "")
    const o = r.serialization.find((x) => x.library === "ours")
    const m = r.serialization.find((x) => x.library === "msal")
    const rows = [o, m].flatMap((x) =>
      x === undefined ? [] : [[
        LABEL[x.library],
        count(x.tokens),
        duration(x.deserialize),
        duration(x.serialize),
        bytes(x.outputBytes),
        count(x.roundTripped)
      ]]
    )
    if (o !== undefined && m !== undefined)
      rows.push(["ratio", "", ratio(m.deserialize, o.deserialize), ratio(m.serialize, o.serialize), "", ""])
    s.push(
      table(
        ["library", "tokens", "deserialize (median)", "serialize (median)", "output size", "tokens in output"],
        rows,
        "l"
      ),
      ""
    )
  }
  if (r.signatures.length > 0) {
    s.push("### 5. Signatures per 1,000 certificate-credential token requests over 30 simulated minutes", "")
    const rows = r.signatures.map((x) =>
      x.status === "pending"
        ? [LABEL[x.library], "pending", "–", "–", "–", x.note ?? ""]
        : [
          LABEL[x.library],
          count(x.requests),
          count(x.tokenRequests),
          count(x.distinctAssertions),
          count(x.signCalls),
          `${count(x.succeeded)} succeeded`
        ]
    )
    s.push(
      table(
        [
          "library",
          "requests",
          "token requests at authority",
          "distinct assertions at authority",
          "signing calls in process",
          "note"
        ],
        rows,
        "l"
      ),
      ""
    )
  }
  if (r.coldStart.length > 0) {
    s.push("### 6. Cold start (process start → import → first token from the local authority)", "")
    const med = (lib: Library, f: (x: Results["coldStart"][number]["runs"][number]) => number) => {
      const runs = r.coldStart.find((c) => c.library === lib && c.bundled !== true)?.runs ?? []
      return runs.length === 0 ? Number.NaN : median(runs.map(f))
    }
    const metric = (name: string, f: (x: Results["coldStart"][number]["runs"][number]) => number) => {
      const o = med("ours", f)
      const m = med("msal", f)
      return [name, duration(o), duration(m), ratio(m, o)]
    }
    const runs = r.coldStart[0]?.runs.length ?? 0
    s.push(
      `Median of ${runs} runs per library, each a fresh \`node\` process running transpiled JavaScript.`,
      "",
      table(["phase", "ours", "msal-node", "ratio"], [
        metric("node bootstrap (to first script line)", (x) => x.boot),
        metric("import of effect + @effect/platform (peer dependencies)", (x) => x.peers - x.boot),
        metric("import of the library itself", (x) => x.imported - x.peers),
        metric("import, all", (x) => x.imported - x.boot),
        metric("client built + first token", (x) => x.token - x.imported),
        metric("process start → first token", (x) => x.token),
        metric("spawn → exit (parent's view)", (x) => x.wall)
      ], "l"),
      ""
    )
  }
  const python = Python.render(r)
  if (python !== "") s.push(python)
  const t = targets(r)
  if (t.length > 0) {
    s.push(
      "### Targets (issue 8)",
      "",
      table(
        ["target", "measured (ours vs msal-node)", "status"],
        t.map((x) => [x.target, x.measured, mark(x.met)]),
        "l"
      ),
      ""
    )
  }
  return s.join("\n")
}

export const header = (r: Results): string =>
  [
    `- Date: ${r.date}`,
    `- Machine: ${r.machine.cpus} vCPU (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, ${r.machine.platform}, Node ${r.machine.node}; 1-minute load average ${
      r.machine.loadAverage[0].toFixed(1)
    } at the start, ${r.machine.loadAverage[1].toFixed(1)} at the end`,
    `- Versions: effect-msal ${r.versions.ours} (effect ${r.versions.effect}), @azure/msal-node ${r.versions.msal}, MSAL Python ${
      r.python === undefined ? "not run" : r.python.peer.available ? r.python.peer.version : "missing"
    }`,
    `- Command: \`${r.command}\` (total ${r.totalSeconds.toFixed(0)} s)`
  ].join("\n")
