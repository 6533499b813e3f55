// `npm run build`, after tsc: bundles the command-line parser (@effect/cli, with its own peers
// @effect/printer, @effect/printer-ansi, @effect/typeclass and its dependencies yaml, toml, ini)
// into dist/bin/effect-msal.js, so the package's users install none of it and the bin runs
// whatever their package manager does with peers (npm --legacy-peer-deps, pnpm, Yarn).
// Everything the package declares (dependencies, peers) and the package's own modules stay
// imports: the bin shares effect, @effect/platform and the library with the user's program,
// and each command's code is still loaded only when it runs.
import * as esbuild from "esbuild"
import { readFileSync, rmSync } from "node:fs"
import { builtinModules } from "node:module"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const dist = join(root, "dist")
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})])
const packageName = (spec) => spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/")

// tsc's output that imports @effect/cli: bundled into the bin, then removed from dist
const bundled = ["internal/cli/main", "internal/cli/runtime"].map((m) => join(dist, `${m}.js`))
const entry = join(dist, "bin", "effect-msal.js")
const outdir = dirname(entry)

const keepImports = {
  name: "keep-imports",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === "entry-point") return undefined
      const spec = args.path
      if (spec.startsWith("node:") || builtinModules.includes(spec)) return { path: spec, external: true }
      if (spec.startsWith(".")) {
        const target = resolve(args.resolveDir, spec)
        if (!target.startsWith(dist + sep)) return undefined // inside a bundled package
        if (bundled.includes(target)) return { path: target }
        const rel = relative(outdir, target).split(sep).join("/")
        return { path: rel.startsWith(".") ? rel : `./${rel}`, external: true }
      }
      if (declared.has(packageName(spec))) return { path: spec, external: true }
      return undefined // a package only the CLI uses: bundled
    })
  }
}

const result = await esbuild.build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  plugins: [keepImports],
  // yaml (CommonJS) requires node:process and node:buffer: give the bundle a real require
  banner: {
    js:
      "import { createRequire as __cliCreateRequire } from \"node:module\";\nconst require = __cliCreateRequire(import.meta.url);"
  },
  legalComments: "inline",
  logLevel: "warning",
  metafile: true
})

const inputs = Object.keys(result.metafile.inputs)
if (!inputs.some((i) => i.includes("node_modules/@effect/cli/")))
  throw new Error("bundle-cli: @effect/cli was not bundled")
// the modules now inside the bin; nothing left in dist imports @effect/cli
for (const file of bundled) {
  const base = file.slice(0, -".js".length)
  for (const ext of [".js", ".js.map", ".d.ts", ".d.ts.map"]) rmSync(`${base}${ext}`, { force: true })
}
rmSync(`${entry}.map`, { force: true })
const out = readFileSync(entry, "utf8")
if (!out.startsWith("#!/usr/bin/env node\n")) throw new Error("bundle-cli: the bin lost its shebang")
console.log(`bundle-cli: ${relative(root, entry)} ${Math.round(out.length / 1024)} KiB (${inputs.length} modules)`)
