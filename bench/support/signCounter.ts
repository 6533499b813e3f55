/**
 * Counts RSA/EC signing operations made in this process, whatever the library: node's
 * `crypto.createSign`/`crypto.sign` (used by jsonwebtoken) and WebCrypto's `subtle.sign`
 * (used by jose).
 */
import { createRequire } from "node:module"

type NodeCrypto = typeof import("node:crypto")

export interface SignCounter {
  readonly count: () => number
  readonly uninstall: () => void
}

export const install = (): SignCounter => {
  let count = 0
  const nodeCrypto = createRequire(import.meta.url)("node:crypto") as {
    -readonly [K in keyof NodeCrypto]: NodeCrypto[K]
  }
  const { createSign, sign } = nodeCrypto
  const subtle = Object.getPrototypeOf(globalThis.crypto.subtle) as { sign: SubtleCrypto["sign"] }
  const subtleSign = subtle.sign
  nodeCrypto.createSign = ((...args: Parameters<NodeCrypto["createSign"]>) => {
    count++
    return createSign(...args)
  }) as NodeCrypto["createSign"]
  nodeCrypto.sign = ((...args: Parameters<NodeCrypto["sign"]>) => {
    count++
    return (sign as (...a: Parameters<NodeCrypto["sign"]>) => unknown)(...args)
  }) as NodeCrypto["sign"]
  subtle.sign = function(this: SubtleCrypto, ...args: Parameters<SubtleCrypto["sign"]>) {
    count++
    return subtleSign.apply(this, args)
  }
  return {
    count: () => count,
    uninstall: () => {
      nodeCrypto.createSign = createSign
      nodeCrypto.sign = sign
      subtle.sign = subtleSign
    }
  }
}
