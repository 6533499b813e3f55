import { addEqualityTesters } from "@effect/vitest"

// With `isolate: false` (vitest.config.ts) this file runs before every test file in one shared
// module graph, and expect's testers are global: install Effect's equality tester once.
const installed = Symbol.for("effect-msal/test/equality-testers")
const registry = globalThis as { [installed]?: true }
if (registry[installed] === undefined) {
  addEqualityTesters()
  registry[installed] = true
}
