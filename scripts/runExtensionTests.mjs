// Runs the extension-host test suite in a real VS Code 1.100 offline: code-server (installed into
// .cache/code-server on first use) on a free loopback port, opened in headless Chromium with the
// extension under development and the compiled test index as extensionTestsPath. The index appends one
// JSON line per test event to $BN_LENS_TEST_RESULTS; this script prints them as they come, and exits 0
// only when every test passed. Build first: `npm run build:tests` (npm run test:extension does).
import { existsSync, mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureCodeServer, startCodeServer, ROOT, tail } from "./codeServer.mjs";
import { HostResults, indent } from "./hostResults.mjs";
import { Run, checkExtension, fail, launchBrowser, parseArgs, saveVsCodeLogs, seconds, workbenchUrl } from "./harness.mjs";

const USAGE = `usage: node scripts/runExtensionTests.mjs [options]
  --extension <dir>      extension to load (default: the repository root, i.e. BN Lens)
  --tests <file>         compiled test index exporting run() (default: out/test/extension/index.js)
  --folder <dir>         workspace folder to open (default: an empty temporary folder)
  --grep <regexp>        run only tests whose full title matches
  --timeout <s>          fail the run after this many seconds, a first code-server install not counted (default 300)
  --start-timeout <s>    fail when the suite has not started after this many seconds (default 120)
  --test-timeout <s>     mocha's per-test timeout inside the extension host (default 60)
  --results-dir <dir>    where logs, results.jsonl and failure screenshots go (default test-results/extension-host)
  --keep                 keep the temporary server state for inspection
`;

const opts = parseArgs(
  process.argv.slice(2),
  {
    extension: ROOT,
    tests: "out/test/extension/index.js",
    folder: "",
    grep: "",
    timeout: 300,
    "start-timeout": 120,
    "test-timeout": 60,
    "results-dir": "test-results/extension-host",
    keep: false,
  },
  USAGE,
);

const started = Date.now();
const extensionPath = resolve(opts.extension);
const testsPath = resolve(opts.tests);
if (!existsSync(testsPath)) fail(`${testsPath} is missing: build the tests first (npm run build:tests)`);
const manifest = checkExtension(extensionPath);
const log = (line) => process.stdout.write(`${line}\n`);

const install = await ensureCodeServer({ log });
const runStarted = Date.now(); // the timeout does not count a first-time install
const run = new Run("extension-host", { resultsDir: opts["results-dir"], keep: opts.keep });
const results = new HostResults(join(run.resultsDir, "results.jsonl"), log);
let runnerProblem = false;
let server;
let page;
try {
  const folder = opts.folder ? resolve(opts.folder) : join(run.stateDir, "workspace");
  mkdirSync(folder, { recursive: true });
  server = await startCodeServer({
    install,
    stateDir: join(run.stateDir, "server"),
    folder,
    logFile: join(run.resultsDir, "code-server.log"),
    env: run.env({
      BN_LENS_TEST_RESULTS: results.file,
      BN_LENS_TEST_TIMEOUT_MS: String(opts["test-timeout"] * 1000),
      ...(opts.grep ? { BN_LENS_TEST_GREP: opts.grep } : {}),
    }),
  });
  run.onCleanup(() => server.stop(), server.pid);
  log(`code-server ${server.origin} (pid ${server.pid}); extension ${manifest.publisher}.${manifest.name} from ${extensionPath}`);
  ({ page } = await launchBrowser(run));
  let pageCrashed = false;
  page.on("crash", () => {
    pageCrashed = true;
  });
  await page.goto(workbenchUrl(server, { folder, extensionPath, testsPath }), { waitUntil: "domcontentloaded", timeout: 60_000 });
  log(`workbench opened in headless Chromium; running ${basename(testsPath)}${opts.grep ? ` (grep ${opts.grep})` : ""}`);

  const deadline = runStarted + opts.timeout * 1000;
  const startDeadline = Date.now() + opts["start-timeout"] * 1000;
  let problem;
  let hostExit;
  while (!problem) {
    results.poll();
    if (results.ended) break;
    if (results.error) problem = `the test index failed: ${results.error.stack ?? results.error.message}`;
    else if (server.exitCode() !== null) problem = `code-server exited (${server.exitCode()}) during the run`;
    else if ((hostExit = extensionHostExit())) {
      await sleep(500); // its last lines may still be on their way
      results.poll();
      if (!results.ended)
        problem = `the extension host exited (${hostExit}) before the suite finished${results.started ? "" : `: did it load ${testsPath}?`}`;
    } else if (pageCrashed) problem = "the workbench page crashed";
    else if (!results.started && Date.now() > startDeadline) {
      problem = `the suite did not start within ${opts["start-timeout"]} s (did the extension host start and load ${testsPath}? see code-server.log and browser-console.log in ${run.resultsDir})`;
    } else if (Date.now() > deadline) {
      problem = `timed out after ${opts.timeout} s${results.running ? `; still running: ${results.running}` : ""}`;
    } else await sleep(200);
  }
  if (problem) {
    runnerProblem = true;
    results.problem(problem);
  }
} catch (err) {
  runnerProblem = true;
  results.problem(err.stack ?? String(err));
} finally {
  if (!results.ok) await saveEvidence();
  await run.cleanup();
}
log(`\nextension-host suite: ${seconds(Date.now() - started)}; results in ${run.resultsDir}`);
results.printSummary("vscode");
run.exit(results.ok ? 0 : 1);

/** "code 1, signal null" once code-server has logged that the extension host process ended. */
function extensionHostExit() {
  const m = /Extension Host Process exited with code: (\S+), signal: (\S+?)\.?$/m.exec(tail(join(run.resultsDir, "code-server.log"), 100));
  return m ? `code ${m[1].replace(/,$/, "")}, signal ${m[2]}` : undefined;
}

async function saveEvidence() {
  try {
    if (page && !page.isClosed())
      await page.screenshot({ path: join(run.resultsDir, "workbench-at-failure.png"), fullPage: true, timeout: 10_000 });
  } catch {
    /* the page may be gone */
  }
  if (server) {
    saveVsCodeLogs(run, server);
    if (runnerProblem) log(`code-server log tail:\n${indent(tail(join(run.resultsDir, "code-server.log"), 15), "  | ")}`);
  }
}
