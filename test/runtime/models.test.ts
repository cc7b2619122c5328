// Real models as data (test/models.json, in the manner of netron's test/models.json): each case names a
// model, its data and options, and what must come out (layer count, the nonlinearity after each layer by
// kind, notes) or the error a user reads, with why it is there. Every bug found on a real model becomes
// one entry. Expected values come from the models' own structure (counted nodes, their documented
// preprocessing), not from earlier BN Lens output.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { InspectRequest } from "../../src/protocol/worker";
import { inspect } from "../../src/runtime/engine";
import { ROOT } from "../helpers/paths";

/** One real-model case. */
interface ModelCase {
  name: string;
  /** Paths relative to the project root. */
  model: string;
  data?: string;
  options: Omit<InspectRequest, "modelPath" | "dataPath">;
  /** The error message the run must fail with (a regular expression), instead of a report. */
  error?: string;
  samples?: number;
  layers?: number;
  /** How many BN layers each nonlinearity follows ("none" when the next node is not one). */
  nonlinearities?: Record<string, number>;
  /** Words each of which some model note must contain. */
  notes?: string[];
  why: string;
}

const cases = JSON.parse(fs.readFileSync(path.join(ROOT, "test", "models.json"), "utf8")) as ModelCase[];
const quiet = { progress: () => undefined, log: () => undefined, cancelled: () => false };

describe("real models (test/models.json)", () => {
  it("every case says why it is there and what it expects", () => {
    for (const c of cases) {
      assert.ok(c.why.length > 20, `${c.name}: why`);
      assert.ok(c.error !== undefined || c.layers !== undefined, `${c.name}: expects nothing`);
    }
  });

  for (const c of cases) {
    it(c.name, async () => {
      const request: InspectRequest = {
        ...c.options,
        modelPath: path.resolve(ROOT, c.model),
        ...(c.data ? { dataPath: path.resolve(ROOT, c.data) } : {}),
      };
      if (c.error !== undefined) {
        await assert.rejects(inspect(request, quiet), (e: Error) => {
          assert.match(e.message, new RegExp(c.error!));
          assert.equal(e.name, "UserError", "a user error, not a bug");
          return true;
        });
        return;
      }
      const report = await inspect(request, quiet);
      if (c.samples !== undefined) assert.equal(report.samples, c.samples);
      assert.equal(report.layers.length, c.layers);
      if (c.nonlinearities) {
        const ops: Record<string, number> = {};
        for (const l of report.layers) ops[l.activation.op] = (ops[l.activation.op] ?? 0) + 1;
        assert.deepEqual(ops, c.nonlinearities);
      }
      for (const n of c.notes ?? [])
        assert.ok(
          report.model.notes.some((x) => x.includes(n)),
          `no note mentions "${n}": ${report.model.notes.join(" | ")}`,
        );
    });
  }
});
