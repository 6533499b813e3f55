import { fileURLToPath } from "node:url"
import { configDefaults, defineConfig } from "vitest/config"

const src = fileURLToPath(new URL("./src/", import.meta.url))

/**
 * Test files that still need a module graph of their own: run after some other files in one
 * graph, a ManagedIdentity test finds no request sent or hangs (state that outlives a file,
 * not yet found).
 */
const ISOLATED = ["test/ManagedIdentity.test.ts"]

export default defineConfig({
  resolve: {
    alias: [
      { find: /^effect-msal$/, replacement: `${src}index.ts` },
      { find: /^effect-msal\/promise$/, replacement: `${src}Promise.ts` },
      { find: /^effect-msal\/(.*)$/, replacement: `${src}$1.ts` }
    ]
  },
  test: {
    setupFiles: ["./test/support/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The pool is made by the root config, so its isolation is set here: a project's
    // `isolate: false` alone keeps each file's module graph in-process, but the pool still
    // starts a new process for every file (about 1.2 s a file on this 2-core machine).
    poolOptions: { forks: { isolate: false } },
    projects: [
      {
        extends: true,
        test: {
          name: "shared",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...ISOLATED],
          // One module graph per worker instead of one per file: every file importing effect
          // and the library anew cost about 3 s of set-up and collection per file on this
          // 2-core machine (34 files: 315 s → 118 s). Test files therefore leave no global state
          // behind (they restore process.env and their spies).
          isolate: false
        }
      },
      { extends: true, test: { name: "isolated", include: ISOLATED, isolate: true } }
    ]
  }
})
