/**
 * 6. Cold start of msal-node: imports it, builds the client and gets the first token from the
 * local authority. Times are milliseconds since the process started.
 */
import { performance } from "node:perf_hooks"

const baseUrl = process.argv[2] ?? ""
const boot = performance.now()
const { makeMsal } = await import("../support/msal.js")
const imported = performance.now()
const { app } = makeMsal(baseUrl)
const result = await app.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] })
const token = performance.now()
process.stdout.write(
  `\n@@bench ${
    JSON.stringify({
      boot,
      peers: boot,
      imported,
      token,
      source: result?.fromCache === false ? "identity_provider" : "cache"
    })
  }\n`
)
