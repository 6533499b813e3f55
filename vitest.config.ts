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
    // One module graph per worker instead of one per file: every file importing effect and the
    // library anew cost about 3 s of set-up and collection per file on this 2-core machine
    // (34 files: 315 s → 118 s). Test files therefore leave no global state behind (they restore
    // process.env and their spies) and build their clients, caches and servers per test.
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
