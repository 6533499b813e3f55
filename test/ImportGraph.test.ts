/**
 * What `import "effect-msal"` loads: a fresh node process imports the main entry (src/index.ts,
 * through tsx) with an ES-module `load` hook that records every module it loads. Optional and
 * on-demand dependencies (jose for a signature, node-forge for a PFX, ioredis for a Redis
 * store, the CLI, the test authority) and the `effect` and `@effect/platform` barrels must not
 * be among them: those are loaded when used, so that a cold start does not pay for them.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"

const root = fileURLToPath(new URL("..", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "effect-msal-imports-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The URLs of every module loaded by importing `entry` (a path under the repository) in a fresh node. */
const loadedBy = (entry: string): ReadonlyArray<string> => {
  const out = join(dir, `${entry.replace(/\W/g, "_")}.txt`)
  const hooks = [
    `import { appendFileSync } from "node:fs"`,
    `export async function load(url, context, next) {`,
    `  appendFileSync(${JSON.stringify(out)}, url + "\\n")`,
    `  return next(url, context)`,
    `}`
  ].join("\n")
  const script = [
    `import { register } from "node:module"`,
    `register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)})`,
    `await import(${JSON.stringify(join(root, entry))})`
  ].join("\n")
  const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000
  })
  expect(run.stderr).toBe("")
  expect(run.status).toBe(0)
  return readFileSync(out, "utf8").split("\n").filter((line) => line.length > 0)
}

/** Modules that only a feature in use may load: a package folder or a source path. */
const onDemand = [
  "/node_modules/jose/",
  "/node_modules/node-forge/",
  "/node_modules/ioredis/",
  "/node_modules/undici/",
  "/node_modules/@effect/cli/",
  "/node_modules/@effect/platform-node/",
  "/node_modules/oidc-provider/",
  "/node_modules/@azure/",
  "/node_modules/effect/dist/esm/index.js",
  "/node_modules/@effect/platform/dist/esm/index.js",
  "/src/TestAuthority.ts",
  "/src/internal/testAuthority/",
  "/src/internal/cli/",
  "/src/internal/demo.ts",
  "/src/bin/",
  "/src/internal/redisClient.ts",
  "/src/internal/redisSingle.ts",
  "/src/internal/redisCluster.ts"
]

describe("import of the main entry", () => {
  it("loads no optional or on-demand module, and not the effect barrels", () => {
    const loaded = loadedBy("src/index.ts")
    // the hook saw the graph: the entry, a public module and effect's core
    expect(loaded.some((url) => url.endsWith("/src/index.ts"))).toBe(true)
    expect(loaded.some((url) => url.endsWith("/src/ConfidentialClient.ts"))).toBe(true)
    expect(loaded.some((url) => url.endsWith("/node_modules/effect/dist/esm/Effect.js"))).toBe(true)
    expect(loaded.filter((url) => onDemand.some((part) => url.includes(part)))).toEqual([])
  }, 90_000)
})
