/**
 * `merge` streams its reports layer by layer (src/cli/mergeFiles.ts), in memory that does not grow with
 * them; only `merge --html` reads the merged report back whole (the page embeds it), which takes several
 * times its size, more than Node's default heap of about 4 GB for a report of 300 layers x 2,048 channels.
 * Then the CLI runs itself again with a heap large enough (--max-old-space-size), so the user never meets
 * V8's "heap out of memory" abort; when the machine has too little memory, one sentence.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { getHeapStatistics } from "node:v8";
import { UserError } from "../core/errors";

// Heap per byte of report JSON when reports are held whole: at least 7, measured before merge streamed
// (merging two 300 x 2,048 shards, 1.4 GB of JSON, whole, passed 10 GB of resident memory).
const HEAP_PER_JSON_BYTE = 7;
const RERUN_MARK = "BN_LENS_HEAP_RERUN";

/**
 * Returns undefined when the current heap suffices for reading `files` (go on here), else runs this same
 * command in a child Node with a heap large enough and returns its exit code.
 */
export function rerunWithHeapFor(files: readonly string[], what: string): number | undefined {
  let jsonBytes = 0;
  for (const f of files) {
    try {
      jsonBytes += fs.statSync(f).size;
    } catch {
      // A missing file is reported by whoever reads it.
    }
  }
  const neededMb = Math.ceil((jsonBytes * HEAP_PER_JSON_BYTE) / 2 ** 20) + 512;
  const limitMb = getHeapStatistics().heap_size_limit / 2 ** 20;
  if (neededMb <= limitMb || process.env[RERUN_MARK]) return undefined;
  const totalMb = os.totalmem() / 2 ** 20;
  if (neededMb > totalMb * 0.8) {
    throw new UserError(
      "resource",
      `${what} needs about ${(neededMb / 1024).toFixed(1)} GB of memory for ${(jsonBytes / 2 ** 30).toFixed(1)} GB of reports, and this machine has ${(totalMb / 1024).toFixed(1)} GB; merge fewer reports at a time.`,
    );
  }
  const r = spawnSync(process.execPath, [...process.execArgv, `--max-old-space-size=${neededMb}`, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, [RERUN_MARK]: "1" },
  });
  if (r.error) throw r.error;
  // Killed by a signal (Ctrl-C reaches the whole process group): exit as shells report it.
  if (r.status === null) return 128 + (os.constants.signals[r.signal as NodeJS.Signals] ?? 1);
  return r.status;
}
