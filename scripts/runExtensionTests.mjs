// Runs the extension-host test suite in a real VS Code 1.100 offline: code-server (installed into
// .cache/code-server on first use) on a free loopback port, opened in headless Chromium with the
// extension under development and the compiled test index as extensionTestsPath. The index appends one
// JSON line per test event to $BN_LENS_TEST_RESULTS; this script prints them as they come, and exits 0
// only when every test passed. Build first: `npm run build:tests` (npm run test:extension does).
import { existsSync, mkdirSync, openSync, readSync, closeSync, fstatSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureCodeServer, startCodeServer, ROOT, tail } from "./codeServer.mjs";
import { Run, checkExtension, fail, launchBrowser, parseArgs, saveVsCodeLogs, seconds, workbenchUrl } from "./harness.mjs";

const USAGE = `usage: node scripts/runExtensionTests.mjs [options]
  --extension <dir>      extension to load (default: the repository root, i.e. BN Lens)
  --tests <file>         compiled test index exporting run() (default: out/test/extension/index.js)
  --folder <dir>         workspace folder to open (default: an empty temporary folder)
  --grep <regexp>        run only tests whose full title matches
  --timeout <s>          fail the whole run after this many seconds (default 300)
  --start-timeout <s>    fail when the suite has not started after this many seconds (default 120)
  --test-timeout <s>     mocha's per-test timeout inside the extension host (default 60)
  --results-dir <dir>    where logs, results.jsonl and failure screenshots go (default test-results/extension-host)
  --keep                 keep the temporary server state for inspection
`;

const opts = parseArgs(process.argv.slice(2), {
  extension: ROOT, tests: "out/test/extension/index.js", folder: "", grep: "", timeout: 300,
  "start-timeout": 120, "test-timeout": 60, "results-dir": "test-results/extension-host", keep: false,
}, USAGE);

const started = Date.now();
const extensionPath = resolve(opts.extension);
const testsPath = resolve(opts.tests);
if (!existsSync(testsPath)) fail(`${testsPath} is missing: build the tests first (npm run build:tests)`);
const manifest = checkExtension(extensionPath);
const log = (line) => process.stdout.write(`${line}\n`);

const install = await ensureCodeServer({ log });
const run = new Run("extension-host", { resultsDir: opts["results-dir"], keep: opts.keep });
const resultsFile = join(run.resultsDir, "results.jsonl");
writeFileSync(resultsFile, "");
const state = { passed: 0, failed: 0, pending: 0, failures: [], running: undefined, startedSuite: false, ended: false };
let exitCode = 1;
let server;
let page;
try {
  const folder = opts.folder ? resolve(opts.folder) : join(run.stateDir, "workspace");
  mkdirSync(folder, { recursive: true });
  server = await startCodeServer({
    install, stateDir: join(run.stateDir, "server"), folder, logFile: join(run.resultsDir, "code-server.log"),
    env: run.env({
      BN_LENS_TEST_RESULTS: resultsFile,
      BN_LENS_TEST_TIMEOUT_MS: String(opts["test-timeout"] * 1000),
      ...(opts.grep ? { BN_LENS_TEST_GREP: opts.grep } : {}),
    }),
  });
  run.onCleanup(() => server.stop(), server.pid);
  log(`code-server ${server.origin} (pid ${server.pid}); extension ${manifest.publisher}.${manifest.name} from ${extensionPath}`);
  ({ page } = await launchBrowser(run));
  let pageCrashed = false;
  page.on("crash", () => { pageCrashed = true; });
  await page.goto(workbenchUrl(server, { folder, extensionPath, testsPath }), { waitUntil: "domcontentloaded", timeout: 60_000 });
  log(`workbench opened in headless Chromium; running ${basename(testsPath)}${opts.grep ? ` (grep ${opts.grep})` : ""}`);

  const reader = lineReader(resultsFile);
  let problem;
  const deadline = started + opts.timeout * 1000;
  const startDeadline = Date.now() + opts["start-timeout"] * 1000;
  while (!state.ended && !problem) {
    for (const line of reader()) handle(JSON.parse(line));
    if (state.ended) break;
    if (state.error) problem = `the test index failed: ${state.error.stack ?? state.error.message}`;
    else if (server.exitCode() !== null) problem = `code-server exited (${server.exitCode()}) during the run`;
    else if (pageCrashed) problem = "the workbench page crashed";
    else if (!state.startedSuite && Date.now() > startDeadline) {
      problem = `the suite did not start within ${opts["start-timeout"]} s (did the extension host start and load ${testsPath}? see ${join(run.resultsDir, "code-server.log")} and browser-console.log)`;
    } else if (Date.now() > deadline) {
      problem = `timed out after ${opts.timeout} s${state.running ? `; still running: ${state.running}` : ""}`;
    } else await sleep(200);
  }
  if (problem) {
    state.harnessProblem = true;
    state.failed++;
    state.failures.push({ fullTitle: state.running ?? "(harness)", message: problem });
    log(`  ✗ ${problem}`);
  }
  exitCode = state.failed === 0 && state.passed > 0 ? 0 : 1;
  if (state.failed === 0 && state.passed === 0) {
    state.failures.push({ fullTitle: "(harness)", message: "no test passed: nothing ran" });
  }
} catch (err) {
  state.failures.push({ fullTitle: "(harness)", message: err.stack ?? String(err) });
  state.harnessProblem = true;
  state.failed++;
  exitCode = 1;
} finally {
  if (exitCode !== 0) await saveEvidence();
  await run.cleanup();
}

if (state.failures.length) {
  log("\nFailures:");
  state.failures.forEach((f, i) => {
    log(`  ${i + 1}) ${f.fullTitle}`);
    log(indent(f.stack && !f.stack.includes(f.message) ? `${f.message}\n${f.stack}` : (f.stack ?? f.message), "     "));
  });
}
log(`\nextension-host suite: ${seconds(Date.now() - started)}; results in ${run.resultsDir}`);
log(`vscode: ${state.passed} passed, ${state.failed} failed, ${state.pending} skipped`);
process.exit(exitCode);

function handle(event) {
  switch (event.type) {
    case "start":
      state.startedSuite = true;
      log(`extension host: VS Code ${event.vscode}, Node ${event.node}, pid ${event.pid}; ${event.total} test(s) from ${event.files.join(", ") || "no files"}`);
      break;
    case "begin": state.running = event.fullTitle; break;
    case "pass": state.passed++; state.running = undefined; log(`  ✓ ${event.fullTitle} (${event.durationMs ?? 0} ms)`); break;
    case "pending": state.pending++; log(`  - ${event.fullTitle} (skipped)`); break;
    case "fail":
      state.failed++; state.running = undefined;
      state.failures.push(event);
      log(`  ✗ ${event.fullTitle}\n${indent(event.message, "      ")}`);
      break;
    case "error": state.error = event; break;
    case "end": state.ended = true; break;
  }
}

async function saveEvidence() {
  try {
    if (page && !page.isClosed()) await page.screenshot({ path: join(run.resultsDir, "workbench-at-failure.png"), fullPage: true, timeout: 10_000 });
  } catch { /* the page may be gone */ }
  if (server) {
    saveVsCodeLogs(run, server);
    if (state.harnessProblem) log(`code-server log tail:\n${indent(tail(join(run.resultsDir, "code-server.log"), 15), "  | ")}`);
  }
}

function indent(text, prefix) {
  return String(text).split("\n").map((l) => prefix + l).join("\n");
}

/** Returns a function that yields the complete lines appended to `file` since the last call. */
function lineReader(file) {
  let offset = 0;
  let partial = "";
  return () => {
    const fd = openSync(file, "r");
    try {
      const size = fstatSync(fd).size;
      if (size <= offset) return [];
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      const lines = (partial + buf.toString("utf8")).split("\n");
      partial = lines.pop();
      return lines.filter(Boolean);
    } finally {
      closeSync(fd);
    }
  };
}
