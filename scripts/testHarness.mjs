// Self-test of the code-server test harness (npm run test:harness), with test/fixtures/harness-extension
// standing in for BN Lens: passing, failing and hanging extension-host tests, a SIGTERM mid-run, passing
// and failing browser tests. Each scenario runs the real runner as a child and checks its exit code, its
// report, its screenshots, its duration, and that no process or temporary file it made outlives it.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, ensureCodeServer } from "./codeServer.mjs";
import { processesWithEnv, seconds } from "./harness.mjs";

const FIXTURE = "test/fixtures/harness-extension";
const host = (grep, ...more) => [
  "scripts/runExtensionTests.mjs",
  "--extension",
  FIXTURE,
  "--tests",
  "out/test/harness/extension/index.js",
  "--grep",
  grep,
  ...more,
];
const browser = (grep, ...more) => [
  "scripts/runE2E.mjs",
  "--extension",
  FIXTURE,
  "--spec",
  "out/test/harness/e2e",
  "--grep",
  grep,
  ...more,
];
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const scenarios = [
  {
    name: "passing extension-host tests exit 0 and are each reported",
    args: host("^harness fixture passes", "--results-dir", "test-results/harness/host-pass"),
    code: 0,
    out: [/✓ harness fixture passes: the command opens a panel that answers/, /^vscode: 3 passed, 0 failed, 0 skipped$/m],
  },
  {
    name: "a failing extension-host test exits 1 and shows its message",
    args: host("^harness fixture (passes|fails)", "--results-dir", "test-results/harness/host-fail"),
    code: 1,
    out: [
      /✗ harness fixture fails: on purpose/,
      /deliberate failure from the harness self-test/,
      /^vscode: 3 passed, 1 failed, 0 skipped$/m,
    ],
  },
  {
    name: "a hanging extension-host test is ended by the run's timeout",
    args: host("^harness fixture hangs", "--timeout", "20", "--results-dir", "test-results/harness/host-hang"),
    code: 1,
    maxSeconds: 60,
    out: [/timed out after 20 s; still running: harness fixture hangs/, /^vscode: 0 passed, 1 failed, 0 skipped$/m],
    files: ["test-results/harness/host-hang/workbench-at-failure.png"],
  },
  {
    name: "an extension host that dies mid-run fails the run at once, naming the test",
    args: host("^harness fixture (passes|crashes)", "--timeout", "120", "--results-dir", "test-results/harness/host-crash"),
    code: 1,
    maxSeconds: 60,
    out: [
      /the extension host exited \(code null, signal SIGKILL\) before the suite finished/,
      /1\) harness fixture crashes: on purpose/,
      /^vscode: 3 passed, 1 failed, 0 skipped$/m,
    ],
  },
  {
    name: "SIGTERM during a run stops it and everything it started",
    args: host("^harness fixture hangs", "--timeout", "120", "--results-dir", "test-results/harness/host-sigterm"),
    code: 143,
    maxSeconds: 60,
    signalWhen: /extension host: VS Code/,
    out: [/SIGTERM, stopping/],
  },
  {
    name: "SIGKILL of the runner still leaves nothing behind (its reaper sweeps)",
    args: host("^harness fixture hangs", "--timeout", "120", "--results-dir", "test-results/harness/host-sigkill"),
    code: "SIGKILL",
    maxSeconds: 60,
    signalWhen: /extension host: VS Code/,
    signal: "SIGKILL",
  },
  {
    name: "passing browser tests exit 0 and keep their screenshots",
    args: browser("^harness fixture in the browser passes", "--results-dir", "test-results/harness/e2e-pass"),
    code: 0,
    out: [/^e2e: 3 passed, 0 failed, 0 skipped$/m],
    files: ["test-results/harness/e2e-pass/harness-panel.png", "test-results/harness/e2e-pass/harness-picked.png"],
  },
  {
    name: "a failing browser test exits 1 and keeps a screenshot of the failure",
    args: browser("^harness fixture in the browser fails", "--results-dir", "test-results/harness/e2e-fail"),
    code: 1,
    out: [/^e2e: 0 passed, 1 failed, 0 skipped$/m],
    filesMatching: ["test-results/harness/e2e-fail", /^failed-.*\.png$/],
  },
];

const started = Date.now();
await ensureCodeServer(); // once, before the clocks of the scenarios start
let passed = 0;
let failed = 0;
for (const s of scenarios) {
  const t0 = Date.now();
  const tag = randomBytes(6).toString("hex");
  const tmp = mkdtempSync(join(tmpdir(), "bn-lens-harness-")); // the runner's TMPDIR: must end up empty
  const { code, output } = await runChild(s, tag, tmp);
  const elapsed = (Date.now() - t0) / 1000;
  const problems = [];
  if (code !== s.code) problems.push(`exit code ${code}, expected ${s.code}`);
  for (const re of s.out ?? []) if (!re.test(output)) problems.push(`output lacks ${re}`);
  for (const f of s.files ?? []) if (!isPng(join(ROOT, f))) problems.push(`no PNG at ${f}`);
  if (s.filesMatching) {
    const [dir, re] = s.filesMatching;
    const found = existsSync(join(ROOT, dir)) ? readdirSync(join(ROOT, dir)).filter((n) => re.test(n)) : [];
    if (!found.some((n) => isPng(join(ROOT, dir, n)))) problems.push(`no PNG matching ${re} in ${dir}`);
  }
  if (s.maxSeconds && elapsed > s.maxSeconds) problems.push(`took ${elapsed.toFixed(0)} s, more than ${s.maxSeconds} s`);
  const leftovers = await survivors(tag);
  if (leftovers.length) problems.push(`processes left behind:\n      ${leftovers.join("\n      ")}`);
  const files = readdirSync(tmp);
  if (files.length) problems.push(`files left in its temp folder: ${files.join(", ")}`);
  rmSync(tmp, { recursive: true, force: true });
  if (problems.length === 0) {
    passed++;
    console.log(`  ✓ ${s.name} (${elapsed.toFixed(1)} s)`);
  } else {
    failed++;
    console.log(
      `  ✗ ${s.name} (${elapsed.toFixed(1)} s)\n    ${problems.join("\n    ")}\n    --- runner output ---\n${output.replace(/^/gm, "    | ")}`,
    );
    for (const pid of processesWithEnv("BN_LENS_HARNESS_TAG", tag)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
}
console.log(`\nharness self-test: ${seconds(Date.now() - started)}`);
console.log(`harness: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

function runChild(s, tag, tmp) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, s.args, {
      cwd: ROOT,
      env: { ...process.env, BN_LENS_HARNESS_TAG: tag, TMPDIR: tmp },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let signalled = false;
    const onData = (chunk) => {
      output += chunk;
      if (s.signalWhen && !signalled && s.signalWhen.test(output)) {
        signalled = true;
        setTimeout(() => child.kill(s.signal ?? "SIGTERM"), 1000);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    // A runner that ignores its own timeouts must not hang the self-test.
    const guard = setTimeout(() => child.kill("SIGKILL"), 5 * 60_000);
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      resolve({ code: code ?? signal, output });
    });
  });
}

/** Processes of a scenario still alive a few seconds after its runner ended (a reaper needs 0.5 s). */
async function survivors(tag) {
  let pids = [];
  for (let i = 0; i < 12; i++) {
    pids = processesWithEnv("BN_LENS_HARNESS_TAG", tag);
    if (pids.length === 0) return [];
    await new Promise((r) => setTimeout(r, 250));
  }
  return pids.map(describe);
}

function isPng(path) {
  try {
    return readFileSync(path).subarray(0, 8).equals(PNG);
  } catch {
    return false;
  }
}

function describe(pid) {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0/g, " ").slice(0, 160)}`;
  } catch {
    return String(pid);
  }
}
