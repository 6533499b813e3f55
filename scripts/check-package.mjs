// After `npm run build`: the package's exports map exposes the index and each public module,
// and hides internal/. Run from the repository root (the package resolves itself by name).
const mustLoad = ["effect-msal", "effect-msal/ConfidentialClient", "effect-msal/TokenCache", "effect-msal/MsalError", "effect-msal/TestAuthority"]
for (const name of mustLoad) {
  const m = await import(name)
  if (Object.keys(m).length === 0) throw new Error(`${name} exports nothing`)
}
const index = await import("effect-msal")
for (const k of ["ConfidentialClient", "ClientCredential", "CredentialSigner", "TokenCache", "MsalError", "TestAuthority", "CacheEntry"]) {
  if (!(k in index)) throw new Error(`effect-msal does not export ${k}`)
}
try {
  await import("effect-msal/internal/client")
  throw new Error("effect-msal/internal/client must not be importable")
} catch (e) {
  if (e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e
}
console.log("package exports: ok")
