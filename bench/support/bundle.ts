/**
 * The cold-start scripts bundled with esbuild into one ES-module file each (as a serverless or
 * container deployment often ships a Node program), with the `require` banner README gives for
 * ES-module bundles. Nothing is minified; both libraries are bundled the same way.
 */
import { build } from "esbuild"
import { join } from "node:path"
import type { Library } from "../report/results.js"

const BANNER =
  `import { createRequire as topLevelCreateRequire } from "node:module"; const require = topLevelCreateRequire(import.meta.url);`

/** Bundles bench/cold/<library>.js (from the transpiled tree `js`) and returns the files. */
export const coldBundles = async (js: string, out: string): Promise<Record<Library, string>> => {
  const one = async (library: Library): Promise<string> => {
    const outfile = join(out, "bundle", `cold-${library}.mjs`)
    await build({
      entryPoints: [join(js, "bench", "cold", `${library}.js`)],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile,
      banner: { js: BANNER },
      logLevel: "error"
    })
    return outfile
  }
  return { ours: await one("ours"), msal: await one("msal") }
}
