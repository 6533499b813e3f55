import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { OutgoingResponse, Service } from "../../TestAuthority.js"
import { json } from "./responses.js"

/** Paths under this prefix steer a served authority instead of acting as Entra. @internal */
export const CONTROL_PREFIX = "/_testauthority/"

const DurationInput = Schema.Union(Schema.NonNegativeInt, Schema.String)

const Scripted = Schema.Struct({
  status: Schema.Int,
  body: Schema.optional(Schema.Unknown),
  headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  delay: Schema.optional(DurationInput),
  fault: Schema.optional(Schema.Literal("disconnect", "disconnectDuringBody", "refuse"))
})

const Enqueue = Schema.Union(Scripted, Schema.Array(Scripted))

const ManagedIdentityAccount = Schema.Struct({
  clientId: Schema.String,
  objectId: Schema.String,
  resourceId: Schema.optionalWith(Schema.String, { exact: true })
})

const Configure = Schema.Struct({
  expiresIn: Schema.optionalWith(Schema.Int, { exact: true }),
  extExpiresIn: Schema.optionalWith(Schema.Int, { exact: true }),
  refreshIn: Schema.optionalWith(Schema.Int, { exact: true }),
  latency: Schema.optionalWith(DurationInput, { exact: true }),
  managedIdentity: Schema.optionalWith(
    Schema.Struct({
      identityHeader: Schema.optionalWith(Schema.String, { exact: true }),
      msiSecret: Schema.optionalWith(Schema.String, { exact: true }),
      arcKeyDirectory: Schema.optionalWith(Schema.String, { exact: true }),
      tenantId: Schema.optionalWith(Schema.String, { exact: true }),
      expiresIn: Schema.optionalWith(Schema.Int, { exact: true }),
      systemAssigned: Schema.optionalWith(ManagedIdentityAccount, { exact: true }),
      userAssigned: Schema.optionalWith(Schema.Array(ManagedIdentityAccount), { exact: true })
    }),
    { exact: true }
  )
})

const parse = <A, I>(schema: Schema.Schema<A, I>, body: string): Either.Either<A, string> => {
  let value: unknown
  try {
    value = JSON.parse(body === "" ? "{}" : body)
  } catch {
    return Either.left("the body is not JSON")
  }
  return Either.mapLeft(Schema.decodeUnknownEither(schema)(value), () => "the body does not have the expected fields")
}

const millis = (d: number | string) => (typeof d === "number" ? `${d} millis` : d) as `${number} millis`

/**
 * The control API of a served authority, so that tests in any language can steer it:
 * `POST enqueue` (one scripted answer or a list: status, body, headers, delay, fault),
 * `POST configure` (expiresIn, extExpiresIn, refreshIn, latency, managedIdentity), `GET requests` (everything
 * received, secrets included: it is a test server) and `POST reset`.
 * @internal
 */
export const control = (
  authority: Service,
  method: string,
  path: string,
  body: string
): Effect.Effect<OutgoingResponse> => {
  const action = `${method} ${path.slice(CONTROL_PREFIX.length)}`
  const bad = (description: string) =>
    Effect.succeed(json(400, { error: "invalid_request", error_description: description }))
  switch (action) {
    case "POST enqueue": {
      const parsed = parse(Enqueue, body)
      if (Either.isLeft(parsed)) return bad(parsed.left)
      const list = Array.isArray(parsed.right) ? parsed.right : [parsed.right]
      return Effect.as(
        authority.enqueue(...list.map((r) => ({ ...r, ...(r.delay === undefined ? {} : { delay: millis(r.delay) }) }))),
        json(200, { queued: list.length })
      )
    }
    case "POST configure": {
      const parsed = parse(Configure, body)
      if (Either.isLeft(parsed)) return bad(parsed.left)
      const { latency, ...rest } = parsed.right
      return Effect.as(
        authority.configure({ ...rest, ...(latency === undefined ? {} : { latency: millis(latency) }) }),
        json(200, { configured: true })
      )
    }
    case "GET requests":
      return Effect.map(authority.requests, (requests) => json(200, requests))
    case "POST reset":
      return Effect.as(authority.reset, json(200, { reset: true }))
    default:
      return Effect.succeed(json(404, { error: "not_found", error_description: `no control action ${action}` }))
  }
}
