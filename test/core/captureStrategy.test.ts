// The capture modes as strategy objects: what each decides at the engine's two decision points.
import * as assert from "node:assert/strict";
import { autoCapture, captureStrategy, exactCapture, fastCapture } from "../../src/core/inspect/captureStrategy";

describe("capture strategies", () => {
  it("exact never samples, fast always does after its one-sample probe", () => {
    assert.equal(exactCapture.probeWithOneSample, false);
    assert.deepEqual(exactCapture.afterFirstBatch({ projectedExactS: 1e9 }), { switchToFast: false });
    assert.equal(fastCapture.probeWithOneSample, true);
    assert.deepEqual(fastCapture.afterFirstBatch({ projectedExactS: 0 }), { switchToFast: true });
  });

  it("auto switches only past its limit, and says how long exact would have taken", () => {
    const auto = autoCapture(10);
    assert.equal(auto.probeWithOneSample, false);
    assert.deepEqual(auto.afterFirstBatch({ projectedExactS: 10 }), { switchToFast: false });
    const d = auto.afterFirstBatch({ projectedExactS: 42.4 });
    assert.equal(d.switchToFast, true);
    assert.match(d.note ?? "", /about 42 s more, so BN Lens switched to fast mode/);
    assert.equal(captureStrategy("exact", 10), exactCapture);
    assert.equal(captureStrategy("fast", 10), fastCapture);
    assert.equal(captureStrategy("auto", 3).afterFirstBatch({ projectedExactS: 4 }).switchToFast, true);
  });
});
