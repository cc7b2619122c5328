// Runs mocha inside the VS Code extension host (code-server's remote host or @vscode/test-electron's)
// and reports every test twice: a spec listing on the console, and one JSON line per event appended to
// the file named by BN_LENS_TEST_RESULTS, which the runner outside VS Code reads (the workbench page
// never closes by itself, so the runner cannot wait for an exit code).
import * as fs from "node:fs";
import * as path from "node:path";
import Mocha from "mocha";

/** One line of the results file. `seq` counts from 0; `end` is always the last line of a finished run. */
export type TestEvent =
  | { type: "start"; seq: number; total: number; files: string[]; pid: number; node: string; vscode: string }
  | { type: "begin"; seq: number; fullTitle: string }
  | { type: "pass" | "pending"; seq: number; fullTitle: string; durationMs?: number }
  | { type: "fail"; seq: number; fullTitle: string; durationMs?: number; message: string; stack?: string }
  | { type: "end"; seq: number; passed: number; failed: number; pending: number; durationMs: number }
  | { type: "error"; seq: number; message: string; stack?: string };

type Payload<T> = T extends unknown ? Omit<T, "seq"> : never;

/** Loads every `*.vscode.test.js` under `testsRoot` and runs it; rejects when a test fails or none ran. */
export async function runSuite(testsRoot: string, vscodeVersion: string): Promise<void> {
  const resultsFile = process.env.BN_LENS_TEST_RESULTS;
  let seq = 0;
  const emit = (event: Payload<TestEvent>): void => {
    const line = JSON.stringify({ ...event, seq: seq++ });
    // Synchronous on purpose: after run() settles the extension host may exit at once.
    if (resultsFile) fs.appendFileSync(resultsFile, `${line}\n`);
  };
  try {
    const files = fs
      .readdirSync(testsRoot, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".vscode.test.js"))
      .sort()
      .map((f) => path.join(testsRoot, f));
    const grep = process.env.BN_LENS_TEST_GREP;
    const mocha = new Mocha({
      ui: "bdd",
      color: false,
      timeout: Number(process.env.BN_LENS_TEST_TIMEOUT_MS ?? 60_000),
      ...(grep ? { grep: new RegExp(grep) } : {}),
    });
    // The custom reporter sees the runner before any test starts.
    mocha.reporter(reporterWith(emit, files, vscodeVersion));
    for (const f of files) mocha.addFile(f);
    const failures = await new Promise<number>((resolve) => mocha.run(resolve));
    if (failures > 0) throw new Error(`${failures} extension-host test(s) failed`);
    if (files.length === 0) throw new Error(`no *.vscode.test.js files under ${testsRoot}`);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    if (!/extension-host test\(s\) failed/.test(e.message)) emit({ type: "error", message: e.message, stack: e.stack });
    throw e;
  }
}

function reporterWith(emit: (e: Payload<TestEvent>) => void, files: string[], vscodeVersion: string) {
  const C = Mocha.Runner.constants;
  return class ResultsReporter extends Mocha.reporters.Spec {
    constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
      super(runner, options);
      const started = Date.now();
      const counts = { passed: 0, failed: 0, pending: 0 };
      runner.once(C.EVENT_RUN_BEGIN, () =>
        emit({
          type: "start",
          total: runner.total,
          files: files.map((f) => path.basename(f)),
          pid: process.pid,
          node: process.version,
          vscode: vscodeVersion,
        }),
      );
      runner.on(C.EVENT_TEST_BEGIN, (t: Mocha.Test) => emit({ type: "begin", fullTitle: t.fullTitle() }));
      runner.on(C.EVENT_TEST_PASS, (t: Mocha.Test) => {
        counts.passed++;
        emit({ type: "pass", fullTitle: t.fullTitle(), durationMs: t.duration });
      });
      runner.on(C.EVENT_TEST_PENDING, (t: Mocha.Test) => {
        counts.pending++;
        emit({ type: "pending", fullTitle: t.fullTitle() });
      });
      // Also fires for failing hooks ("before all" hook ...), which mocha names in the title.
      runner.on(C.EVENT_TEST_FAIL, (t: Mocha.Test, err: Error) => {
        counts.failed++;
        emit({ type: "fail", fullTitle: t.fullTitle(), durationMs: t.duration, message: err?.message ?? String(err), stack: err?.stack });
      });
      runner.once(C.EVENT_RUN_END, () => emit({ type: "end", ...counts, durationMs: Date.now() - started }));
    }
  };
}
