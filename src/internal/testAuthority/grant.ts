import * as Effect from "effect/Effect"
import type { IssuedToken, OutgoingResponse, RegisteredClient, Settings } from "../../TestAuthority.js"
import { JWT_BEARER } from "../signer.js"
import * as ClientAssertion from "./clientAssertion.js"
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

const declaresCredentials = (client: RegisteredClient): boolean =>
  client.secret !== undefined || client.certificates !== undefined || client.assertions !== undefined ||
  client.federatedCredentials !== undefined

const INVALID_SECRET =
  "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."

/**
 * Checks client authentication. Without registrations, any secret or assertion is accepted.
 * A registered client that declares credentials is accepted only with one of them: its
 * secret, or an assertion verified as Entra does (see `clientAssertion.ts`). Returns the
 * error answer, or undefined when the client is authenticated.
 * @internal
 */
export const authenticateClient = (ctx: GrantContext): Effect.Effect<OutgoingResponse | undefined> => {
  const { form, settings } = ctx
  const clientId = form.client_id ?? ""
  const answer = (status: number, error: string, code: number, text: string) =>
    Effect.succeed(fail(ctx, status, error, code, text))
  if (clientId.length === 0) {
    return answer(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
  }
  const registered = settings.clients?.[clientId]
  if (settings.clients !== undefined && registered === undefined) {
    return answer(
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${clientId}' was not found in the directory.`
    )
  }
  const assertion = form.client_assertion
  if (form.client_secret === undefined && assertion === undefined) {
    return answer(
      401,
      "invalid_client",
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
    )
  }
  if (assertion !== undefined && form.client_assertion_type !== JWT_BEARER) {
    return answer(401, "invalid_client", 50027, `Invalid client_assertion_type: it must be '${JWT_BEARER}'.`)
  }
  if (registered === undefined || !declaresCredentials(registered)) return Effect.succeed(undefined)
  if (form.client_secret !== undefined) {
    return form.client_secret === registered.secret
      ? Effect.succeed(undefined)
      : answer(401, "invalid_client", 7000215, INVALID_SECRET)
  }
  return Effect.map(
    ClientAssertion.check({
      assertion: assertion ?? "",
      clientId,
      registered,
      tokenEndpoint: ctx.tokenEndpoint,
      nowSeconds: Math.floor(ctx.nowMillis / 1000)
    }),
    (refusal) => refusal === undefined ? undefined : fail(ctx, 401, "invalid_client", refusal.code, refusal.text)
  )
}

/**
 * A grant handler that runs once `authenticateClient` accepts the client, and answers its
 * refusal otherwise.
 * @internal
 */
export const authenticated = (handler: GrantHandler): GrantHandler => (ctx) =>
  Effect.flatMap(authenticateClient(ctx), (denied) => denied === undefined ? handler(ctx) : Effect.succeed(denied))
