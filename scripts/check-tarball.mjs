// CI, after `npm run build`: the package as its users get it. Packs the package, installs the
// tarball into a new project outside the repository with only what a user installs (the README's
// `npm i effect-msal effect @effect/platform`; cached packages first, the registry otherwise), and
// checks there:
//   - the tarball: LICENSE, package.json's repository/homepage/bugs, every file README.md links to
//   - nothing only the CLI uses is installed (@effect/cli, its printers, yaml, toml, ini)
//   - `import` and `require` of every public entry; internal modules stay hidden
//   - tsc --strict with skipLibCheck: false, under module NodeNext (an ES module and a .cts file)
//     and under moduleResolution Bundler
//   - an esbuild bundle of the README's first program, run
//   - `npx effect-msal --help` and `--version`
// then the same install with `--legacy-peer-deps` (peers of peers not installed): the bin and an
// import still work. TypeScript, esbuild and @types/node are the repository's own.
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { firstProgram, readmeLinks } from "./samples.mjs"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const versionOf = (name) => JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version
const started = Date.now()
const step = (what) => console.log(`check-tarball: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
const fail = (what) => {
  throw new Error(`check-tarball: ${what}`)
}
const run = (command, args, cwd, env = {}) => {
  const r = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", ...env },
    timeout: 300_000
  })
  if (r.status !== 0) fail(`${command} ${args.join(" ")} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

const work = mkdtempSync(join(tmpdir(), "effect-msal-tarball-"))
try {
  // 1. the tarball
  const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], root))
  const tarball = join(work, packed.filename)
  const files = new Set(packed.files.map((f) => f.path))
  for (
    const f of ["LICENSE", "README.md", "package.json", "dist/index.js", "dist/index.d.ts", pkg.bin["effect-msal"]]
  ) {
    if (!files.has(f)) fail(`the tarball lacks ${f}`)
  }
  for (const field of ["repository", "homepage", "bugs"])
    if (pkg[field] === undefined) fail(`package.json has no ${field}`)
  for (const link of readmeLinks(readFileSync(join(root, "README.md"), "utf8"))) {
    if (!files.has(link)) fail(`README.md links to ${link}, which is not in the tarball`)
  }
  if ([...files].some((f) => f.startsWith("dist/internal/cli/main.")))
    fail("dist/internal/cli/main.js (which imports @effect/cli) is in the tarball")
  step(`packed ${packed.filename}: ${files.size} files, ${Math.round(packed.size / 1024)} KiB`)

  // 2. a user's project
  const deps = [`effect@${versionOf("effect")}`, `@effect/platform@${versionOf("@effect/platform")}`]
  const project = (name, extra) => {
    const dir = join(work, name)
    mkdirSync(dir)
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }, null, 2))
    run("npm", [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      ...extra,
      tarball,
      ...deps
    ], dir)
    for (
      const cliOnly of [
        "@effect/cli",
        "@effect/printer",
        "@effect/printer-ansi",
        "@effect/typeclass",
        "yaml",
        "toml",
        "ini"
      ]
    ) {
      if (existsSync(join(dir, "node_modules", cliOnly))) fail(`${name}: installing effect-msal installed ${cliOnly}`)
    }
    return dir
  }
  const app = project("app", [])
  step("installed the tarball with effect and @effect/platform")

  // 3. every public entry, by import and by require
  const installed = join(app, "node_modules", "effect-msal")
  const entries = [
    "effect-msal",
    "effect-msal/promise",
    ...readdirSync(join(installed, "dist"))
      .filter((f) => f.endsWith(".js"))
      .map((f) => `effect-msal/${f.slice(0, -3)}`)
      .filter((e) => e !== "effect-msal/index")
  ]
  const probe = (loader) => `
const entries = ${JSON.stringify(entries)}
for (const e of entries) ${loader}(e) // a types-only module (Requests) loads as an empty module
if (typeof (${loader}("effect-msal")).ConfidentialClient?.layer !== "function") throw new Error("effect-msal has no ConfidentialClient.layer")
let hidden = false
try { ${loader}("effect-msal/internal/client") } catch (e) { hidden = e.code === "ERR_PACKAGE_PATH_NOT_EXPORTED" }
if (!hidden) throw new Error("effect-msal/internal/client is reachable")
console.log("loaded " + entries.length + " entries")
`
  writeFileSync(join(app, "esm.mjs"), probe("await import"))
  writeFileSync(join(app, "cjs.cjs"), probe("require"))
  run(process.execPath, ["esm.mjs"], app)
  const cjs = spawnSync(process.execPath, ["cjs.cjs"], { cwd: app, encoding: "utf8" })
  if (cjs.status !== 0) fail(`require("effect-msal") failed:\n${cjs.stderr}`)
  step(`import and require of ${entries.length} entries`)

  // 4. the type-check a strict user runs
  const program = firstProgram(readFileSync(join(root, "README.md"), "utf8"))
  writeFileSync(join(app, "main.ts"), program)
  writeFileSync(
    join(app, "required.cts"),
    `import { ConfidentialClient, TokenCache } from "effect-msal"
import * as TestAuthority from "effect-msal/TestAuthority"
import * as Msal from "effect-msal/promise"
export const used = [ConfidentialClient.layer, TokenCache.layerMemory, TestAuthority.layer, Msal] as const
`
  )
  const compilerOptions = {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    target: "ES2022",
    lib: ["ES2022", "DOM"],
    types: ["node"],
    typeRoots: [join(root, "node_modules", "@types")],
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true
  }
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
  const configs = {
    "tsconfig.nodenext.json": { ...compilerOptions, module: "NodeNext", moduleResolution: "NodeNext" },
    "tsconfig.bundler.json": { ...compilerOptions, module: "ESNext", moduleResolution: "Bundler" }
  }
  for (const [name, options] of Object.entries(configs)) {
    writeFileSync(
      join(app, name),
      JSON.stringify({ compilerOptions: options, files: ["main.ts", "required.cts"] }, null, 2)
    )
    run(process.execPath, [tsc, "-p", name], app)
    step(`tsc strict, skipLibCheck false, ${options.moduleResolution}`)
  }

  // 5. a bundler
  const esbuild = await import("esbuild")
  const README_BANNER =
    "import { createRequire as topLevelCreateRequire } from \"node:module\"; const require = topLevelCreateRequire(import.meta.url);"
  if (!readFileSync(join(root, "README.md"), "utf8").includes(README_BANNER))
    fail("the README does not show the bundle banner this check uses")
  await esbuild.build({
    absWorkingDir: app,
    entryPoints: ["main.ts"],
    outfile: "bundle.mjs",
    bundle: true,
    platform: "node",
    format: "esm",
    // as the README says: node-forge and undici are CommonJS and require Node's built-in
    // modules, which an ES-module bundle can only do with a real require
    banner: { js: README_BANNER },
    logLevel: "error"
  })
  const out = run(process.execPath, ["bundle.mjs"], app)
  if (!out.includes("from the cache")) fail(`the bundled first program printed:\n${out}`)
  step("esbuild bundle of the README's first program, run")

  // 6. the command
  const help = run("npx", ["--no-install", "effect-msal", "--help"], app)
  if (!help.includes("USAGE")) fail(`npx effect-msal --help printed:\n${help}`)
  const version = run("npx", ["--no-install", "effect-msal", "--version"], app).trim()
  if (version !== pkg.version) fail(`npx effect-msal --version printed ${version}`)
  step("npx effect-msal --help, --version")

  // 7. a package manager that installs no peers of peers
  const legacy = project("legacy", ["--legacy-peer-deps"])
  run("npx", ["--no-install", "effect-msal", "--help"], legacy)
  run(process.execPath, [
    "--input-type=module",
    "-e",
    `import("effect-msal").then((m) => { if (!m.ConfidentialClient) process.exit(1) })`
  ], legacy)
  step("--legacy-peer-deps: installed, import and npx effect-msal --help")
  console.log("check-tarball: ok")
} finally {
  rmSync(work, { recursive: true, force: true })
}
