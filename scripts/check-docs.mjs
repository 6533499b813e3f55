// `npm run typecheck` (and so CI): every ```ts sample of README.md and docs/*.md is a complete
// file that type-checks strictly against the sources (as `effect-msal` resolves in this
// repository), and the samples tagged `<!-- sample: run -->` run with exit status 0; when a run
// sample is followed by "It prints:" and a block, the output must be that block (ISO times
// may differ). The samples are written to .samples/ (git-ignored), named after their file
// and line, so tsc's errors point at them.
import { spawnSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { samples } from "./samples.mjs"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const out = join(root, ".samples")
const docs = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]
const only = process.argv.slice(2)

rmSync(out, { recursive: true, force: true })
mkdirSync(out)
const written = []
for (const doc of docs) {
  if (only.length > 0 && !only.includes(doc)) continue
  const text = readFileSync(join(root, doc), "utf8")
  const lines = text.split("\n")
  for (const sample of samples(text)) {
    const name = `${doc.replace(/\.md$/, "").replace(/[^A-Za-z0-9]+/g, "-")}-L${sample.line}.ts`
    writeFileSync(join(out, name), sample.code)
    // "It prints:" and a fenced block after the sample: its expected output
    const after = lines.slice(
      sample.line + sample.code.split("\n").length - 1,
      sample.line + sample.code.split("\n").length + 6
    )
    const at = after.findIndex((l) => /^It prints:\s*$/.test(l))
    let prints
    if (at !== -1) {
      const rest = after.slice(at + 1).join("\n") + "\n" +
        lines.slice(sample.line + sample.code.split("\n").length + 6).join("\n")
      const m = /^\s*```[a-z]*\n([\s\S]*?)\n```/.exec(rest)
      if (m) prints = m[1]
    }
    written.push({ doc, line: sample.line, name, run: sample.tags.includes("run"), prints })
  }
}
writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify(
    {
      extends: "../tsconfig.json",
      // a sample may define a layer it does not use; everything else is as strict as src/
      compilerOptions: { noUnusedLocals: false, noEmit: true },
      include: ["*.ts"]
    },
    null,
    2
  )
)

const tsc = spawnSync(process.execPath, [
  join(root, "node_modules/typescript/bin/tsc"),
  "-p",
  join(out, "tsconfig.json")
], {
  cwd: root,
  encoding: "utf8"
})
if (tsc.status !== 0) {
  console.error(tsc.stdout + tsc.stderr)
  console.error(
    "check-docs: the samples above do not type-check (each .samples/<doc>-L<line>.ts is the ```ts block at that line)"
  )
  process.exit(1)
}
console.log(`check-docs: ${written.length} samples type-check`)

const mask = (s) => s.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>").trim()
let failed = 0
for (const s of written.filter((w) => w.run)) {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(out, s.name)], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(out, "tsconfig.json"), NO_COLOR: "1" }
  })
  if (r.status !== 0) {
    failed++
    console.error(`check-docs: ${s.doc}:${s.line} exited ${r.status ?? r.signal}\n${r.stdout}${r.stderr}`)
  } else if (s.prints !== undefined && mask(r.stdout) !== mask(s.prints)) {
    failed++
    console.error(`check-docs: ${s.doc}:${s.line} printed\n${r.stdout}\nbut the doc says it prints\n${s.prints}`)
  } else {
    console.log(`check-docs: ran ${s.doc}:${s.line}`)
  }
}
if (failed > 0) process.exit(1)
