import * as assert from "node:assert/strict";
import * as os from "node:os";
import type { Report } from "../../src/core/report";
import { inspect, type EngineHooks } from "../../src/runtime/engine";
import { foldThreadScript } from "../../src/runtime/foldClient";
import { FACE_DETECTOR, FACE_IMAGES, PADDLE_CLS } from "../helpers/paths";

const quiet: EngineHooks = { progress: () => undefined, log: () => undefined, cancelled: () => false };

/** The report without what differs between any two runs (time taken, when). */
function stable(r: Report): unknown {
  return JSON.parse(JSON.stringify(r, (k, v) => (k === "createdAt" || k === "elapsedMs" ? undefined : v)));
}

describe("exact mode's statistics on two threads (foldThread.ts)", function () {
  this.timeout(300_000);

  it("is built next to the inference process (dist/foldThread.js)", () => {
    assert.ok(foldThreadScript(), "dist/foldThread.js exists");
    assert.ok(os.availableParallelism() >= 2, "this machine has two cores, so the split runs in these tests");
  });

  it("gives the same report, to the bit, as every layer folded on one thread (face detector, 16 photos in 4 batches)", async () => {
    const request = {
      modelPath: FACE_DETECTOR,
      dataPath: FACE_IMAGES,
      imageMean: [127],
      imageStd: [128],
      batchSize: 4,
      mode: "exact" as const,
    };
    const logs: string[] = [];
    const split = await inspect(request, { ...quiet, log: (l) => logs.push(l) });
    const single = await inspect(request, quiet, { foldThread: false });
    assert.ok(
      logs.some((l) => /statistics of \d+ of 35 BN layers on a second thread/.test(l)),
      logs.join("\n"),
    );
    assert.deepEqual(stable(split), stable(single));
    assert.equal(JSON.stringify(stable(split)), JSON.stringify(stable(single)));
  });

  it("also where some layers capture their input (PaddleOCR classifier, random data)", async () => {
    const request = { modelPath: PADDLE_CLS, samples: 12, batchSize: 4, mode: "exact" as const, inputShapes: ["x:Nx3x48x192"] };
    const split = await inspect(request, quiet);
    const single = await inspect(request, quiet, { foldThread: false });
    assert.equal(JSON.stringify(stable(split)), JSON.stringify(stable(single)));
  });

  it("a cancel during a split run stops it with the usual sentence, and the next run is whole", async () => {
    let batches = 0;
    const request = { modelPath: FACE_DETECTOR, samples: 64, batchSize: 4, mode: "exact" as const };
    await assert.rejects(
      inspect(request, { ...quiet, progress: () => void batches++, cancelled: () => batches > 4 }),
      /The inspection was cancelled; no report was written\./,
    );
    const next = await inspect({ ...request, samples: 8 }, quiet);
    assert.equal(next.samples, 8);
    assert.equal(next.layers.length, 35);
    // Every value of all 8 samples counted: the first layer's input is 8 x 16 x 120 x 160.
    assert.deepEqual(new Set(next.layers[0].pre.count), new Set([8 * 120 * 160]));
  });
});
