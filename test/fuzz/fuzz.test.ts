import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { InspectorClient } from "../../src/runtime/client";
import { ROOT } from "../helpers/paths";
import { Rng, acceptable, baseReports, fuzz, reportCase, tally } from "./fuzzer";

describe("fuzzing (short run)", function () {
  this.timeout(600_000);
  it("mutated and truncated models and data give a report or one plain sentence, never a bug, crash or hang", async () => {
    const outcomes = await fuzz({ iterations: 60, seed: 20261128, timeoutMs: 60_000 });
    const bad = outcomes.filter((o) => !acceptable(o));
    console.log(`      outcomes: ${JSON.stringify(tally(outcomes))}`);
    assert.deepEqual(
      bad.map((o) => `${o.iteration} ${o.seed} ${o.mutator}: ${o.outcome}: ${o.message}`),
      [],
    );
  });

  it("report mutations: the streaming merge writes the in-memory merge's text, or refuses with its sentence", async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-fuzz-reports-"));
    const client = new InspectorClient(path.join(ROOT, "dist", "worker.js"));
    try {
      const reports = await baseReports(client, work);
      const rng = new Rng(20261201);
      const outcomes = Array.from({ length: 300 }, (_, i) => ({ iteration: i, ...reportCase(reports, rng) }));
      const counts: Record<string, number> = {};
      for (const o of outcomes) counts[o.outcome] = (counts[o.outcome] ?? 0) + 1;
      console.log(`      outcomes: ${JSON.stringify(counts)}`);
      assert.ok(counts.ok > 0 && counts["user:data"] > 0, "both merges and refusals were compared");
      assert.deepEqual(
        outcomes.filter((o) => !/^(ok|user:)/.test(o.outcome)).map((o) => `${o.iteration} ${o.mutator}: ${o.outcome}: ${o.message}`),
        [],
      );
    } finally {
      client.dispose();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
