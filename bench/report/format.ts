/** Number formatting for the tables. */

/** A duration in milliseconds, with a unit that suits it. */
export const duration = (ms: number): string => {
  if (!Number.isFinite(ms)) return "–"
  if (ms < 0.001) return `${(ms * 1e6).toFixed(0)} ns`
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`
  if (ms < 1000) return `${ms.toPrecision(3)} ms`
  return `${(ms / 1000).toPrecision(3)} s`
}

export const count = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–")

export const bytes = (n: number): string => {
  if (!Number.isFinite(n)) return "–"
  if (Math.abs(n) < 10_240) return `${Math.round(n).toLocaleString("en-US")} B`
  if (Math.abs(n) < 10_485_760) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1_048_576).toFixed(1)} MiB`
}

/** `other / ours` as "×N": how many times smaller (better) ours is; below 1 ours is worse. */
export const ratio = (other: number, ours: number): string => {
  if (!Number.isFinite(other) || !Number.isFinite(ours) || ours === 0 || other === 0) return "–"
  const r = other / ours
  return `×${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}`
}

export const table = (
  head: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  align?: string
): string => {
  const sep = head.map((_, i) => (align?.[i] === "l" ? "---" : "---:"))
  return [head, sep, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n")
}
