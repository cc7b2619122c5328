import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { ROOT } from "./paths";

/** The built CLI (`node scripts/build.mjs` writes it). */
export const CLI = path.join(ROOT, "dist", "cli.js");

/** What one run of the CLI gave: exit code (null when killed) and its two streams. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bn-lens <args>` to completion in a child process, in `cwd` when given. */
export function runCli(args: readonly string[], options: { cwd?: string } = {}): CliRun {
  // The face detector on all photos takes about a minute on a loaded 2-core machine.
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 180_000, cwd: options.cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `bn-lens <args>` in the current folder. */
export function bnLens(...args: string[]): CliRun {
  return runCli(args);
}

/** A usage or input error: exit 2, exactly one line on stderr, starting "error:", matching `pattern`, no stack trace. */
export function assertCleanError(r: CliRun, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}
