/**
 * `ioredis` is an optional peer: a program that never builds a Redis layer bundles without
 * it, and the published types do not name it.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { build } from "esbuild"
import type { Cluster, Redis } from "ioredis"
import type { TokenCache } from "effect-msal"

// our structural RedisClient accepts ioredis' clients as they are (checked by tsc)
const accepts: [[Redis, Cluster]] extends [[TokenCache.RedisClient, TokenCache.RedisClient]] ? true : false = true

const root = fileURLToPath(new URL("..", import.meta.url))
/** The Effect packages, left out of the bundle (`effect/*` subpaths included). */
const EFFECT = ["effect", "@effect/*"]

describe("ioredis stays optional", () => {
  it("an ioredis Redis or Cluster is a TokenCache.RedisClient", () => expect(accepts).toBe(true))

  it("esbuild --bundle of a program using the library (without Redis) never resolves ioredis", async () => {
    const program = [
      `import { Effect } from "effect"`,
      `import { TokenCache } from "./src/index.ts"`,
      `Effect.runFork(Effect.provide(TokenCache.TokenCache, TokenCache.layerMemory()))`
    ].join("\n")
    const asked: Array<string> = []
    const result = await build({
      stdin: { contents: program, resolveDir: root, loader: "ts", sourcefile: "main.ts" },
      bundle: true,
      platform: "node",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
      absWorkingDir: root,
      // Effect's packages (peers, about 600 of the 850 files) are not walked: they do not
      // depend on ioredis (checked below), so only this library's own imports could reach it
      external: EFFECT,
      // as if ioredis were not installed: any attempt to resolve it fails the build
      plugins: [{
        name: "no-ioredis",
        setup: (b) =>
          b.onResolve({ filter: /^ioredis(\/|$)/ }, (args) => {
            asked.push(args.importer)
            return { errors: [{ text: "ioredis is not installed" }] }
          })
      }]
    })
    expect(asked).toEqual([])
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs.filter((f) => f.includes("node_modules/ioredis"))).toEqual([])
    // the store's client module, whose import of ioredis is built at run time, was walked
    expect(inputs).toContain("src/internal/redisClient.ts")
    for (const name of ["effect", "@effect/platform"]) {
      const manifest = JSON.parse(fs.readFileSync(nodePath.join(root, "node_modules", name, "package.json"), "utf8"))
      const deps = { ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies }
      expect([name, Object.keys(deps).filter((d) => d.includes("redis"))]).toEqual([name, []])
    }
  }, 60_000)

  it("no source file imports ioredis by name, so no emitted declaration can", () => {
    // a declaration names a module only when its source imports it (the packed-tarball check
    // compiles the declarations with skipLibCheck: false)
    const offenders: Array<string> = []
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const f = nodePath.join(d, e.name)
        if (e.isDirectory()) walk(f)
        else if (
          f.endsWith(".ts") &&
          /from\s+["']ioredis["']|import\(\s*["']ioredis["']\s*\)|require\(\s*["']ioredis["']/.test(
            fs.readFileSync(f, "utf8")
          )
        ) {
          offenders.push(nodePath.relative(root, f))
        }
      }
    }
    walk(nodePath.join(root, "src"))
    expect(offenders).toEqual([])
  })
})
