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
    hookTimeout: 30_000
  }
})
