// Runs the same extension-host suite in desktop VS Code through @vscode/test-electron (2.5.x, Node 20),
// for machines that have VS Code or can download it. Offline, the code-server runner
// (scripts/runExtensionTests.mjs) is the one to use.
//   VSCODE_EXECUTABLE=/path/to/code node scripts/runElectronTests.mjs   use an installed VS Code
//   node scripts/runElectronTests.mjs                                  download VS Code into .cache/vscode-test
// Linux without a display: run it under xvfb-run -a.
import { runTests } from "@vscode/test-electron";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { ROOT } from "./codeServer.mjs";
import { HostResults } from "./hostResults.mjs";
import { Run, checkExtension, fail, parseArgs, seconds, withTimeout } from "./harness.mjs";

const USAGE = `usage: [VSCODE_EXECUTABLE=<code binary>] node scripts/runElectronTests.mjs [options]
  --extension <dir>     extension to load (default: the repository root, i.e. BN Lens)
  --tests <file>        compiled test index exporting run() (default: out/test/extension/index.js)
  --folder <dir>        workspace folder to open (default: an empty temporary folder)
  --grep <regexp>       run only tests whose full title matches
  --version <v>         VS Code version to download when VSCODE_EXECUTABLE is unset (default 1.100.3)
  --timeout <s>         fail the whole run after this many seconds, download included (default 900)
  --test-timeout <s>    mocha's per-test timeout inside the extension host (default 60)
  --results-dir <dir>   where results.jsonl goes (default test-results/electron)
  --keep                keep the temporary user data folder
`;
const opts = parseArgs(
  process.argv.slice(2),
  {
    extension: ROOT,
    tests: "out/test/extension/index.js",
    folder: "",
    grep: "",
    version: "1.100.3",
    timeout: 900,
    "test-timeout": 60,
    "results-dir": "test-results/electron",
    keep: false,
  },
  USAGE,
);

const started = Date.now();
const log = (line) => process.stdout.write(`${line}\n`);
const extensionPath = resolve(opts.extension);
const testsPath = resolve(opts.tests);
if (!existsSync(testsPath)) fail(`${testsPath} is missing: build the tests first (npm run build:tests)`);
checkExtension(extensionPath);
const executable = process.env.VSCODE_EXECUTABLE;
if (executable && !existsSync(executable)) fail(`VSCODE_EXECUTABLE=${executable} does not exist`);

const run = new Run("electron", { resultsDir: opts["results-dir"], keep: opts.keep });
const results = new HostResults(join(run.resultsDir, "results.jsonl"), log);
try {
  const folder = opts.folder ? resolve(opts.folder) : join(run.stateDir, "workspace");
  mkdirSync(folder, { recursive: true });
  log(
    executable
      ? `VS Code: ${executable}`
      : `VS Code ${opts.version}: downloading into .cache/vscode-test unless cached there (needs network)`,
  );
  const poll = setInterval(() => results.poll(), 200);
  try {
    await withTimeout(
      runTests({
        ...(executable ? { vscodeExecutablePath: executable } : { version: opts.version, cachePath: join(ROOT, ".cache", "vscode-test") }),
        extensionDevelopmentPath: extensionPath,
        extensionTestsPath: testsPath,
        // The same variables the code-server runner sets; BN_LENS_HARNESS_ID lets cleanup find VS Code's processes.
        extensionTestsEnv: run.env({
          BN_LENS_TEST_RESULTS: results.file,
          BN_LENS_TEST_TIMEOUT_MS: String(opts["test-timeout"] * 1000),
          ...(opts.grep ? { BN_LENS_TEST_GREP: opts.grep } : {}),
        }),
        launchArgs: [
          folder,
          "--user-data-dir",
          join(run.stateDir, "user-data"),
          "--extensions-dir",
          join(run.stateDir, "extensions"),
          "--disable-extensions",
          "--disable-workspace-trust",
          "--disable-gpu",
          "--skip-welcome",
          "--skip-release-notes",
        ],
      }),
      opts.timeout * 1000,
      "the test-electron run",
    );
  } finally {
    clearInterval(poll);
    results.poll();
  }
  if (!results.started) results.problem("the suite never started (see VS Code's output above)");
} catch (err) {
  results.poll();
  // A failing suite makes VS Code exit non-zero (TestRunFailedError); its tests are already counted.
  if (!(results.ended && results.failed > 0)) {
    const offline = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT/.test(String(err?.message));
    results.problem(
      `${err.stack ?? err}${offline ? "\n(no network: set VSCODE_EXECUTABLE to an installed VS Code, or use npm run test:extension)" : ""}`,
    );
  }
} finally {
  await run.cleanup();
}
log(`\nelectron suite: ${seconds(Date.now() - started)}`);
results.printSummary("vscode");
run.exit(results.ok ? 0 : 1);
