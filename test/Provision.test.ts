import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { Requirement } from "../scripts/provision.mjs"
import { provision, requirements } from "../scripts/provision.mjs"

/** A requirement that is missing until `installed` is set. */
const fake = (pkg: string, state: { installed: boolean }): Requirement => ({ pkg, present: () => state.installed })

const harness = (options: { isRoot: boolean; hasApt: boolean; installWorks?: boolean; installs?: boolean }) => {
  const chromium = { installed: false }
  const python = { installed: false }
  const calls: Array<string> = []
  const said: Array<string> = []
  const code = provision({
    requirements: [fake("chromium", chromium), { pkg: "openssl", present: () => true }, fake("python3-msal", python)],
    isRoot: options.isRoot,
    hasApt: options.hasApt,
    run: (command, args) => {
      calls.push([command, ...args].join(" "))
      if (args[0] === "install" && options.installs !== false) {
        chromium.installed = true
        python.installed = true
      }
      return args[0] === "install" && options.installWorks === false ? 100 : 0
    },
    say: (line) => said.push(line)
  })
  return { code, calls, said }
}

describe("npm test provisions what the tests need (scripts/provision.mjs)", () => {
  it("the suite's system programs: Debian's chromium, redis-server, openssl and python3-msal", () => {
    expect(requirements.map((r) => r.pkg)).toEqual(["chromium", "redis-server", "openssl", "python3-msal"])
  })

  it("npm test runs it first, and CI runs the README's command instead of installing by itself", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }
    expect(pkg.scripts["pretest"]).toBe("node scripts/provision.mjs")
    const ci = readFileSync(".ci/run", "utf8")
    expect(ci).toMatch(/^npm test$/m)
    expect(ci).not.toMatch(/apt-get (update|install)/)
    expect(readFileSync("README.md", "utf8")).toContain("npm ci && npm test")
  })

  it("nothing missing: no command runs and nothing is printed", () => {
    const calls: Array<string> = []
    const said: Array<string> = []
    const code = provision({
      requirements: [{ pkg: "openssl", present: () => true }],
      isRoot: true,
      hasApt: true,
      run: (c) => (calls.push(c), 0),
      say: (l) => said.push(l)
    })
    expect({ code, calls, said }).toEqual({ code: 0, calls: [], said: [] })
  })

  it("as root with apt-get: updates the lists and installs exactly the missing packages", () => {
    const { calls, code, said } = harness({ isRoot: true, hasApt: true })
    expect(code).toBe(0)
    expect(calls).toEqual(["apt-get update -qq", "apt-get install -y -qq chromium python3-msal"])
    expect(said).toEqual(["npm test: installing chromium python3-msal (apt-get)"])
  })

  it("not root: one line naming the exact command, and nothing runs", () => {
    const { calls, code, said } = harness({ isRoot: false, hasApt: true })
    expect(code).toBe(1)
    expect(calls).toEqual([])
    expect(said).toEqual([
      "npm test needs chromium, python3-msal: run `sudo apt-get update && sudo apt-get install -y chromium python3-msal`, then npm test again"
    ])
  })

  it("no apt-get: one line naming the packages and the Debian command", () => {
    const { calls, code, said } = harness({ isRoot: true, hasApt: false })
    expect(code).toBe(1)
    expect(calls).toEqual([])
    expect(said).toHaveLength(1)
    expect(said[0]).toContain("`apt-get install -y chromium python3-msal`")
  })

  it("a failed install, or a package still missing after it, stops with one line", () => {
    const failed = harness({ isRoot: true, hasApt: true, installWorks: false })
    expect(failed.code).toBe(1)
    expect(failed.said.slice(1)).toEqual([
      "npm test: `apt-get install -y chromium python3-msal` failed; run it by hand and look at its output"
    ])
    const missing = harness({ isRoot: true, hasApt: true, installs: false })
    expect(missing.code).toBe(1)
    expect(missing.said.slice(1)).toEqual([
      "npm test: chromium, python3-msal still missing after `apt-get install -y chromium python3-msal`"
    ])
  })

  it("the script itself, as a user who is not root on a PATH without redis-server and openssl: one line, and apt-get never runs", () => {
    const dir = mkdtempSync(join(tmpdir(), "effect-msal-provision-"))
    try {
      chmodSync(dir, 0o755)
      // an apt-get that only records that it was started: the script must not start it
      writeFileSync(join(dir, "apt-get"), `#!/bin/sh\necho "$*" >> "${dir}/apt.log"\n`)
      chmodSync(join(dir, "apt-get"), 0o755)
      // a copy the other user can read wherever the repository is (CI's clone may be under /root)
      const script = join(dir, "provision.mjs")
      copyFileSync("scripts/provision.mjs", script)
      chmodSync(script, 0o644)
      const asOtherUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}
      const runner = `const { provision } = await import(${
        JSON.stringify(pathToFileURL(script).href)
      }); process.exitCode = provision()`
      const run = spawnSync(process.execPath, ["--input-type=module", "-e", runner], {
        env: { PATH: dir },
        encoding: "utf8",
        timeout: 20_000,
        ...asOtherUser
      })
      expect(run.status).toBe(1)
      const lines = run.stderr.split("\n").filter((l) => l.length > 0)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(
        /^npm test needs .*redis-server, openssl.*: run `sudo apt-get update && sudo apt-get install -y .*redis-server openssl.*`, then npm test again$/
      )
      // and run as npm runs it
      const direct = spawnSync(process.execPath, [script], {
        env: { PATH: dir },
        encoding: "utf8",
        timeout: 20_000,
        ...asOtherUser
      })
      expect(direct.status).toBe(1)
      expect(direct.stdout).toBe("")
      expect(direct.stderr.trim()).toBe(lines[0])
      expect(existsSync(join(dir, "apt.log"))).toBe(false)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it("the script itself, as root with apt-get: runs apt-get update, then install of exactly what is missing, and exits 0 once it is there", () => {
    const dir = mkdtempSync(join(tmpdir(), "effect-msal-provision-"))
    try {
      chmodSync(dir, 0o755)
      // an apt-get that logs its arguments and "installs" a package by putting an executable on PATH
      const fakeApt = join(dir, "apt-get")
      writeFileSync(
        fakeApt,
        `#!/bin/sh\necho "$*" >> "${dir}/apt.log"\n[ "$1" = install ] || exit 0\nfor p in "$@"; do case "$p" in -*|install) ;; *) printf '#!/bin/sh\\n' > "${dir}/$p"; /bin/chmod 755 "${dir}/$p";; esac; done\n`
      )
      chmodSync(fakeApt, 0o755)
      const script = join(dir, "provision.mjs")
      copyFileSync("scripts/provision.mjs", script)
      const isRoot = process.getuid?.() === 0
      const run = spawnSync(process.execPath, [script], { env: { PATH: dir }, encoding: "utf8", timeout: 20_000 })
      if (isRoot) {
        expect(run.stderr.split("\n").filter((l) => l.length > 0)[0]).toMatch(
          /^npm test: installing .*redis-server openssl.* \(apt-get\)$/
        )
        expect(run.status).toBe(0)
        const log = readFileSync(join(dir, "apt.log"), "utf8").trim().split("\n")
        expect(log[0]).toBe("update -qq")
        expect(log[1]).toMatch(/^install -y -qq (chromium )?redis-server openssl( python3-msal)?$/)
        expect(log).toHaveLength(2)
      } else {
        // not root: the one line, and apt-get never runs
        expect(run.status).toBe(1)
        expect(run.stderr).toContain("sudo apt-get install -y")
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
