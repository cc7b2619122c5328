import * as assert from "node:assert/strict";
import { acceptable, fuzz, tally } from "./fuzzer";

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
});
