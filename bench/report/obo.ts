/** Section 1b of the report: on-behalf-of cache hits against the number of users. */
import type { Summary } from "../support/stats.js"
import { count, duration, ratio, table } from "./format.js"
import type { Results } from "./results.js"

const cell = (s: Summary | undefined): string =>
  s === undefined ? "–" : `${duration(s.median)} / ${duration(s.p99)} / ${count(s.perSecond)}`

/** The table, or nothing when the task did not run. */
export const render = (r: Results): Array<string> => {
  const runs = r.oboHit ?? []
  if (runs.length === 0) return []
  const users = Array.from(new Set(runs.map((o) => o.users))).sort((a, b) => a - b)
  const of = (library: "ours" | "msal", n: number) => runs.find((o) => o.library === library && o.users === n)
  const appFiber = r.cacheHit.find((c) => c.library === "ours" && c.size === 1)?.runs.fiber?.median
  const rows = users.map((n) => {
    const o = of("ours", n)
    const m = of("msal", n)
    const fiber = o?.runs.fiber?.median ?? Number.NaN
    return [
      count(n),
      cell(o?.runs.runPromise),
      cell(o?.runs.fiber),
      cell(m?.runs.promise),
      ratio(m?.runs.promise?.median ?? Number.NaN, o?.runs.runPromise?.median ?? Number.NaN),
      appFiber === undefined ? "–" : `${(fiber / appFiber).toFixed(2)}×`
    ]
  })
  const checks = runs.map((o) =>
    `${o.library === "ours" ? "effect-msal" : "msal-node"} ${count(o.users)}: ${count(o.cached)} cached, ${
      count(o.misses)
    } non-cache results, ${count(o.authorityRequests)} authority requests`
  )
  return [
    "### 1b. Cache-hit `acquireTokenOnBehalfOf` (one cached token per user)",
    "",
    "Median and p99 per call, calls per second; the measured call presents user 0's assertion (a JWT of about 900 characters). Columns as in section 1; ratio: msal-node ÷ ours (runPromise); last column: our fiber figure ÷ our app-token fiber figure at 1 token (target ≤ 2×).",
    "",
    table(["users", "ours runPromise", "ours fiber", "msal-node", "ratio runPromise", "÷ app-token hit"], rows),
    "",
    `Checks: ${checks.join("; ")}.`,
    ""
  ]
}
