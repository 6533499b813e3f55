/**
 * Transpiles the library (src/) and the bench (bench/) to plain JavaScript under
 * .bench-out/js: every measurement runs in plain `node`, as users run the library, without a
 * TypeScript loader (its hooks thread, its source maps) in the way. `effect-msal` imports
 * point at the transpiled src/. Types are not checked here (`npm run typecheck` does that).
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import ts from "typescript"

const listTs = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return listTs(path)
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : []
  })

const OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2022,
  verbatimModuleSyntax: true,
  sourceMap: false
}

/** Writes the JavaScript and returns the directory it went to. */
export const build = (root: string): string => {
  const out = join(root, ".bench-out", "js")
  const entry = join(out, "src", "index.js")
  const files = [...listTs(join(root, "src")), ...listTs(join(root, "bench"))]
  for (const file of files) {
    const target = join(out, relative(root, file)).replace(/\.ts$/, ".js")
    let specifier = relative(dirname(target), entry)
    if (!specifier.startsWith(".")) specifier = `./${specifier}`
    const js = ts.transpileModule(readFileSync(file, "utf8"), { compilerOptions: OPTIONS, fileName: file }).outputText
      .replaceAll(`"effect-msal"`, JSON.stringify(specifier))
      // subpath imports ("effect-msal/TestAuthority") go to the transpiled src/ too, not to dist/
      .replaceAll(
        /"effect-msal\/(\w+)"/g,
        (_, name: string) => JSON.stringify(specifier.replace(/index\.js$/, `${name}.js`))
      )
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, js)
  }
  return out
}
