// After `npm run build`: the package's exports map exposes the index and each public module,
// and hides internal/. Run from the repository root (the package resolves itself by name).
const mustLoad = [
  "effect-msal", "effect-msal/ConfidentialClient", "effect-msal/TokenCache", "effect-msal/MsalError", "effect-msal/TestAuthority",
  "effect-msal/Metrics", "effect-msal/promise", "effect-msal/AzureIdentity"
]
for (const name of mustLoad) {
  const m = await import(name)
  if (Object.keys(m).length === 0) throw new Error(`${name} exports nothing`)
}
const index = await import("effect-msal")
for (const k of ["ConfidentialClient", "ClientCredential", "CredentialSigner", "TokenCache", "MsalError", "TestAuthority", "CacheEntry", "Metrics"]) {
  if (!(k in index)) throw new Error(`effect-msal does not export ${k}`)
}
try {
  await import("effect-msal/internal/client")
  throw new Error("effect-msal/internal/client must not be importable")
} catch (e) {
  if (e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e
}
// the bin entry: built, with its shebang
const { readFileSync } = await import("node:fs")
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
const bin = readFileSync(new URL(`../${pkg.bin["effect-msal"]}`, import.meta.url), "utf8")
if (!bin.startsWith("#!/usr/bin/env node\n")) throw new Error("the effect-msal bin has no shebang")
console.log("package exports: ok")
