import * as Effect from "effect/Effect"
import type { Section } from "../CacheEntry.js"
import type { CacheError } from "../MsalError.js"
import type { Change, Service, Snapshot } from "../TokenCache.js"
import * as serialization from "./serialization.js"

import type { Access } from "../TokenCache.js"

export type { Access }

/** @internal */
export interface Hooks {
  readonly beforeAccess: (access: Access) => Effect.Effect<void, CacheError>
  readonly afterAccess: (access: Access) => Effect.Effect<void, CacheError>
}

/** Runs the hooks around every access to `inner`; a hook's failure fails the access. @internal */
export const wrap = (inner: Service, hooks: Hooks): Service => {
  const serialize = (options?: { readonly format?: serialization.Format | undefined }) =>
    Effect.map(inner.snapshot, (s) => serialization.encode(s, options?.format))
  const deserialize = (json: string) => Effect.flatMap(serialization.decode(json), inner.restore)
  const access = (kind: Access["kind"], section: Section | undefined, changed: boolean): Access => ({
    kind,
    ...(section === undefined ? {} : { section }),
    changed,
    serialize,
    deserialize
  })
  const around = <A>(
    kind: Access["kind"],
    section: Section | undefined,
    changed: (a: A) => boolean,
    effect: Effect.Effect<A, CacheError>
  ): Effect.Effect<A, CacheError> =>
    Effect.zipRight(
      hooks.beforeAccess(access(kind, section, false)),
      Effect.tap(effect, (a) => hooks.afterAccess(access(kind, section, changed(a))))
    )
  const never = () => false
  return {
    get: (section, key) => around("read", section, never, inner.get(section, key)),
    list: (section, partition) => around("read", section, never, inner.list(section, partition)),
    modify: (changes: ReadonlyArray<Change>) =>
      around(
        "write",
        changes.length === 1 ? changes[0]?.section : undefined,
        () => changes.length > 0,
        inner.modify(changes)
      ),
    snapshot: around("read", undefined, never, inner.snapshot),
    restore: (s: Snapshot) => around("write", undefined, () => true, inner.restore(s)),
    ...(inner.withLock === undefined ? {} : { withLock: inner.withLock })
  }
}
