#!/usr/bin/env node
// Fails when a function in src/ is longer than eslint.config.mjs allows (60 lines, blank and
// comment lines not counted): ESLint's max-lines-per-function alone, without the other rules,
// so it can gate CI before the whole tree is lint-clean.
import { ESLint } from "eslint"
import { dirname, join, relative } from "node:path"
import tseslint from "typescript-eslint"
import { functionLength } from "../eslint.config.mjs"

const root = join(dirname(new URL(import.meta.url).pathname), "..")
const eslint = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: [{
    files: ["**/*.ts"],
    languageOptions: { parser: tseslint.parser },
    rules: { "max-lines-per-function": functionLength }
  }]
})
const results = await eslint.lintFiles(["src/**/*.ts"])
const problems = results.flatMap((r) => r.messages.map((m) => `${relative(root, r.filePath)}:${m.line}: ${m.message}`))
if (problems.length > 0) {
  console.error(problems.join("\n"))
  console.error(`check-functions: ${problems.length} function(s) over ${functionLength[1].max} lines`)
  process.exit(1)
}
console.log(`check-functions: no function over ${functionLength[1].max} lines in ${results.length} files`)
