/**
 * msal-node against the local authority: the production authority URL, metadata supplied
 * inline (no discovery), and a network client that sends every request to 127.0.0.1.
 */
import type { Configuration, INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node"
import { ConfidentialClientApplication } from "@azure/msal-node"
import { AUTHORITY, CLIENT_ID, HOST, SECRET, TENANT } from "./fixtures.js"

/** Requests msal-node sent, by method. */
export interface NetworkCounts {
  get: number
  post: number
}

/** An `INetworkModule` forwarding to `baseUrl` (keeping path and query), over fetch. */
export const forwardingNetworkClient = (baseUrl: string, counts: NetworkCounts): INetworkModule => {
  const send = async <T>(
    method: "GET" | "POST",
    url: string,
    options?: NetworkRequestOptions
  ): Promise<NetworkResponse<T>> => {
    const original = new URL(url)
    const response = await fetch(`${baseUrl}${original.pathname}${original.search}`, {
      method,
      headers: { ...options?.headers, "x-forwarded-host": original.host },
      ...(method === "POST" && options?.body !== undefined ? { body: options.body } : {})
    })
    const text = await response.text()
    const headers: Record<string, string> = {}
    response.headers.forEach((value, key) => {
      headers[key] = value
    })
    let body: unknown = {}
    try {
      body = text.length === 0 ? {} : JSON.parse(text)
    } catch {
      body = text
    }
    return { headers, body: body as T, status: response.status }
  }
  return {
    sendGetRequestAsync: (url, options) => {
      counts.get++
      return send("GET", url, options)
    },
    sendPostRequestAsync: (url, options) => {
      counts.post++
      return send("POST", url, options)
    }
  }
}

const openIdConfiguration = (tenant: string): string =>
  JSON.stringify({
    token_endpoint: `https://${HOST}/${tenant}/oauth2/v2.0/token`,
    authorization_endpoint: `https://${HOST}/${tenant}/oauth2/v2.0/authorize`,
    end_session_endpoint: `https://${HOST}/${tenant}/oauth2/v2.0/logout`,
    issuer: `https://${HOST}/${tenant}/v2.0`,
    jwks_uri: `https://${HOST}/${tenant}/discovery/v2.0/keys`
  })

const cloudDiscovery = JSON.stringify({
  tenant_discovery_endpoint: `https://${HOST}/${TENANT}/v2.0/.well-known/openid-configuration`,
  "api-version": "1.1",
  metadata: [{
    preferred_network: HOST,
    preferred_cache: HOST,
    aliases: [HOST, "login.windows.net", "login.microsoft.com", "sts.windows.net"]
  }]
})

/** Client authentication for msal-node. */
export type MsalCredential =
  | { readonly kind: "secret" }
  | { readonly kind: "certificate"; readonly privateKey: string; readonly thumbprintSha256: string }

/** A fresh msal-node client and the counts of what it sent. */
export const makeMsal = (
  baseUrl: string,
  credential: MsalCredential = { kind: "secret" }
): { readonly app: ConfidentialClientApplication; readonly counts: NetworkCounts } => {
  const counts: NetworkCounts = { get: 0, post: 0 }
  const config: Configuration = {
    auth: {
      clientId: CLIENT_ID,
      authority: AUTHORITY,
      knownAuthorities: [HOST],
      authorityMetadata: openIdConfiguration(TENANT),
      cloudDiscoveryMetadata: cloudDiscovery,
      ...(credential.kind === "secret"
        ? { clientSecret: SECRET }
        : { clientCertificate: { thumbprintSha256: credential.thumbprintSha256, privateKey: credential.privateKey } })
    },
    system: { networkClient: forwardingNetworkClient(baseUrl, counts) }
  }
  return { app: new ConfidentialClientApplication(config), counts }
}
