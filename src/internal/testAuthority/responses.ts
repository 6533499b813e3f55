import type { OutgoingResponse } from "../../TestAuthority.js"

const b64url = (value: string | Uint8Array): string => Buffer.from(value).toString("base64url")

/** @internal */
export const json = (status: number, body: unknown, headers: Record<string, string> = {}): OutgoingResponse => ({
  status,
  headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  body: JSON.stringify(body)
})

/** An Entra-shaped OAuth error. @internal */
export const oauthError = (
  status: number,
  error: string,
  code: number,
  text: string,
  correlationId: string,
  nowMillis: number
): OutgoingResponse => {
  const traceId = crypto.randomUUID()
  const timestamp = new Date(nowMillis).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z")
  return json(status, {
    error,
    error_description:
      `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`
  })
}

/** @internal */
export const base64url = b64url

/** An app token shaped like Entra's (a JWT of about 1 KB with a fake signature). */
export const appToken = (claims: Record<string, unknown>): string =>
  `${b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid: "test-authority-key" }))}.${
    b64url(JSON.stringify(claims))
  }.${b64url(crypto.getRandomValues(new Uint8Array(256)))}`
