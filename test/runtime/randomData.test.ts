import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildDemoModel } from "../../src/core/demo/demoModel";
import type { Report, WarningJson } from "../../src/core/report";
import { inspect, type EngineHooks } from "../../src/runtime/engine";
import { FACE_DETECTOR, FACE_IMAGES } from "../helpers/paths";

const hooks: EngineHooks = { progress: () => undefined, log: () => undefined, cancelled: () => false };
/** Every finding of a report: model-level, BN layers, activation layers. */
function reportFindings(r: Report): WarningJson[] {
  return [...r.warnings, ...r.layers.flatMap((l) => l.warnings), ...r.activations.flatMap((a) => a.warnings)];
}

const DATA_RULES = ["mean-shift", "variance-ratio", "saturation", "rectifier-off"];

function dataRuleFindings(r: Report) {
  return reportFindings(r).filter((f) => DATA_RULES.includes(f.rule) || (f.rule === "dead-channel" && f.message.includes("never outside")));
}

describe("random data is not evidence about statistics", () => {
  it("a random-data run of the face detector raises no stale-statistics finding and says why; on its photos the same rules are judged", async () => {
    const random = await inspect({ modelPath: FACE_DETECTOR, samples: 8, batchSize: 4, mode: "fast" }, hooks);
    assert.equal(random.data.kind, "random");
    assert.equal(random.data.synthetic, true);
    assert.deepEqual(dataRuleFindings(random), []);
    const statement = random.warnings.find((w) => w.rule === "random-data");
    assert.ok(statement, "one plain statement");
    assert.match(statement.message, /random inputs/);
    assert.match(statement.message, /not whether its BN statistics fit real data/);
    assert.match(statement.message, /--data/);
    // What the stored parameters imply still shows: the data-free expected-flat finding of BatchNormalization_151.
    assert.ok(reportFindings(random).some((f) => f.rule === "expected-flat" && f.layer === "BatchNormalization_151"));
    // The numbers are still measured (the run checks that the model runs).
    assert.ok(random.layers.every((l) => l.compare.z.some((z) => z !== null)));

    const photos = await inspect(
      { modelPath: FACE_DETECTOR, dataPath: FACE_IMAGES, imageMean: [127], imageStd: [128], batchSize: 8, mode: "fast" },
      hooks,
    );
    assert.equal(photos.data.synthetic, false);
    assert.ok(!photos.warnings.some((w) => w.rule === "random-data"));
    assert.ok(dataRuleFindings(photos).length > 0, "the data-comparing rules are judged on photos");
    const intervals = photos.layers.flatMap((l) => l.compare.zInterval);
    assert.ok(intervals.every((iv) => iv !== null) && photos.layers.every((l) => l.compare.effectiveSamples.every((n) => n === 16)));
  });

  it("data-free findings still appear on random data: gamma 0 (dead), expected saturation; the demo judges its own distribution", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-random-"));
    const model = path.join(dir, "demo.onnx");
    fs.writeFileSync(model, buildDemoModel());
    try {
      const random = await inspect({ modelPath: model, samples: 64, seed: 1 }, hooks);
      assert.deepEqual(dataRuleFindings(random), []);
      const bn1 = random.layers.find((l) => l.node === "bn1")!;
      const dead = bn1.warnings.find((w) => w.rule === "dead-channel");
      assert.deepEqual(dead?.channels, [5]);
      assert.match(dead!.message, /gamma 0/);
      assert.ok(random.layers.find((l) => l.node === "bn2")!.warnings.some((w) => w.rule === "expected-flat"));
      assert.ok(random.warnings.some((w) => w.rule === "random-data"));

      const domain = await inspect({ modelPath: model, samples: 64, seed: 1, randomIsDomain: true }, hooks);
      assert.equal(domain.data.kind, "random-domain");
      assert.equal(domain.data.synthetic, false);
      const bn3 = domain.layers.find((l) => l.node === "bn3")!;
      assert.ok(bn3.warnings.some((w) => w.rule === "mean-shift") && bn3.warnings.some((w) => w.rule === "variance-ratio"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
