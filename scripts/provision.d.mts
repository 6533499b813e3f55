// Types for scripts/provision.mjs, so the TypeScript tests can import it.
/** One system program the test suite needs: its Debian package and a quick presence check. */
export interface Requirement {
  readonly pkg: string
  readonly present: () => boolean
}
/** Whether `command` is an executable file in a directory of `path` (default `process.env.PATH`). */
export declare const onPath: (command: string, path?: string) => boolean
/** chromium, redis-server, openssl, python3-msal, each with its check. */
export declare const requirements: ReadonlyArray<Requirement>
/** Checks and installs (as root, with apt-get) what is missing; the exit code. */
export declare const provision: (options?: {
  readonly requirements?: ReadonlyArray<Requirement>
  readonly isRoot?: boolean
  readonly hasApt?: boolean
  readonly run?: (command: string, args: ReadonlyArray<string>) => number | null
  readonly say?: (line: string) => void
}) => number
