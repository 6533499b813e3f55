/**
 * A tiny HTTP CONNECT proxy on 127.0.0.1 for tests: it records each tunnel it is asked for and
 * the first line sent through it, then pipes bytes both ways. Tunnels to a host outside
 * `allow` are refused with 403, so nothing leaves the machine.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Net from "node:net"

export interface Tunnel {
  /** The CONNECT target, `host:port`. */
  readonly target: string
  /** The `Proxy-Authorization` header, when sent. */
  readonly authorization: string | undefined
  /** The first line sent through the tunnel (the request line, for plain HTTP inside). */
  firstLine?: string | undefined
}

export const startConnectProxy = async (allow: (host: string) => boolean = (host) => host === "127.0.0.1") => {
  const tunnels: Array<Tunnel> = []
  const sockets = new Set<Net.Socket>()
  const server = Http.createServer((_, res) => res.writeHead(405).end())
  server.on("connect", (req: Http.IncomingMessage, client: Net.Socket, head: Buffer) => {
    sockets.add(client)
    client.on("close", () => sockets.delete(client))
    const target = req.url ?? ""
    const tunnel: Tunnel = { target, authorization: req.headers["proxy-authorization"] }
    tunnels.push(tunnel)
    const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))]
    if (!allow(host)) {
      client.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
      return
    }
    const upstream = Net.connect(port, host, () => {
      client.once("data", (chunk: Buffer) => {
        tunnel.firstLine = chunk.toString("latin1").split("\r\n", 1)[0]
      })
      client.pipe(upstream)
      upstream.pipe(client)
      if (head.length > 0) upstream.write(head)
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n")
    })
    sockets.add(upstream)
    upstream.on("close", () => sockets.delete(upstream))
    upstream.on("error", () => client.destroy())
    client.on("error", () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}
