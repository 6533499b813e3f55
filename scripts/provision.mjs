// `npm test` runs this first (the `pretest` script): it makes sure the system programs the test
// suite uses are on the machine, and installs Debian's packages for the missing ones when it can.
//   chromium      /usr/bin/chromium: the web-app example's browser tests (playwright-core drives it)
//   redis-server  the Redis store's tests start throwaway servers on 127.0.0.1
//   openssl       the credential tests make certificates and PKCS#12 files with it
//   python3-msal  MSAL Python (Debian's 1.21), run with /usr/bin/python3 by the interop tests
// As root with apt-get it runs `apt-get update` and `apt-get install -y <missing>`. Otherwise it
// stops at once with one line naming the command to run; no test is skipped in silence.
import { spawnSync } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { delimiter, join } from "node:path"
import { pathToFileURL } from "node:url"

const executable = (path) => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Whether `command` is an executable file in one of the directories of `PATH`. */
export const onPath = (command, path = process.env.PATH ?? "") =>
  path.split(delimiter).some((dir) => dir !== "" && executable(join(dir, command)))

/** What the test suite needs: a Debian package and a quick check (no program is started but Python). */
export const requirements = [
  { pkg: "chromium", present: () => executable("/usr/bin/chromium") },
  { pkg: "redis-server", present: () => onPath("redis-server") },
  { pkg: "openssl", present: () => onPath("openssl") },
  {
    pkg: "python3-msal",
    // find_spec does not import msal (and its dependencies): about 0.1 s
    present: () =>
      executable("/usr/bin/python3") &&
      spawnSync("/usr/bin/python3", [
          "-c",
          "import importlib.util,sys; sys.exit(importlib.util.find_spec('msal') is None)"
        ], {
          stdio: "ignore",
          timeout: 5_000
        }).status === 0
  }
]

/**
 * Checks `requirements`, installs what is missing with apt-get when running as root, and returns
 * the exit code. Every effect is a parameter so the tests can drive each branch.
 */
export const provision = ({
  requirements: reqs = requirements,
  isRoot = process.getuid?.() === 0,
  hasApt = onPath("apt-get"),
  run = (command, args) =>
    spawnSync(command, args, {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    }).status,
  say = (line) => process.stderr.write(`${line}\n`)
} = {}) => {
  const missing = reqs.filter((r) => !r.present()).map((r) => r.pkg)
  if (missing.length === 0) return 0
  const install = `apt-get install -y ${missing.join(" ")}`
  if (!hasApt) {
    say(`npm test needs ${missing.join(", ")}: install them (Debian: \`${install}\` as root), then run npm test again`)
    return 1
  }
  if (!isRoot) {
    say(`npm test needs ${missing.join(", ")}: run \`sudo apt-get update && sudo ${install}\`, then npm test again`)
    return 1
  }
  say(`npm test: installing ${missing.join(" ")} (apt-get)`)
  // a fresh machine has no package lists; a stale list can name versions no longer served
  if (run("apt-get", ["update", "-qq"]) !== 0) {
    say(`npm test: \`apt-get update\` failed; run \`apt-get update && ${install}\` and look at its output`)
    return 1
  }
  if (run("apt-get", ["install", "-y", "-qq", ...missing]) !== 0) {
    say(`npm test: \`${install}\` failed; run it by hand and look at its output`)
    return 1
  }
  const still = reqs.filter((r) => !r.present()).map((r) => r.pkg)
  if (still.length > 0) {
    say(`npm test: ${still.join(", ")} still missing after \`${install}\``)
    return 1
  }
  return 0
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = provision()
}
