/**
 * A TypeScript program compiled into one plain ES module by esbuild, so that a test can start
 * it with `node` alone. Under `node --import tsx` every module the program loads, effect's
 * hundreds included, passes through tsx's resolve and load hooks (about 3 s of CPU per start
 * on this 2-core machine, 4 to 13 s of wall time under load); the bundle holds the program's
 * own TypeScript (the examples and the library's sources, compiled by esbuild in well under a
 * second) and leaves every package to Node's own loader (about 1 s of CPU per start).
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

/** One build per entry point and process: the test files share one process. */
const builds = new Map<string, Promise<string>>()

/**
 * The path of `entry` (a `.ts` file, relative to the repository) bundled with the sources it
 * imports; packages are imported from node_modules when it runs. The file is
 * named by its content's hash: a changed program gets a new file, an unchanged one is reused.
 */
export const bundle = (entry: string): Promise<string> => {
  const path = resolve(entry)
  let out = builds.get(path)
  if (out === undefined) {
    out = esbuild.build({
      entryPoints: [path],
      outfile: join(BUNDLES, "out.mjs"),
      write: false,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      plugins: [packagesOutside],
      logLevel: "warning"
    }).then(({ outputFiles }) => {
      const code = outputFiles[0]!.contents
      const name = `${basename(dirname(path))}-${basename(path, ".ts")}`
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
    out.catch(() => builds.delete(path))
    builds.set(path, out)
  }
  return out
}
