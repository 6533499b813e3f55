import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Scope from "effect/Scope"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { authorizationCode } from "./authorizationCode.js"
import { clientCredentials } from "./clientCredentials.js"
import * as Control from "./control.js"
import * as Discovery from "./discovery.js"
import type { GrantHandler } from "./grant.js"
import { onBehalfOf } from "./onBehalfOf.js"
import { password } from "./password.js"
import { refreshToken } from "./refreshToken.js"
import * as ManagedIdentity from "./managedIdentity.js"
import { json, oauthError } from "./responses.js"
import * as Users from "./users.js"
import type {
  IncomingRequest,
  IssuedToken,
  OutgoingResponse,
  RecordedRequest,
  ScriptedResponse,
  Server,
  Service,
  Settings
} from "../../TestAuthority.js"

/** Token endpoint handlers by `grant_type`. */
const GRANTS: Readonly<Record<string, GrantHandler>> = {
  client_credentials: clientCredentials,
  authorization_code: authorizationCode,
  refresh_token: refreshToken,
  "urn:ietf:params:oauth:grant-type:jwt-bearer": onBehalfOf,
  password
}

const DEFAULTS: Settings = { expiresIn: 3599, latency: Duration.zero }

interface State {
  readonly settings: Settings
  readonly queue: ReadonlyArray<ScriptedResponse>
  readonly requests: ReadonlyArray<RecordedRequest>
  readonly issued: ReadonlyArray<IssuedToken>
}

const scripted = (r: ScriptedResponse): OutgoingResponse => ({
  ...(r.fault === undefined ? {} : { fault: r.fault }),
  status: r.status,
  headers: {
    ...(typeof r.body === "string" ? { "content-type": "text/plain" } : { "content-type": "application/json" }),
    ...r.headers
  },
  body: r.body === undefined ? "" : typeof r.body === "string" ? r.body : JSON.stringify(r.body)
})

/** The authority's mutable parts, shared by every request it handles. */
interface Live {
  readonly state: Ref.Ref<State>
  /** 1 for the first token issued by this authority, then 2, … */
  readonly nextSequence: () => number
  readonly recordIssued: (token: IssuedToken) => Effect.Effect<void>
  /** Sign-in: the authorize endpoint, user realms, codes and refresh tokens issued. */
  readonly users: ReturnType<typeof Users.make>
}

/** A request as the routes see it: lower-case header names, the form body decoded. */
interface Parsed {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly form: Readonly<Record<string, string>>
  readonly recorded: RecordedRequest
}

const parse = (request: IncomingRequest): Parsed => {
  const url = new URL(request.url)
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v
  const form: Record<string, string> = {}
  if ((headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
    for (const [k, v] of new URLSearchParams(request.body)) form[k] = v
  }
  const recorded: RecordedRequest = { method: request.method, url: request.url, path: url.pathname, headers, form }
  return { method: request.method, url, headers, form, recorded }
}

/**
 * Records the request and, for a token request, takes the next scripted answer off the
 * queue (atomically); returns the settings in force and that answer.
 */
const admit = (live: Live, { headers, method, recorded, url }: Parsed) =>
  Ref.modify(live.state, (s) => {
    const isToken = Discovery.isTokenRequest(method, url.pathname) ||
      ManagedIdentity.isManagedIdentityRequest(method, url.pathname, headers)
    const [next, ...rest] = isToken ? s.queue : []
    return [{ settings: s.settings, next }, {
      ...s,
      requests: [...s.requests, recorded],
      queue: next === undefined ? s.queue : rest
    }] as const
  })

/**
 * A discovery answer scripted in the settings, or the queued answer, each after its delay
 * (the configured latency applies to every request); `undefined` when the request is to be
 * answered by the routes.
 */
const scriptedAnswer = (
  { method, url }: Parsed,
  settings: Settings,
  next: ScriptedResponse | undefined
): Effect.Effect<OutgoingResponse | undefined> =>
  Effect.gen(function*() {
    const preRouted = Discovery.preRoute(method, url, settings)
    if (preRouted !== undefined) {
      if (preRouted.delay !== undefined) yield* Effect.sleep(preRouted.delay)
      return scripted(preRouted)
    }
    const delay = next?.delay === undefined ? settings.latency : next.delay
    if (Duration.toMillis(Duration.decode(delay)) > 0) yield* Effect.sleep(delay)
    return next === undefined ? undefined : scripted(next)
  })

/** The token endpoint: the handler of the request's `grant_type`, or `unsupported_grant_type`. */
const tokenEndpoint = (
  live: Live,
  { form, headers, url }: Parsed,
  settings: Settings,
  correlationId: string,
  nowMillis: number
): Effect.Effect<OutgoingResponse> => {
  const grant = form.grant_type ?? ""
  const handler = GRANTS[grant]
  if (handler === undefined) {
    return Effect.succeed(oauthError(
      400,
      "unsupported_grant_type",
      70003,
      `The app requested an unsupported grant type '${grant}'.`,
      correlationId,
      nowMillis
    ))
  }
  return handler({
    tenant: Discovery.tenantOf(url.pathname.split("/").filter((s) => s.length > 0)),
    form,
    headers,
    settings,
    correlationId,
    nowMillis,
    tokenEndpoint: `${url.origin}${url.pathname}`,
    nextSequence: live.nextSequence,
    recordIssued: live.recordIssued,
    directory: live.users.directory
  })
}

/** Routes a request: managed identity, the token endpoint, sign-in, discovery, else 404. */
const route = (live: Live, parsed: Parsed, settings: Settings): Effect.Effect<OutgoingResponse> =>
  Effect.gen(function*() {
    const { form, headers, method, url } = parsed
    const nowMillis = yield* Clock.currentTimeMillis
    const correlationId = headers["client-request-id"] ?? crypto.randomUUID()
    const managedIdentity = ManagedIdentity.route(method, url, headers, form, {
      settings,
      nowMillis,
      nextSequence: live.nextSequence,
      recordIssued: live.recordIssued
    })
    if (managedIdentity !== undefined) return yield* managedIdentity
    if (Discovery.isTokenRequest(method, url.pathname)) {
      return yield* tokenEndpoint(live, parsed, settings, correlationId, nowMillis)
    }
    const signIn = yield* live.users.route(method, url, form)
    if (signIn !== undefined) return signIn
    const discovered = Discovery.route(method, url, headers, settings, correlationId, nowMillis)
    if (discovered !== undefined) return discovered
    return json(404, { error: "not_found", error_description: `No route for ${method} ${url.pathname}` })
  })

/** Answers one request: recorded, then a scripted answer if there is one, else the routes'. */
const handle = (live: Live) => (request: IncomingRequest): Effect.Effect<OutgoingResponse> =>
  Effect.gen(function*() {
    const parsed = parse(request)
    const { next, settings } = yield* admit(live, parsed)
    const answer = yield* scriptedAnswer(parsed, settings, next)
    return answer ?? (yield* route(live, parsed, settings))
  })

/** @internal */
export const make = (initial?: Partial<Settings>): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const state = yield* Ref.make<State>({
      settings: { ...DEFAULTS, ...initial },
      queue: [],
      requests: [],
      issued: []
    })
    let counter = 0
    const live: Live = {
      state,
      nextSequence: () => ++counter,
      recordIssued: (token) => Ref.update(state, (s) => ({ ...s, issued: [...s.issued, token] })),
      users: Users.make(Effect.map(Ref.get(state), (s) => s.settings))
    }
    return {
      handle: handle(live),
      requests: Effect.map(Ref.get(state), (s) => s.requests),
      tokenRequests: Effect.map(
        Ref.get(state),
        (s) => s.requests.filter((r) => Discovery.isTokenRequest(r.method, r.path))
      ),
      issued: Effect.map(Ref.get(state), (s) => s.issued),
      configure: (settings) => Ref.update(state, (s) => ({ ...s, settings: { ...s.settings, ...settings } })),
      enqueue: (...responses) => Ref.update(state, (s) => ({ ...s, queue: [...s.queue, ...responses] })),
      reset: Ref.update(state, (s) => ({ ...s, queue: [], requests: [], issued: [] })),
      authorize: live.users.authorize,
      userAssertion: live.users.userAssertion
    }
  })

const toWeb = (response: OutgoingResponse): Response => {
  if (response.fault === "disconnectDuringBody") {
    // the status line and half the body arrive, then the connection breaks
    const half = new TextEncoder().encode(response.body.slice(0, Math.floor(response.body.length / 2)))
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(half)
        controller.error(new Error("socket hang up"))
      }
    })
    return new Response(body, { status: response.status, headers: response.headers })
  }
  return new Response(response.status === 204 || response.status === 304 ? null : response.body, {
    status: response.status,
    headers: response.headers
  })
}

/** @internal */
export const httpClientFor = (authority: Service): HttpClient.HttpClient =>
  HttpClient.make((request, url) => {
    const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
    return Effect.flatMap(
      authority.handle({ method: request.method, url: url.href, headers: request.headers, body }),
      (response) =>
        response.fault === "disconnect" || response.fault === "refuse"
          ? Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              cause: response.fault === "refuse"
                ? Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })
                : Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
            })
          )
          : Effect.succeed(HttpClientResponse.fromWeb(request, toWeb(response)))
    )
  })

/** @internal */
export const serve = (
  authority: Service,
  options?: { readonly port?: number | undefined }
): Effect.Effect<Server, never, Scope.Scope> =>
  Effect.gen(function*() {
    // a request still being answered when the scope closes (a latency, a scripted delay) is
    // interrupted with it, instead of outliving the server
    const run = yield* FiberSet.makeRuntimePromise()
    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v
        const host = headers["x-forwarded-host"] ?? headers.host ?? "127.0.0.1"
        const path = (req.url ?? "/").split("?")[0] ?? "/"
        const body = Buffer.concat(chunks).toString("utf8")
        const method = req.method ?? "GET"
        run(
          path.startsWith(Control.CONTROL_PREFIX)
            ? Control.control(authority, method, path, body)
            : authority.handle({ method, url: `https://${host}${req.url ?? "/"}`, headers, body })
        ).then(
          (response) => {
            if (response.fault === "disconnect" || response.fault === "refuse") {
              req.socket.destroy()
              return
            }
            if (response.fault === "disconnectDuringBody") {
              res.writeHead(response.status, {
                ...response.headers,
                "content-length": String(Buffer.byteLength(response.body))
              })
              res.write(response.body.slice(0, Math.floor(response.body.length / 2)), () => req.socket.destroy())
              return
            }
            res.writeHead(response.status, response.headers)
            res.end(response.body)
          },
          () => {
            if (res.headersSent || res.destroyed) return
            res.writeHead(500)
            res.end()
          }
        )
      })
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        // a port in use is a defect with the listen error's message, not an uncaught exception
        server.once("error", (error) => resume(Effect.die(error)))
        server.listen(options?.port ?? 0, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const port = (server.address() as AddressInfo).port
    return { url: `http://127.0.0.1:${port}`, port }
  })

/** @internal */
export const layerHttpClientVia = (baseUrl: string): Layer.Layer<HttpClient.HttpClient> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.mapRequest(client, (request) => {
        const original = new URL(request.url)
        return request.pipe(
          HttpClientRequest.setUrl(`${baseUrl}${original.pathname}${original.search}`),
          HttpClientRequest.setHeader("x-forwarded-host", original.host)
        )
      }))
  ).pipe(Layer.provide(FetchHttpClient.layer))
