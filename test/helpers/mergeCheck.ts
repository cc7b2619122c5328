import * as assert from "node:assert/strict";
import type { Report } from "../../src/core/report";

/**
 * A merged report's per-layer statistics equal those of one run over all the data: counts, extremes,
 * non-finite counts and histograms exactly, means, variances and z within 1e-12 relative (float64 sums in
 * another order), and the same findings.
 */
export function assertSameLayerStatistics(merged: Report, full: Report): void {
  assert.equal(merged.layers.length, full.layers.length);
  const near = (a: number | null, b: number | null, what: string) => {
    assert.ok(a !== null && b !== null, what);
    assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  };
  merged.layers.forEach((l, i) => {
    const f = full.layers[i];
    for (const side of ["pre", "post"] as const) {
      assert.deepEqual(l[side].count, f[side].count);
      assert.deepEqual(l[side].min, f[side].min);
      assert.deepEqual(l[side].max, f[side].max);
      assert.deepEqual(l[side].nonFinite, f[side].nonFinite);
      assert.deepEqual(l[side].histogram, f[side].histogram);
      l[side].mean.forEach((v, c) => near(v, f[side].mean[c], `${l.node} ${side}.mean[${c}]`));
      l[side].var.forEach((v, c) => near(v, f[side].var[c], `${l.node} ${side}.var[${c}]`));
    }
    assert.deepEqual(l.saturation.count, f.saturation.count);
    l.compare.z.forEach((z, c) => near(z, f.compare.z[c], `${l.node} z[${c}]`));
    assert.deepEqual(
      l.warnings.map((w) => [w.rule, w.severity, w.channels]),
      f.warnings.map((w) => [w.rule, w.severity, w.channels]),
    );
  });
}
