/** The results of one `npm run bench` run. */
import type { PythonResults } from "../support/python.js"
import type { CacheHitResult } from "../tasks/cacheHit.js"
import type { ConcurrencyResult } from "../tasks/concurrency.js"
import type { HeapResult } from "../tasks/heap.js"
import type { OboHitResult } from "../tasks/oboHit.js"
import type { SerializationResult } from "../tasks/serialization.js"
import type { SignaturesResult } from "../tasks/signatures.js"

export type Library = "ours" | "msal"

export interface ColdRun {
  /** Node bootstrap done (first line of the script), ms since process start. */
  readonly boot: number
  /** Peer dependencies (effect, @effect/platform) imported, ms since process start; `boot` for msal-node. */
  readonly peers: number
  /** Library imported, ms since process start. */
  readonly imported: number
  /** First token received, ms since process start. */
  readonly token: number
  /** Spawn to exit, as the parent saw it. */
  readonly wall: number
}

export interface Results {
  readonly date: string
  readonly machine: {
    readonly cpus: number
    readonly cpuModel: string
    readonly memoryGiB: number
    readonly node: string
    readonly platform: string
    /** 1-minute load average when the run started and when it ended (other work on the machine). */
    readonly loadAverage: readonly [number, number]
  }
  readonly command: string
  readonly versions: { readonly ours: string; readonly msal: string; readonly effect: string }
  readonly cacheHit: Array<CacheHitResult & { readonly authorityRequests: number }>
  /** On-behalf-of cache hits by number of users (absent in results written before it was added). */
  readonly oboHit?: Array<OboHitResult & { readonly authorityRequests: number }> | undefined
  readonly concurrency: Array<ConcurrencyResult & { readonly atAuthority: number }>
  readonly heap: Array<HeapResult>
  readonly serialization: Array<SerializationResult>
  readonly signatures: Array<SignaturesResult & { readonly tokenRequests: number; readonly distinctAssertions: number }>
  /** `bundled`: the same script bundled with esbuild into one file (bench/support/bundle.ts). */
  readonly coldStart: Array<{ readonly library: Library; readonly bundled?: boolean; readonly runs: Array<ColdRun> }>
  /** MSAL Python's figures for the same tasks (absent in results written before it was added). */
  readonly python?: PythonResults | undefined
  readonly totalSeconds: number
}
