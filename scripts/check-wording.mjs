#!/usr/bin/env node
// Fails when a tracked text file speaks of "the seed" or points at a file the repository does
// not hold: the reference texts this project was built from are not shipped, so docs and
// comments cite MSAL Python, msal-node or the OAuth/OIDC RFCs instead.
//
// Checked: every file git knows (tracked, or new and not ignored) ending in .ts, .mts, .js,
// .mjs, .md or .json, except package-lock.json.
//   - "the seed", "seed's", "seeds'" anywhere; a bare "seed"/"seeds" in Markdown;
//   - an upper-case Markdown name (PROTOCOL.md, DESIGN.md, ...) or a docs/*.md path that is
//     not in the repository (on a line that names MSAL or GitHub, only the design notes this
//     project was written from are checked: such a line may cite another project's files);
//   - a relative Markdown link [text](path) whose target is not in the repository;
//   - paths of the machine the project was written on (/work/...).
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join, normalize } from "node:path"

const root = join(dirname(new URL(import.meta.url).pathname), "..")
process.chdir(root)

const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
  encoding: "utf8"
})
  .split("\0")
  .filter((f) => f !== "" && /\.(m?ts|m?js|md|json)$/.test(f) && f !== "package-lock.json" && existsSync(f))
  .filter((f) => f !== "scripts/check-wording.mjs")

const known = new Set(files.concat(execFileSync("git", ["ls-files", "-z"], { encoding: "utf8" }).split("\0")))
const exists = (p) => known.has(p) || existsSync(p)

const everywhere = [
  [/\bthe seeds?\b/i, "says \"the seed\": name MSAL Python, msal-node or the RFC"],
  [/\bseeds?'s?(?=\W)/i, "says \"seed's\": name MSAL Python, msal-node or the RFC"],
  [/\/work\/[\w.-]+/, "names a path of the build machine"]
]
/** The design notes this project was written from: never in the repository. */
const NEVER_SHIPPED = /(^|\/)(PROTOCOL|DESIGN|EFFECT|STYLE)\.md$/
const markdownOnly = [[/\bseeds?\b/i, "says \"seed\": name MSAL Python, msal-node or the RFC"]]

const problems = []
for (const file of files) {
  const lines = readFileSync(file, "utf8").split("\n")
  const isMarkdown = file.endsWith(".md")
  lines.forEach((line, i) => {
    const at = `${file}:${i + 1}`
    for (const [re, why] of isMarkdown ? everywhere.concat(markdownOnly) : everywhere) {
      if (re.test(line)) problems.push(`${at}: ${why}`)
    }
    // a line naming another project (MSAL .NET's docs/…, a GitHub path) may cite its files
    const foreign = /\bMSAL\b|msal-|github\.com|AzureAD\//.test(line)
    for (const m of line.matchAll(/(?<![\w./-])((?:[\w.-]+\/)*[A-Z][A-Z0-9_-]*\.md|docs\/[\w./-]+\.md)\b/g)) {
      const name = m[1]
      if (foreign && !NEVER_SHIPPED.test(name)) continue
      const candidates = [name, join(dirname(file), name)]
      if (!candidates.some(exists)) problems.push(`${at}: points at ${name}, which is not in the repository`)
    }
    if (isMarkdown) {
      for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1].split("#")[0]
        if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue
        const resolved = normalize(join(dirname(file), decodeURIComponent(target)))
        if (!exists(resolved)) problems.push(`${at}: links to ${m[1]}, which is not in the repository`)
      }
    }
  })
}

if (problems.length > 0) {
  console.error(problems.join("\n"))
  console.error(`check-wording: ${problems.length} problem(s)`)
  process.exit(1)
}
console.log(`check-wording: ${files.length} files clean`)
