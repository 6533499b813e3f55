// The TypeScript samples of README.md and docs/*.md, for scripts/check-docs.mjs and
// scripts/check-tarball.mjs. Every ```ts block is a complete file. An HTML comment on the line
// just before a block tags it (Markdown shows nothing of it):
//   <!-- sample: run -->                 run it too (it must exit 0 within 60 s)
//   <!-- sample: first-program run -->   also a name, for the scripts that look a sample up
const FENCE = /^```(ts|typescript)\s*$/

/**
 * The ```ts blocks of a Markdown text: `{ line, code, tags }`, `line` being the fence's
 * line number (1-based) and `tags` the words of the `<!-- sample: … -->` comment before it.
 */
export const samples = (markdown) => {
  const lines = markdown.split("\n")
  const found = []
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE.test(lines[i])) continue
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l))
    if (end === -1) throw new Error(`an unclosed \`\`\`ts block at line ${i + 1}`)
    const tag = /^<!--\s*sample:\s*(.*?)\s*-->\s*$/.exec(lines[i - 1] ?? "")
    found.push({ line: i + 1, code: `${lines.slice(i + 1, end).join("\n")}\n`, tags: tag ? tag[1].split(/\s+/) : [] })
    i = end
  }
  return found
}

/** The README's first program: the block tagged `first-program`. */
export const firstProgram = (readme) => {
  const [sample] = samples(readme).filter((s) => s.tags.includes("first-program"))
  if (sample === undefined) throw new Error("README.md has no sample tagged first-program")
  return sample.code
}

/** The repository files a Markdown text links to (relative links and images, no anchors). */
export const readmeLinks = (markdown) => {
  const links = new Set()
  for (const [, target] of markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z]+:/i.test(target) || target.startsWith("#")) continue
    links.add(target.split("#")[0].replace(/^\.\//, ""))
  }
  return [...links].filter((l) => l !== "")
}
