import type { Effect } from "effect"
import type { IssuedToken, OutgoingResponse, Settings } from "../../TestAuthority.js"
import { oauthError } from "./responses.js"
import type { Directory } from "./users.js"

/** What a grant handler of the test authority sees. @internal */
export interface GrantContext {
  readonly tenant: string
  readonly form: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly settings: Settings
  readonly correlationId: string
  readonly nowMillis: number
  /** The token endpoint the request was sent to (the expected `aud` of client assertions). */
  readonly tokenEndpoint: string
  /** 1 for the first token issued by this authority, then 2, … */
  readonly nextSequence: () => number
  readonly recordIssued: (token: IssuedToken) => Effect.Effect<void>
  /** Codes and refresh tokens issued to users. */
  readonly directory: Directory
}

/** @internal */
export type GrantHandler = (ctx: GrantContext) => Effect.Effect<OutgoingResponse>

/** An Entra-shaped OAuth error for this request. @internal */
export const fail = (ctx: GrantContext, status: number, error: string, code: number, text: string): OutgoingResponse =>
  oauthError(status, error, code, text, ctx.correlationId, ctx.nowMillis)

/**
 * Checks client authentication: a registered client's secret, or the presence of a secret or
 * an assertion. Returns the error answer, or undefined when the client is authenticated.
 * @internal
 */
export const authenticateClient = (ctx: GrantContext): OutgoingResponse | undefined => {
  const { form, settings } = ctx
  const clientId = form.client_id ?? ""
  if (clientId.length === 0) {
    return fail(ctx, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
  }
  const registered = settings.clients?.[clientId]
  if (settings.clients !== undefined && registered === undefined) {
    return fail(ctx, 400, "unauthorized_client", 700016, `Application with identifier '${clientId}' was not found in the directory.`)
  }
  if (form.client_secret === undefined && form.client_assertion === undefined) {
    return fail(ctx, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
  }
  if (form.client_secret !== undefined && registered?.secret !== undefined && form.client_secret !== registered.secret) {
    return fail(ctx, 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
  }
  return undefined
}
