/**
 * Serving an `HttpApp` with @effect/platform's `HttpServer` and the Node platform layer.
 */
import type { HttpApp, HttpServerError, HttpServerRequest } from "@effect/platform"
import { HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type { Scope } from "effect"
import { Config, Context, Effect, Layer } from "effect"
import * as Http from "node:http"

/** Where to listen. */
export interface ListenOptions {
  /** 0 picks a free port. */
  readonly port: number
  /** Default 127.0.0.1. */
  readonly host?: string | undefined
}

/** `PORT` (0 for any free port; default `port`) and `HOST` (default 127.0.0.1) from the environment. */
export const listenConfig = (port: number): Config.Config<ListenOptions> =>
  Config.all({
    port: Config.integer("PORT").pipe(
      Config.validate({ message: "must be a port number from 0 to 65535", validation: (n) => n >= 0 && n <= 65535 }),
      Config.withDefault(port)
    ),
    host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
  })

/** The URL of a server's address (`http://127.0.0.1:3000`). */
export const urlOf = (address: HttpServer.Address): string =>
  address._tag === "UnixAddress" ? `http+unix://${address.path}` : `http://${address.hostname}:${address.port}`

/** The Node HTTP server as a layer (`HttpServer.HttpServer` and the platform services). */
export const layerNode = (options: ListenOptions) =>
  NodeHttpServer.layer(() => Http.createServer(), { port: options.port, host: options.host ?? "127.0.0.1" })

/**
 * Serves `app` until the scope closes; its URL. The app's own needs come from the context.
 */
export const listen = <E, R>(
  app: HttpApp.Default<E, R>,
  options: ListenOptions
): Effect.Effect<
  string,
  HttpServerError.ServeError,
  Scope.Scope | Exclude<R, HttpServerRequest.HttpServerRequest | Scope.Scope>
> =>
  Effect.map(
    Layer.build(HttpServer.serve(app).pipe(Layer.provideMerge(layerNode(options)))),
    (context) => urlOf(Context.get(context, HttpServer.HttpServer).address)
  )
