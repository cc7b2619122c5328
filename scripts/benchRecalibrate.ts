/**
 * The recalibration figure of `npm run bench` (issue #12): wall time of `recalibrate` (pass 1, the
 * one-batch solve, the verifying pass, the output comparison) for the face detector on 256 samples, as a
 * ratio to one exact inspection of the same samples, same process, after warm-up.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { prepareData } from "../src/runtime/dataSources";
import { inspect, type EngineHooks } from "../src/runtime/engine";
import { recalibrate } from "../src/runtime/recalibrate";

/** Times one exact inspection and one recalibration of `model` on the samples `openData` gives. */
export async function recalibrationFigure(
  model: string,
  openData: typeof prepareData,
  hooks: EngineHooks,
): Promise<{ inspectMs: number; recalibrateMs: number; ratio: number; passes: number; method: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-bench-recal-"));
  try {
    let started = performance.now();
    await inspect({ modelPath: model, mode: "exact" }, hooks, { openData });
    const inspectMs = performance.now() - started;
    started = performance.now();
    const r = await recalibrate({ modelPath: model, outPath: path.join(dir, "recalibrated.onnx") }, hooks, { openData });
    const recalibrateMs = performance.now() - started;
    return { inspectMs, recalibrateMs, ratio: recalibrateMs / inspectMs, passes: r.passes.length, method: r.method };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
