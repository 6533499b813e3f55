#!/usr/bin/env node
// Fails when the modules under src/ import each other in a cycle at run time.
//
// An edge is a static import or re-export that survives compilation: `import type` and
// `export type` are left out (the compiler erases them); `import { type A }` counts, because
// with verbatimModuleSyntax it still loads the module. Dynamic `import()` is left out (it runs
// later, not while modules load). Only relative specifiers are followed; `./x.js` is the source
// file `./x.ts`.
//
//   node scripts/check-cycles.mjs [dir]     (default: src)
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import ts from "typescript"

const root = resolve(dirname(new URL(import.meta.url).pathname), "..")
const dir = resolve(root, process.argv[2] ?? "src")

const walk = (d) =>
  readdirSync(d).flatMap((name) => {
    const path = join(d, name)
    if (statSync(path).isDirectory()) return walk(path)
    return /\.(m|c)?ts$/.test(name) && !name.endsWith(".d.ts") ? [path] : []
  })

const resolveSpecifier = (from, specifier) => {
  if (!specifier.startsWith(".")) return undefined
  const base = resolve(dirname(from), specifier)
  const candidates = [
    base.replace(/\.(m|c)?js$/, (ext) => ext.replace("js", "ts")),
    base,
    `${base}.ts`,
    join(base, "index.ts")
  ]
  return candidates.find((c) => existsSync(c) && statSync(c).isFile())
}

/** The modules `file` loads when it is loaded. */
const valueImports = (file) => {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS)
  const out = []
  for (const statement of source.statements) {
    let specifier
    if (ts.isImportDeclaration(statement)) {
      if (statement.importClause?.isTypeOnly) continue
      specifier = statement.moduleSpecifier
    } else if (ts.isExportDeclaration(statement)) {
      if (statement.isTypeOnly || statement.moduleSpecifier === undefined) continue
      specifier = statement.moduleSpecifier
    } else if (ts.isImportEqualsDeclaration(statement)) {
      if (statement.isTypeOnly || !ts.isExternalModuleReference(statement.moduleReference)) continue
      specifier = statement.moduleReference.expression
    }
    if (specifier === undefined || !ts.isStringLiteral(specifier)) continue
    const target = resolveSpecifier(file, specifier.text)
    if (target !== undefined) out.push(target)
  }
  return out
}

const files = walk(dir)
const graph = new Map(files.map((f) => [f, valueImports(f)]))

// Tarjan's strongly connected components; a component of two or more modules (or a module
// importing itself) is a cycle.
let index = 0
const indices = new Map()
const low = new Map()
const stack = []
const onStack = new Set()
const components = []
const connect = (v) => {
  indices.set(v, index)
  low.set(v, index)
  index++
  stack.push(v)
  onStack.add(v)
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue
    if (!indices.has(w)) {
      connect(w)
      low.set(v, Math.min(low.get(v), low.get(w)))
    } else if (onStack.has(w)) {
      low.set(v, Math.min(low.get(v), indices.get(w)))
    }
  }
  if (low.get(v) === indices.get(v)) {
    const component = []
    let w
    do {
      w = stack.pop()
      onStack.delete(w)
      component.push(w)
    } while (w !== v)
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component)
  }
}
for (const f of files) if (!indices.has(f)) connect(f)

/** One cycle through the component, as a readable path. */
const cycleIn = (component) => {
  const members = new Set(component)
  const start = component.slice().sort()[0]
  const previous = new Map([[start, undefined]])
  const queue = [start]
  while (queue.length > 0) {
    const v = queue.shift()
    for (const w of graph.get(v) ?? []) {
      if (w === start) {
        const path = [start]
        for (let u = v; u !== undefined && u !== start; u = previous.get(u)) path.splice(1, 0, u)
        return [...path, start]
      }
      if (members.has(w) && !previous.has(w)) {
        previous.set(w, v)
        queue.push(w)
      }
    }
  }
  return component
}

if (components.length > 0) {
  for (const component of components) {
    console.error(`value-import cycle: ${cycleIn(component).map((f) => relative(root, f)).join(" -> ")}`)
  }
  console.error(`check-cycles: ${components.length} cycle(s) among ${files.length} modules`)
  process.exit(1)
}
console.log(`check-cycles: no value-import cycle among ${files.length} modules`)
