/**
 * A temporary directory for one test file, removed after its tests, and fresh places in it.
 * Call at the top level of a test file (it registers an `afterAll`).
 */
import { afterAll } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"

export const tempFiles = (prefix: string) => {
  const root = fs.mkdtempSync(nodePath.join(os.tmpdir(), `effect-msal-${prefix}-`))
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
  let n = 0
  /** A new, empty directory. */
  const freshDir = () => {
    const dir = nodePath.join(root, `c-${++n}`)
    fs.mkdirSync(dir)
    return dir
  }
  /** `tokens.json` in a new, empty directory (the file itself does not exist). */
  const freshFile = () => nodePath.join(freshDir(), "tokens.json")
  return { root, freshDir, freshFile }
}
