/**
 * `npm run example:daemon`: the daemon, once; exit code 0 on success.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import { program } from "./daemon.js"

program.pipe(
  Effect.tapErrorCause(() => Console.error("The daemon failed:")),
  NodeRuntime.runMain
)
