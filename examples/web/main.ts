/**
 * `npm run example:web`: the web app on http://127.0.0.1:3000 (`PORT`, `HOST`). Open it in a
 * browser, sign in (the test authority shows a user picker), reload, sign out.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import * as Identity from "../shared/Identity.js"
import * as Server from "../shared/Server.js"
import { identityLayer, start } from "./app.js"

const main = Effect.gen(function*() {
  const listen = yield* Server.listenConfig(3000)
  const identity = yield* Identity.Identity
  const url = yield* start(listen)
  yield* Console.log(`Web app on ${url} (${identity.mode}); open it in a browser. Serving until Ctrl-C.`)
  return yield* Effect.never
})

main.pipe(Effect.scoped, Effect.provide(identityLayer()), NodeRuntime.runMain)
