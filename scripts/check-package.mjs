// After `npm run build`: the package's exports map exposes the index and each public module,
// and hides internal/. Run from the repository root (the package resolves itself by name).
const mustLoad = [
  "effect-msal",
  "effect-msal/ConfidentialClient",
  "effect-msal/TokenCache",
  "effect-msal/MsalError",
  "effect-msal/TestAuthority",
  "effect-msal/Metrics",
  "effect-msal/promise",
  "effect-msal/AzureIdentity"
]
for (const name of mustLoad) {
  const m = await import(name)
  if (Object.keys(m).length === 0) throw new Error(`${name} exports nothing`)
}
const index = await import("effect-msal")
// the test authority is a subpath of its own (effect-msal/TestAuthority), not part of the index
if ("TestAuthority" in index)
  throw new Error("effect-msal exports TestAuthority: it belongs to effect-msal/TestAuthority")
for (
  const k of [
    "ConfidentialClient",
    "ClientCredential",
    "CredentialSigner",
    "TokenCache",
    "MsalError",
    "CacheEntry",
    "Metrics"
  ]
) {
  if (!(k in index)) throw new Error(`effect-msal does not export ${k}`)
}
try {
  await import("effect-msal/internal/client")
  throw new Error("effect-msal/internal/client must not be importable")
} catch (e) {
  if (e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e
}
// require() from CommonJS (Node >= 20.19 loads ES modules): every entry has a `default` condition
const { createRequire } = await import("node:module")
const require = createRequire(import.meta.url)
for (const name of mustLoad) {
  if (Object.keys(require(name)).length === 0) throw new Error(`require("${name}") exports nothing`)
}
// the bin entry: built, with its shebang
const { readFileSync, readdirSync, existsSync } = await import("node:fs")
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
const bin = readFileSync(new URL(`../${pkg.bin["effect-msal"]}`, import.meta.url), "utf8")
if (!bin.startsWith("#!/usr/bin/env node\n")) throw new Error("the effect-msal bin has no shebang")
// the CLI's parser is bundled into the bin (scripts/bundle-cli.mjs): no file of dist imports it,
// and the package does not depend on it
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`]
  )
for (
  const file of walk(new URL("../dist", import.meta.url).pathname).filter((f) =>
    f.endsWith(".js") || f.endsWith(".d.ts")
  )
) {
  if (/from\s*["']@effect\/cli|import\(["']@effect\/cli/.test(readFileSync(file, "utf8")))
    throw new Error(`${file} imports @effect/cli`)
}
// public types stand alone: no top-level .d.ts names an internal file
for (const file of readdirSync(new URL("../dist", import.meta.url).pathname).filter((f) => f.endsWith(".d.ts"))) {
  if (/from\s*["']\.\/internal\//.test(readFileSync(new URL(`../dist/${file}`, import.meta.url), "utf8"))) {
    throw new Error(`dist/${file} imports an internal file: public types must stand alone`)
  }
}
for (const cliOnly of ["@effect/cli", "yaml", "toml", "ini"]) {
  if (cliOnly in (pkg.dependencies ?? {}) || cliOnly in (pkg.peerDependencies ?? {}))
    throw new Error(`the package depends on ${cliOnly}`)
}
// what a package page needs
if (
  !existsSync(new URL("../LICENSE", import.meta.url)) ||
  !readFileSync(new URL("../LICENSE", import.meta.url), "utf8").startsWith("MIT License")
) {
  throw new Error("no MIT LICENSE file")
}
for (const field of ["repository", "homepage", "bugs"])
  if (pkg[field] === undefined) throw new Error(`package.json has no ${field}`)
for (const [entry, target] of Object.entries(pkg.exports)) {
  if (target !== null && typeof target === "object" && target.default === undefined)
    throw new Error(`exports["${entry}"] has no default condition`)
}
console.log("package exports: ok")
