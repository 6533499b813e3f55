import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import type { Scope } from "effect"
import { Clock, Duration, Effect, Layer, Ref, Runtime } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type {
  IncomingRequest,
  IssuedToken,
  OutgoingResponse,
  RecordedRequest,
  ScriptedResponse,
  Server,
  Service,
  Settings
} from "../TestAuthority.js"

const DEFAULTS: Settings = { expiresIn: 3599, latency: Duration.zero }

const b64url = (value: string | Uint8Array): string => Buffer.from(value).toString("base64url")

interface State {
  readonly settings: Settings
  readonly queue: ReadonlyArray<ScriptedResponse>
  readonly requests: ReadonlyArray<RecordedRequest>
  readonly issued: ReadonlyArray<IssuedToken>
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): OutgoingResponse => ({
  status,
  headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  body: JSON.stringify(body)
})

const oauthError = (
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

const scripted = (r: ScriptedResponse): OutgoingResponse => ({
  status: r.status,
  headers: {
    ...(typeof r.body === "string" ? { "content-type": "text/plain" } : { "content-type": "application/json" }),
    ...r.headers
  },
  body: r.body === undefined ? "" : typeof r.body === "string" ? r.body : JSON.stringify(r.body)
})

/** An app token shaped like Entra's (a JWT of about 1 KB with a fake signature). */
const appToken = (claims: Record<string, unknown>): string =>
  `${b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid: "test-authority-key" }))}.${
    b64url(JSON.stringify(claims))
  }.${b64url(crypto.getRandomValues(new Uint8Array(256)))}`

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

    const clientCredentials = (
      tenant: string,
      form: Readonly<Record<string, string>>,
      settings: Settings,
      correlationId: string,
      nowMillis: number
    ): Effect.Effect<OutgoingResponse> => {
      const clientId = form.client_id ?? ""
      const fail = (status: number, error: string, code: number, text: string) =>
        Effect.succeed(oauthError(status, error, code, text, correlationId, nowMillis))
      if (clientId.length === 0) {
        return fail(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
      }
      const registered = settings.clients?.[clientId]
      if (settings.clients !== undefined && registered === undefined) {
        return fail(400, "unauthorized_client", 700016, `Application with identifier '${clientId}' was not found in the directory.`)
      }
      if (form.client_secret === undefined && form.client_assertion === undefined) {
        return fail(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
      }
      if (form.client_secret !== undefined && registered?.secret !== undefined && form.client_secret !== registered.secret) {
        return fail(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
      }
      const scopes = (form.scope ?? "").split(" ").filter((s) => s.length > 0)
      if (scopes.length === 0) {
        return fail(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
      }
      const bad = scopes.find((s) => !s.endsWith("/.default"))
      if (bad !== undefined) {
        return fail(400, "invalid_scope", 1002012, `The provided value for scope ${bad} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`)
      }
      const now = Math.floor(nowMillis / 1000)
      counter += 1
      const resource = scopes[0]!.slice(0, -"/.default".length)
      const accessToken = appToken({
        aud: resource,
        iss: `https://sts.windows.net/${tenant}/`,
        iat: now,
        nbf: now,
        exp: now + settings.expiresIn,
        aio: "E2ZgYJj0test",
        app_displayname: "effect-msal test app",
        appid: clientId,
        appidacr: "1",
        idp: `https://sts.windows.net/${tenant}/`,
        idtyp: "app",
        oid: crypto.randomUUID(),
        rh: "0.AAAA",
        roles: ["Test.Read.All"],
        sub: clientId,
        tid: tenant,
        uti: `at-${counter}`,
        ver: "1.0",
        ...(form.claims === undefined ? {} : { xms_cc: ["CP1"] })
      })
      const issued: IssuedToken = {
        accessToken,
        sequence: counter,
        grantType: "client_credentials",
        clientId,
        tenant,
        scopes,
        expiresIn: settings.expiresIn,
        ...(form.claims === undefined ? {} : { claims: form.claims })
      }
      return Ref.update(state, (s) => ({ ...s, issued: [...s.issued, issued] })).pipe(
        Effect.as(json(200, {
          token_type: "Bearer",
          expires_in: settings.expiresIn,
          ext_expires_in: settings.extExpiresIn ?? settings.expiresIn,
          ...(settings.refreshIn === undefined ? {} : { refresh_in: settings.refreshIn }),
          access_token: accessToken
        }))
      )
    }

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
          const grant = form.grant_type
          if (grant === "client_credentials") {
            return yield* clientCredentials(tenant, form, before.settings, correlationId, nowMillis)
          }
          return oauthError(400, "unsupported_grant_type", 70003, `The app requested an unsupported grant type '${grant ?? ""}'.`, correlationId, nowMillis)
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
