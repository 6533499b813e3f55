/**
 * `npm run example:api`: the middle-tier API on http://127.0.0.1:3001 (`PORT`, `HOST`).
 *
 * With the test authority it first plays a front end once (no token, Alice's token twice, a
 * Conditional Access challenge) and prints what the API answered; then it keeps serving.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Option } from "effect"
import * as Identity from "../shared/Identity.js"
import * as Server from "../shared/Server.js"
import { CLIENT_ID, identityLayer, start } from "./app.js"

const MFA_CLAIMS =
  "{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"c1a3b5d7-0000-4000-8000-000000000001\"]}}}"

/** What a front end sees when it calls the API. */
const call = (url: string, token?: string) =>
  Effect.promise(async () => {
    const response = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
    const challenge = response.headers.get("www-authenticate")
    const source = response.headers.get("x-obo-token-source")
    return `${response.status} ${await response.text()}${source === null ? "" : ` (downstream token from ${source})`}${
      challenge === null ? "" : `\n     WWW-Authenticate: ${challenge}`
    }`
  })

const tour = (url: string) =>
  Effect.gen(function*() {
    const { authority } = yield* Identity.localAuthority
    const alice = yield* authority.userAssertion({ audience: CLIENT_ID, user: "alice@contoso.onmicrosoft.com" })
    yield* Console.log(`\nA front end calls GET ${url}/api/data:`)
    yield* Console.log(`  1. without a token:        ${yield* call(`${url}/api/data`)}`)
    yield* Console.log(`  2. with Alice's token:     ${yield* call(`${url}/api/data`, alice)}`)
    yield* Console.log(`  3. the same token again:   ${yield* call(`${url}/api/data`, alice)}`)
    const bob = yield* authority.userAssertion({ audience: CLIENT_ID, user: "bob@contoso.onmicrosoft.com" })
    yield* authority.enqueue({
      status: 400,
      body: {
        error: "interaction_required",
        error_description:
          "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.",
        error_codes: [50076],
        suberror: "basic_action",
        claims: MFA_CLAIMS
      }
    })
    yield* Console.log(`  4. Bob, whom Conditional Access asks for MFA: ${yield* call(`${url}/api/data`, bob)}`)
  })

const main = Effect.gen(function*() {
  const listen = yield* Server.listenConfig(3001)
  const identity = yield* Identity.Identity
  const started = yield* start(listen)
  yield* Console.log(
    `Middle-tier API on ${started.url}/api/data (${identity.mode}); downstream API ${started.downstream.url}`
  )
  if (Option.isSome(identity.local)) yield* tour(started.url)
  else yield* Console.log(`Call it with a user's access token for your API (aud ${identity.clientId}).`)
  yield* Console.log("\nServing until Ctrl-C.")
  return yield* Effect.never
})

main.pipe(Effect.scoped, Effect.provide(identityLayer()), NodeRuntime.runMain)
