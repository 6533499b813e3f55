/**
 * A TypeScript program compiled into one plain ES module by esbuild, so that a test can start
 * it with `node` alone. Under `node --import tsx` every module the program loads, effect's
 * hundreds included, passes through tsx's resolve and load hooks (about 3 s of CPU per start
 * on this 2-core machine, 4 to 13 s of wall time under load).
 *
 * Two kinds, by what the program is for:
 * - `"outside"` (the examples and the CLI): the program's own TypeScript (and the library's
 *   sources) is compiled, in well under a second; every package stays an import that Node's
 *   own loader reads from node_modules, as it would for a user (about 1 s of CPU per start).
 * - `"inside"` (the cache and lock workers, started by the handful): packages are bundled
 *   too, so each start reads one file (about 0.3 s); ioredis, optional for users, is bundled
 *   like any other dependency.
 */
import * as esbuild from "esbuild"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

/** Bundles live under node_modules, so that the packages they import resolve from there. */
const BUNDLES = fileURLToPath(new URL("../../node_modules/.cache/effect-msal-test-bundles/", import.meta.url))

/** Packages stay imports; `effect-msal` is the sources (tsconfig's paths, as for tsx). */
const packagesOutside: esbuild.Plugin = {
  name: "packages-outside",
  setup(build) {
    build.onResolve(
      { filter: /^[^./]/ },
      ({ path }) => path === "effect-msal" || path.startsWith("effect-msal/") ? undefined : { path, external: true }
    )
  }
}

/** What the bundle holds besides the program's own TypeScript: see the module's comment. */
export type Packages = "outside" | "inside"

const options = (packages: Packages): Pick<esbuild.BuildOptions, "plugins" | "banner"> =>
  packages === "outside"
    ? { plugins: [packagesOutside] }
    // CommonJS dependencies inside the bundle need a real require
    : {
      banner: {
        js: "import { createRequire as __bundleRequire } from \"node:module\";\n" +
          "const require = __bundleRequire(import.meta.url);"
      }
    }

/** One build per entry point, kind and process: the test files share one process. */
const builds = new Map<string, Promise<string>>()

/**
 * The path of `entry` (a `.ts` file) bundled as `packages` says. The file is named by its
 * content's hash: a changed program gets a new file, an unchanged one is reused by later runs.
 */
export const bundle = (entry: string, packages: Packages = "outside"): Promise<string> => {
  const path = resolve(entry)
  const id = `${packages}:${path}`
  let out = builds.get(id)
  if (out === undefined) {
    out = esbuild.build({
      entryPoints: [path],
      outfile: join(BUNDLES, "out.mjs"),
      write: false,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "warning",
      ...options(packages)
    }).then(({ outputFiles }) => {
      const code = outputFiles[0]!.contents
      const name = `${basename(dirname(path))}-${basename(path, ".ts")}-${packages}`
      const file = join(BUNDLES, `${name}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`)
      if (!existsSync(file)) {
        mkdirSync(BUNDLES, { recursive: true })
        const temporary = `${file}.${process.pid}.tmp`
        writeFileSync(temporary, code)
        renameSync(temporary, file)
      }
      return file
    })
    // a failed build is not kept: the next caller tries again and sees its own error
    out.catch(() => builds.delete(id))
    builds.set(id, out)
  }
  return out
}
