#!/usr/bin/env node
/**
 * `npm start`: the demo against the embedded test authority.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { program } from "../internal/demo.js"

Effect.runPromise(program).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  }
)
