// bnLens.* settings are read at run time and change what runs.
import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { FACE_DETECTOR } from "../helpers/paths";
import { type InspectionResult, activated } from "./bnLens";
import { modelCopy, reset, run, setSettings } from "./fixtures";

interface Contributed {
  contributes: { configuration: { properties: Record<string, { default?: unknown; description?: string; markdownDescription?: string }> } };
}

describe("settings", function () {
  this.timeout(120_000);
  afterEach(reset);

  it("every bnLens.* setting has a description and a default", async () => {
    const props = ((await activated()) && (vscode.extensions.getExtension("bn-lens.bn-lens")!.packageJSON as Contributed)).contributes
      .configuration.properties;
    for (const [k, v] of Object.entries(props)) {
      assert.ok(k.startsWith("bnLens."), k);
      assert.ok(v.description || v.markdownDescription, `${k} has no description`);
      assert.ok("default" in v, `${k} has no default`);
    }
    for (const field of [
      "meanShift.warning",
      "meanShift.error",
      "varianceRatio.warning",
      "varianceRatio.error",
      "saturation.warning",
      "saturation.error",
      "rectifierOff.warning",
      "deadGamma",
      "deadRunningVar",
      "minCount",
      "confidence",
      "batchTolerance",
    ])
      assert.ok(`bnLens.thresholds.${field}` in props, `no setting for thresholds.${field}`);
  });

  it("batch size, sample limit, seed, thresholds, slope fraction, mode, providers and threads reach the engine", async () => {
    const api = await activated();
    const uri = modelCopy(FACE_DETECTOR);
    const restore = await setSettings({
      batchSize: 4,
      sampleLimit: 6,
      seed: 7,
      "thresholds.meanShift.warning": 1e9,
      "thresholds.meanShift.error": 2e9,
      "thresholds.varianceRatio.warning": 50,
      "thresholds.confidence": 0.9,
      trainBatchSize: 4,
      slopeFraction: 0.1,
      statisticsMode: "fast",
      executionProviders: ["cpu"],
      intraOpNumThreads: 1,
    });
    try {
      const result = await run<InspectionResult | undefined>("bnLens.inspectModel", uri);
      assert.ok(result, JSON.stringify(api.notices().slice(-1)));
      const r = result.report;
      assert.equal(r.run.batchSize, 4);
      assert.equal(r.samples, 6);
      assert.equal(r.run.seed, 7);
      assert.deepEqual(r.thresholds.meanShift, { warning: 1e9, error: 2e9 });
      assert.equal(r.thresholds.varianceRatio.warning, 50);
      assert.equal(r.thresholds.varianceRatio.error, 10, "unset fields keep their defaults");
      assert.equal(r.thresholds.slopeFraction, 0.1);
      assert.equal(r.thresholds.confidence, 0.9);
      assert.equal(r.run.trainBatch, 4);
      assert.equal(r.rows[0].activation.flatRegion.slopeFraction, 0.1);
      // Random inputs do not judge stored statistics (the thresholds above reached the report all the same).
      assert.ok(
        r.warnings.some((w) => w.rule === "random-data"),
        "a random-data run says it did not judge the stored statistics",
      );
      const options =
        api
          .logLines()
          .filter((l) => l.includes("options:"))
          .at(-1) ?? "";
      for (const s of ['"mode":"fast"', '"executionProviders":["cpu"]', '"intraOpNumThreads":1', '"seed":7'])
        assert.ok(options.includes(s), `${s} missing from ${options}`);
    } finally {
      await restore();
    }
  });

  it("a changed setting applies to the next run without a reload", async () => {
    const uri = modelCopy(FACE_DETECTOR);
    let restore = await setSettings({ sampleLimit: 3, batchSize: 3 });
    try {
      assert.equal((await run<InspectionResult>("bnLens.inspectModel", uri)).report.samples, 3);
      await restore();
      restore = await setSettings({ sampleLimit: 5, batchSize: 5 });
      const r = (await run<InspectionResult>("bnLens.rerun", uri)).report;
      assert.equal(r.samples, 5);
      assert.equal(r.run.batchSize, 5);
    } finally {
      await restore();
    }
  });
});
