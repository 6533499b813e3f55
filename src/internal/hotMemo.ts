/**
 * Request shapes already seen, for the cache-hit fast path: a request's scopes array (as the
 * caller wrote it: order and duplicates included) under a tenant leads to what was prepared
 * for it, without validating or normalising the scopes again.
 *
 * Only shapes that passed validation are added, and the lookup compares each element with
 * `Map.get` (SameValueZero): an element that is not a string, or a string that is not one of
 * the validated scopes on that path, finds nothing, so an invalid request always takes the
 * full path and fails there as before.
 * @internal
 */

interface Node<V> {
  readonly next: Map<unknown, Node<V>>
  value: V | undefined
}

const node = <V>(): Node<V> => ({ next: new Map(), value: undefined })

/** The most shapes remembered per client before the memo starts again from empty. */
const MAX_SHAPES = 1_000

/** @internal */
export interface HotMemo<V> {
  /** What was prepared for these scopes under this tenant (`undefined`: the authority's own), else `undefined`. */
  readonly find: (tenant: unknown, scopes: unknown) => V | undefined
  /** Remembers a validated shape; the scopes are the caller's, as validated (copy them first). */
  readonly add: (tenant: string | undefined, scopes: ReadonlyArray<string>, value: V) => void
}

/** @internal */
export const make = <V>(): HotMemo<V> => {
  let root = node<V>()
  let tenants = new Map<string, Node<V>>()
  let size = 0
  const find = (tenant: unknown, scopes: unknown): V | undefined => {
    let at = tenant === undefined ? root : typeof tenant === "string" ? tenants.get(tenant) : undefined
    if (at === undefined || !Array.isArray(scopes) || scopes.length === 0) return undefined
    for (let i = 0; i < scopes.length; i++) {
      at = at.next.get(scopes[i])
      if (at === undefined) return undefined
    }
    return at.value
  }
  const add = (tenant: string | undefined, scopes: ReadonlyArray<string>, value: V): void => {
    if (scopes.length === 0) return
    if (size >= MAX_SHAPES) {
      root = node()
      tenants = new Map()
      size = 0
    }
    let at: Node<V> | undefined = tenant === undefined ? root : tenants.get(tenant)
    if (at === undefined) {
      at = node()
      tenants.set(tenant!, at)
    }
    for (const scope of scopes) {
      let next: Node<V> | undefined = at.next.get(scope)
      if (next === undefined) {
        next = node()
        at.next.set(scope, next)
      }
      at = next
    }
    if (at.value === undefined) size++
    at.value = value
  }
  return { find, add }
}
