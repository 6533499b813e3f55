/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): the functions with the most self time and
 * the most inclusive time. Usage: node --import tsx bench/profile.ts <file.cpuprofile> [top]
 */
import { readFileSync } from "node:fs"

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [file, topArg] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: bench/profile.ts <file.cpuprofile> [top]")
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const label = (n: Node): string => {
  const f = n.callFrame
  const where = f.url === ""
    ? ""
    : ` ${f.url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "~/").replace(/^.*\/work\/main\//, "")}:${
      f.lineNumber + 1
    }`
  return `${f.functionName === "" ? "(anonymous)" : f.functionName}${where}`
}

const self = new Map<string, number>()
const inclusive = new Map<string, number>()
let total = 0
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0
  total += dt
  const node = byId.get(id)
  if (node === undefined) return
  self.set(label(node), (self.get(label(node)) ?? 0) + dt)
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!)
    if (seen.has(l)) continue
    seen.add(l)
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt)
  }
})

const print = (title: string, m: Map<string, number>): void => {
  process.stdout.write(`\n${title} (of ${(total / 1000).toFixed(0)} ms sampled)\n`)
  for (const [name, us] of Array.from(m).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(
      `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${name}\n`
    )
  }
}

print("self time", self)
print("inclusive time", inclusive)
