/** A real msal-node ConfidentialClientApplication that never discovers and fails on any network call. */
import type { INetworkModule } from "@azure/msal-node"
import { ConfidentialClientApplication } from "@azure/msal-node"
import { CLIENT_ID, SECRET } from "../support/harness.js"

/**
 * The tenant by id: the realm our client writes for contoso.onmicrosoft.com once discovery has
 * named its tenant id (msal-node keys app tokens by the tenant as configured, so a domain
 * here would look under the domain).
 */
export const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"

const authorityMetadata = JSON.stringify({
  token_endpoint: `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`,
  authorization_endpoint: `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/authorize`,
  issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
  jwks_uri: `https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`,
  end_session_endpoint: `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/logout`
})

const cloudDiscoveryMetadata = JSON.stringify({
  tenant_discovery_endpoint: `https://login.microsoftonline.com/${TENANT}/v2.0/.well-known/openid-configuration`,
  "api-version": "1.1",
  metadata: [{
    preferred_network: "login.microsoftonline.com",
    preferred_cache: "login.windows.net",
    aliases: ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]
  }]
})

export interface Msal {
  readonly app: ConfidentialClientApplication
  /** Every URL msal-node tried to reach. */
  readonly calls: Array<string>
}

/**
 * `answer` is what the token endpoint returns; without it, any network call is recorded and
 * fails (so a test asserts `calls` is empty).
 */
export const makeMsal = (answer?: Record<string, unknown>): Msal => {
  const calls: Array<string> = []
  const networkClient: INetworkModule = {
    sendGetRequestAsync: (url) => {
      calls.push(`GET ${url}`)
      return Promise.reject(new Error("msal-node must not reach the network in this test"))
    },
    sendPostRequestAsync: (url) => {
      calls.push(`POST ${url}`)
      if (answer === undefined) return Promise.reject(new Error("msal-node must not reach the network in this test"))
      return Promise.resolve({ status: 200, headers: {}, body: answer as never })
    }
  }
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      authority: `https://login.microsoftonline.com/${TENANT}`,
      authorityMetadata,
      cloudDiscoveryMetadata
    },
    system: { networkClient }
  })
  return { app, calls }
}
