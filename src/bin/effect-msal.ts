#!/usr/bin/env node
/**
 * The `effect-msal` command: `demo`, `token`, `authority serve`, `cache inspect`.
 *
 * @since 0.1.0
 */
import { main } from "../internal/cli/main.js"
import { runMain } from "../internal/cli/runtime.js"

runMain(main(process.argv))
