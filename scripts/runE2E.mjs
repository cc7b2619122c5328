// Browser end-to-end tests: starts code-server with the extension under development, opens a workspace
// holding a copy of the face detector in headless Chromium, then runs the compiled *.e2e.test.js files
// with mocha in this process. Tests get the Playwright page through test/e2e/context.ts and save
// screenshots under test-results/e2e/. Build first: `npm run build:tests` (npm run test:e2e does).
import Mocha from "mocha";
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureCodeServer, startCodeServer, ROOT, tail } from "./codeServer.mjs";
import {
  FACE_DETECTOR,
  FACE_IMAGES,
  Run,
  checkExtension,
  fail,
  launchBrowser,
  parseArgs,
  saveVsCodeLogs,
  seconds,
  workbenchUrl,
} from "./harness.mjs";

const USAGE = `usage: node scripts/runE2E.mjs [options]
  --extension <dir>     extension to load (default: the repository root, i.e. BN Lens)
  --spec <path>         compiled test file, or folder searched for *.e2e.test.js (default: out/test/e2e)
  --grep <regexp>       run only tests whose full title matches
  --timeout <s>         fail the run after this many seconds, a first code-server install not counted (default 600)
  --test-timeout <s>    mocha's default per-test timeout (default 120)
  --results-dir <dir>   screenshots and logs (default test-results/e2e)
  --keep                keep the temporary server state and workspace
`;
const opts = parseArgs(
  process.argv.slice(2),
  {
    extension: ROOT,
    spec: "out/test/e2e",
    grep: "",
    timeout: 600,
    "test-timeout": 120,
    "results-dir": "test-results/e2e",
    keep: false,
  },
  USAGE,
);

const started = Date.now();
const log = (line) => process.stdout.write(`${line}\n`);
const extensionPath = resolve(opts.extension);
const specs = findSpecs(resolve(opts.spec));
if (specs.length === 0) fail(`no *.e2e.test.js under ${resolve(opts.spec)}: build the tests first (npm run build:tests)`);
const manifest = checkExtension(extensionPath);

const install = await ensureCodeServer({ log });
const run = new Run("e2e", { resultsDir: opts["results-dir"], keep: opts.keep });
const counts = { passed: 0, failed: 0, pending: 0 };
const problems = [];
let server;
let page;
let finishing = false;
const watchdog = setTimeout(() => {
  log(`\n✗ e2e run timed out after ${opts.timeout} s`);
  counts.failed++;
  finish(1);
}, opts.timeout * 1000);

try {
  const workspaceDir = join(run.stateDir, "workspace");
  mkdirSync(workspaceDir, { recursive: true });
  let modelPath;
  if (existsSync(FACE_DETECTOR)) {
    modelPath = join(workspaceDir, basename(FACE_DETECTOR));
    copyFileSync(FACE_DETECTOR, modelPath);
  }
  // The face detector's photos, and its authors' preprocessing as a workspace setting (so running on the
  // photos asks only for the folder).
  const photosDir = join(workspaceDir, "photos");
  if (existsSync(FACE_IMAGES)) {
    mkdirSync(photosDir, { recursive: true });
    for (const f of readdirSync(FACE_IMAGES)) if (f.endsWith(".jpg")) copyFileSync(join(FACE_IMAGES, f), join(photosDir, f));
    mkdirSync(join(workspaceDir, ".vscode"), { recursive: true });
    writeFileSync(join(workspaceDir, ".vscode", "settings.json"), JSON.stringify({ "bnLens.image.preprocessing": "centered128" }, null, 1));
  }
  server = await startCodeServer({
    install,
    stateDir: join(run.stateDir, "server"),
    folder: workspaceDir,
    logFile: join(run.resultsDir, "code-server.log"),
    env: run.env(),
  });
  run.onCleanup(() => server.stop(), server.pid);
  log(`code-server ${server.origin} (pid ${server.pid}); extension ${manifest.publisher}.${manifest.name} from ${extensionPath}`);
  ({ page } = await launchBrowser(run));
  await page.goto(workbenchUrl(server, { folder: workspaceDir, extensionPath }), { waitUntil: "domcontentloaded", timeout: 60_000 });
  // Ready when the workbench shows the workspace in the explorer (the remote connection is up).
  await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
  await page.locator(".explorer-folders-view .monaco-list-row").first().waitFor({ state: "visible", timeout: 60_000 });
  // ... and the remote extension host runs (the palette lists the extension's commands from then on).
  const hostDeadline = Date.now() + 60_000;
  while (!/Launched Extension Host Process/.test(tail(join(run.resultsDir, "code-server.log"), 200)) && Date.now() < hostDeadline)
    await sleep(250);
  log(
    `workbench ready in ${seconds(Date.now() - started)}; running ${specs.map((s) => basename(s)).join(", ")}${opts.grep ? ` (grep ${opts.grep})` : ""}`,
  );

  globalThis.__bnLensE2E = {
    page,
    origin: server.origin,
    workspaceDir,
    modelPath,
    photosDir: existsSync(photosDir) ? photosDir : undefined,
    extensionPath,
    resultsDir: run.resultsDir,
    screenshot: async (name) => {
      const path = join(run.resultsDir, `${name.replace(/[^\w.-]+/g, "-")}.png`);
      await page.screenshot({ path, fullPage: true, timeout: 15_000 });
      log(`    screenshot ${path}`);
      return path;
    },
  };
  const mocha = new Mocha({
    ui: "bdd",
    color: false,
    reporter: "spec",
    timeout: opts["test-timeout"] * 1000,
    ...(opts.grep ? { grep: new RegExp(opts.grep) } : {}),
    rootHooks: {
      async afterEach() {
        if (this.currentTest?.state !== "failed" || page.isClosed()) return;
        await page
          .screenshot({ path: join(run.resultsDir, `failed-${slug(this.currentTest.fullTitle())}.png`), fullPage: true, timeout: 15_000 })
          .catch(() => {});
      },
    },
  });
  for (const s of specs) mocha.addFile(s);
  await mocha.loadFilesAsync();
  const runner = await new Promise((resolveRun) => {
    const r = mocha.run(() => resolveRun(r));
  });
  counts.passed = runner.stats.passes;
  counts.failed = runner.stats.failures;
  counts.pending = runner.stats.pending;
} catch (err) {
  problems.push(err.stack ?? String(err));
  counts.failed++;
}
await finish(counts.failed === 0 && counts.passed > 0 ? 0 : 1);

async function finish(code) {
  if (finishing)
    return new Promise(() => {
      /* the first caller exits the process */
    });
  finishing = true;
  clearTimeout(watchdog);
  if (code !== 0 && server) {
    if (page && !page.isClosed())
      await page.screenshot({ path: join(run.resultsDir, "workbench-at-failure.png"), fullPage: true, timeout: 10_000 }).catch(() => {});
    saveVsCodeLogs(run, server);
  }
  await run.cleanup();
  for (const p of problems) log(`\n✗ harness: ${p}\ncode-server log tail:\n${tail(join(run.resultsDir, "code-server.log"), 15)}`);
  if (counts.failed === 0 && counts.passed === 0) log("\n✗ no end-to-end test passed: nothing ran");
  log(`\ne2e suite: ${seconds(Date.now() - started)}; screenshots and logs in ${run.resultsDir}`);
  log(`e2e: ${counts.passed} passed, ${counts.failed} failed, ${counts.pending} skipped`);
  run.exit(code);
}

function findSpecs(path) {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".e2e.test.js"))
    .sort()
    .map((f) => join(path, f));
}

function slug(text) {
  return text.replace(/[^\w.-]+/g, "-").slice(0, 80);
}
