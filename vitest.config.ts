import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = fileURLToPath(new URL("./src/", import.meta.url))

export default defineConfig({
  resolve: {
    alias: [
      { find: /^effect-msal$/, replacement: `${src}index.ts` },
      { find: /^effect-msal\/promise$/, replacement: `${src}Promise.ts` },
      { find: /^effect-msal\/(.*)$/, replacement: `${src}$1.ts` }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/support/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Every test file runs in one worker process and one module graph: a new process and a
    // new import of effect and the library per file cost about 1.2 s a file on this 2-core
    // machine (npm test: 285 s → 155 s wall). Test files therefore leave nothing behind: they
    // close their servers, stop their children and restore process.env, spies and globals.
    isolate: false
  }
})
