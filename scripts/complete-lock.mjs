// Adds to package-lock.json the platform-specific optional packages npm leaves out of it
// (npm/cli#4828: a lock written on Linux lacks e.g. @rollup/rollup-win32-x64-msvc, and this
// npm's `npm ci` then refuses the lock as out of sync). Run after changing dependencies:
//   node scripts/complete-lock.mjs && npm ci
// Each added entry is the package's manifest from the registry (version, integrity, os, cpu);
// when the registry this machine reaches does not have the package (mirrors often hold only
// the platforms they serve), the entry is built from the exact version the dependent pins and
// the platform in the package's name. Either way npm skips it on other platforms.
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"

const OS = ["android", "darwin", "freebsd", "linux", "openbsd", "openharmony", "sunos", "win32", "aix", "netbsd"]
const CPU = ["arm64", "arm", "x64", "ia32", "loong64", "ppc64", "riscv64", "s390x", "mips64el", "universal"]

const viewOrGuess = (name, range) => {
  try {
    const manifest = JSON.parse(
      execFileSync("npm", ["view", `${name}@${range}`, "--json"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"]
      })
    )
    return Array.isArray(manifest) ? manifest[manifest.length - 1] : manifest
  } catch {
    if (!/^\d+\.\d+\.\d+$/.test(range))
      throw new Error(`${name}@${range} is not in the registry and its version is not exact`)
    const parts = name.split("/").pop().split("-")
    const os = parts.find((p) => OS.includes(p))
    const cpu = parts.find((p) => CPU.includes(p))
    const libc = parts.includes("musl")
      ? ["musl"]
      : parts.includes("gnu") || parts.includes("gnueabihf")
      ? ["glibc"]
      : undefined
    return {
      version: range,
      ...(os === undefined ? {} : { os: [os] }),
      ...(cpu === undefined || cpu === "universal" ? {} : { cpu: [cpu] }),
      ...(libc === undefined ? {} : { libc })
    }
  }
}

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"))
const packages = lock.packages
const added = []
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    // where npm would resolve it: next to the dependent, else at the top level
    const nested = `${path === "" ? "" : `${path}/`}node_modules/${name}`
    const top = `node_modules/${name}`
    if (packages[nested] !== undefined || packages[top] !== undefined) continue
    const m = viewOrGuess(name, range)
    packages[top] = {
      version: m.version,
      ...(m.dist?.integrity === undefined ? {} : { integrity: m.dist.integrity }),
      ...(m.cpu === undefined ? {} : { cpu: m.cpu }),
      ...(m.os === undefined ? {} : { os: m.os }),
      ...(m.libc === undefined ? {} : { libc: m.libc }),
      ...(m.license === undefined ? {} : { license: m.license }),
      optional: true,
      ...(entry.dev === true ? { dev: true } : {}),
      ...(m.engines === undefined ? {} : { engines: m.engines })
    }
    added.push(`${name}@${m.version}`)
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0))
)
writeFileSync("package-lock.json", `${JSON.stringify(lock, null, 2)}\n`)
console.log(
  added.length === 0
    ? "package-lock.json: complete"
    : `package-lock.json: added ${added.length} optional packages\n  ${added.join("\n  ")}`
)
