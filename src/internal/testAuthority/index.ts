import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import type { Scope } from "effect"
import { Clock, Duration, Effect, Layer, Ref, Runtime } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { clientCredentials } from "./clientCredentials.js"
import type { GrantHandler } from "./grant.js"
import { json, oauthError } from "./responses.js"
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
  client_credentials: clientCredentials
}

const DEFAULTS: Settings = { expiresIn: 3599, latency: Duration.zero }


interface State {
  readonly settings: Settings
  readonly queue: ReadonlyArray<ScriptedResponse>
  readonly requests: ReadonlyArray<RecordedRequest>
  readonly issued: ReadonlyArray<IssuedToken>
}

const scripted = (r: ScriptedResponse): OutgoingResponse => ({
  status: r.status,
  headers: {
    ...(typeof r.body === "string" ? { "content-type": "text/plain" } : { "content-type": "application/json" }),
    ...r.headers
  },
  body: r.body === undefined ? "" : typeof r.body === "string" ? r.body : JSON.stringify(r.body)
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

    const handle = (request: IncomingRequest): Effect.Effect<OutgoingResponse> =>
      Effect.gen(function*() {
        const url = new URL(request.url)
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v
        const form: Record<string, string> = {}
        if ((headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
          for (const [k, v] of new URLSearchParams(request.body)) form[k] = v
        }
        const recorded: RecordedRequest = { method: request.method, url: request.url, path: url.pathname, headers, form }
        const before = yield* Ref.modify(state, (s) => {
          const isToken = request.method === "POST" && url.pathname.endsWith("/oauth2/v2.0/token")
          const [next, ...rest] = isToken ? s.queue : []
          return [{ settings: s.settings, next }, {
            ...s,
            requests: [...s.requests, recorded],
            queue: next === undefined ? s.queue : rest
          }] as const
        })
        const delay = before.next?.delay === undefined ? before.settings.latency : before.next.delay
        if (Duration.toMillis(Duration.decode(delay)) > 0) yield* Effect.sleep(delay)
        if (before.next !== undefined) return scripted(before.next)
        const nowMillis = yield* Clock.currentTimeMillis
        const correlationId = headers["client-request-id"] ?? crypto.randomUUID()
        const segments = url.pathname.split("/").filter((s) => s.length > 0)
        const tenant = segments[0] ?? ""
        if (request.method === "POST" && segments.slice(1).join("/") === "oauth2/v2.0/token") {
          const grant = form.grant_type ?? ""
          const handler = GRANTS[grant]
          if (handler === undefined) {
            return oauthError(400, "unsupported_grant_type", 70003, `The app requested an unsupported grant type '${grant}'.`, correlationId, nowMillis)
          }
          return yield* handler({
            tenant,
            form,
            headers,
            settings: before.settings,
            correlationId,
            nowMillis,
            tokenEndpoint: `${url.origin}${url.pathname}`,
            nextSequence: () => ++counter,
            recordIssued: (token) => Ref.update(state, (s) => ({ ...s, issued: [...s.issued, token] }))
          })
        }
        return json(404, { error: "not_found", error_description: `No route for ${request.method} ${url.pathname}` })
      })

    return {
      handle,
      requests: Effect.map(Ref.get(state), (s) => s.requests),
      tokenRequests: Effect.map(
        Ref.get(state),
        (s) => s.requests.filter((r) => r.method === "POST" && r.path.endsWith("/oauth2/v2.0/token"))
      ),
      issued: Effect.map(Ref.get(state), (s) => s.issued),
      configure: (settings) => Ref.update(state, (s) => ({ ...s, settings: { ...s.settings, ...settings } })),
      enqueue: (...responses) => Ref.update(state, (s) => ({ ...s, queue: [...s.queue, ...responses] })),
      reset: Ref.update(state, (s) => ({ ...s, queue: [], requests: [], issued: [] }))
    }
  })

const toWeb = (response: OutgoingResponse): Response =>
  new Response(response.status === 204 || response.status === 304 ? null : response.body, {
    status: response.status,
    headers: response.headers
  })

/** @internal */
export const httpClientFor = (authority: Service): HttpClient.HttpClient =>
    HttpClient.make((request, url) => {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
      return Effect.map(
        authority.handle({ method: request.method, url: url.href, headers: request.headers, body }),
        (response) => HttpClientResponse.fromWeb(request, toWeb(response))
      )
    })

/** @internal */
export const serve = (
  authority: Service,
  options?: { readonly port?: number | undefined }
): Effect.Effect<Server, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runPromise(runtime)
    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v
        const host = headers["x-forwarded-host"] ?? headers.host ?? "127.0.0.1"
        run(authority.handle({
          method: req.method ?? "GET",
          url: `https://${host}${req.url ?? "/"}`,
          headers,
          body: Buffer.concat(chunks).toString("utf8")
        })).then(
          (response) => {
            res.writeHead(response.status, response.headers)
            res.end(response.body)
          },
          () => {
            res.writeHead(500)
            res.end()
          }
        )
      })
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
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
