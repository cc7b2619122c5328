// The per-channel intervals the detail view draws as error bars, against closed forms computed by hand in
// float64 (Student's t from a table, the delta method written out), and against the judge's own findings.
import * as assert from "node:assert/strict";
import { activationFinder } from "../../src/core/inspect/activationJson";
import { Inspection } from "../../src/core/inspect/inspection";
import type { LayerReport } from "../../src/core/report";
import { layerIntervals, rowIntervals, verdictOf } from "../../src/core/stats/channelIntervals";
import { withDefaults } from "../../src/core/stats/judge";
import type { HostTensor } from "../../src/core/tensor";
import { GraphBuilder } from "../helpers/onnxGraph";
import { seededNormals } from "../../src/core/random";

const normals = seededNormals;

/**
 * One BN layer of C channels (running mean 0, var 1, eps 0) fed n samples of L values: channel c's per-sample
 * means are N(shift[c], tau²), values around them N(0, sigma[c]²). Returns the report and the data [n, C, L].
 */
function layer(n: number, shift: number[], sigma: number[], seed: number, gamma?: number[]): { l: LayerReport; x: Float32Array } {
  const C = shift.length;
  const L = 32;
  const g = new GraphBuilder(13);
  g.node(
    "BatchNormalization",
    [
      "x",
      g.init("s", gamma ?? Array(C).fill(1)),
      g.init("b", Array(C).fill(0)),
      g.init("m", Array(C).fill(0)),
      g.init("v", Array(C).fill(1)),
    ],
    "y",
    { epsilon: 0 },
    "bn",
  );
  g.node("Relu", ["y"], "out");
  const inspection = new Inspection(g.model(["out"]), withDefaults(), activationFinder());
  const rnd = normals(seed);
  const x = new Float32Array(n * C * L);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < C; c++) {
      const m = shift[c] + 0.5 * rnd();
      for (let j = 0; j < L; j++) x[(i * C + c) * L + j] = m + sigma[c] * rnd();
    }
  const y = Float32Array.from(x, (v, k) => v * (gamma?.[Math.floor(k / L) % C] ?? 1));
  const tensors: Record<string, HostTensor> = {
    x: { dtype: "float32", dims: [n, C, L], data: x },
    y: { dtype: "float32", dims: [n, C, L], data: y },
  };
  inspection.addBatch((name) => tensors[name], n);
  return { l: inspection.layerReports()[0], x };
}

describe("per-channel intervals (the detail view's error bars)", () => {
  it("equal the closed forms computed by hand: Student's t for z, the delta method on the log scale for the ratio", () => {
    const n = 16;
    const { l, x } = layer(n, [0.4, 1.2], [1, 2.2], 11);
    const C = 2,
      L = 32;
    const t15 = 2.13145; // Student's t, 97.5% point, 15 degrees of freedom (tables)
    for (let c = 0; c < C; c++) {
      const m: number[] = [],
        w: number[] = [];
      for (let i = 0; i < n; i++) {
        const v = Array.from(x.subarray((i * C + c) * L, (i * C + c + 1) * L));
        const mi = v.reduce((a, b) => a + b, 0) / L;
        m.push(mi);
        w.push(v.reduce((a, b) => a + (b - mi) ** 2, 0) / L);
      }
      const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
      const mBar = mean(m);
      const sm = Math.sqrt(m.reduce((s, v) => s + (v - mBar) ** 2, 0) / (n - 1));
      const zHalf = (t15 * sm) / Math.sqrt(n); // running var 1, eps 0
      const V = mean(w) + m.reduce((s, v) => s + (v - mBar) ** 2, 0) / n;
      const psi = m.map((mi, i) => w[i] + (mi - mBar) ** 2);
      const psiBar = mean(psi);
      const sPsi = Math.sqrt(psi.reduce((s, v) => s + (v - psiBar) ** 2, 0) / (n - 1));
      const logHalf = (t15 * sPsi) / (Math.sqrt(n) * V);
      const fold = (a: number, b: number): [number, number] => (a >= 1 ? [a, b] : b <= 1 ? [1 / b, 1 / a] : [1, Math.max(b, 1 / a)]);
      const [rLo, rHi] = fold(V * Math.exp(-logHalf), V * Math.exp(logHalf));

      const iv = layerIntervals(l, withDefaults());
      const z = iv.z[c]!;
      const r = iv.ratio[c]!;
      assert.ok(Math.abs(z.estimate - mBar) < 1e-9, `z ${z.estimate} vs ${mBar}`);
      assert.ok(Math.abs((z.hi - z.lo) / 2 - zHalf) < 1e-3 * zHalf, `z half-width ${(z.hi - z.lo) / 2} vs ${zHalf}`);
      assert.ok(Math.abs(r.estimate - Math.max(V, 1 / V)) < 1e-9 * V);
      assert.ok(Math.abs(r.lo - rLo) < 1e-3 * rLo && Math.abs(r.hi - rHi) < 1e-3 * rHi, `ratio ${r.lo}–${r.hi} vs ${rLo}–${rHi}`);
      assert.ok(z.hasInterval && r.hasInterval);
    }
  });

  it("verdicts are the judge's: crossed channels are the warning's, undecided ones the info note's", () => {
    // Shifts 0.1 (within), 1.15 (the estimate crosses 1, the 16-sample interval does not), 4 (crossed);
    // sigma 2.4 gives a variance ratio around 6 that 16 samples decide.
    const t = withDefaults();
    let undecidedSeen = 0;
    for (const [n, seed] of [
      [16, 1],
      [16, 2],
      [16, 3],
      [16, 4],
      [16, 6],
      [16, 8],
      [200, 5],
    ]) {
      const { l } = layer(n, [0.1, 1.15, 4, 0.2], [0.3, 0.3, 0.3, 2.4], seed);
      const iv = layerIntervals(l, t);
      const channelsOf = (list: typeof iv.z, v: string) => list.flatMap((x, c) => (x?.verdict === v ? [c] : []));
      const sorted = (a: readonly number[] | undefined) => [...(a ?? [])].sort((p, q) => p - q);
      for (const [rule, list] of [
        ["mean-shift", iv.z],
        ["variance-ratio", iv.ratio],
      ] as const) {
        const fired = l.warnings.find((w) => w.rule === rule && w.severity !== "info");
        const open = l.warnings.find((w) => w.rule === rule && w.severity === "info");
        assert.deepEqual(channelsOf(list, "crossed"), sorted(fired?.channels), `${rule}, ${n} samples: crossed`);
        assert.deepEqual(channelsOf(list, "undecided"), sorted(open?.channels), `${rule}, ${n} samples: undecided`);
        const counted = iv.counts[rule === "mean-shift" ? "z" : "ratio"];
        assert.equal(counted.crossed + counted.undecided + counted.within + counted.skipped, 4);
      }
      assert.equal(iv.z[0]!.verdict, "within");
      assert.equal(iv.z[2]!.verdict, "crossed");
      assert.equal(iv.ratio[3]!.verdict, "crossed");
      if (n === 200) assert.equal(iv.z[1]!.verdict, "crossed", "200 samples decide the 1.15 shift");
      else undecidedSeen += iv.counts.z.undecided;
    }
    assert.ok(undecidedSeen > 0, "16 samples leave the 1.15 shift undecided at least once");
  });

  it("channels the rules do not judge are skipped: gamma 0, and every channel on random data", () => {
    const { l } = layer(16, [3, 3], [1, 1], 2, [1, 0]);
    const t = withDefaults();
    assert.deepEqual(
      layerIntervals(l, t).z.map((z) => z?.verdict),
      ["crossed", "skipped"],
    );
    assert.deepEqual(
      layerIntervals(l, t, false).z.map((z) => z?.verdict),
      ["skipped", "skipped"],
    );
  });

  it("an overview row carries the worst channels' intervals (the summary's channels) and the counts", () => {
    const { l } = layer(16, [0.1, -2, 4, 0.2], [0.3, 0.3, 0.3, 2.4], 4);
    const t = withDefaults();
    const row = rowIntervals(l, t);
    const all = layerIntervals(l, t);
    assert.equal(l.summary.worstZ?.channel, 2);
    assert.equal(l.summary.worstVarRatio?.channel, 3);
    assert.deepEqual(row.z, all.z[2]);
    assert.deepEqual(row.ratio, all.ratio[3]);
    assert.deepEqual(row.counts, all.counts);
    assert.equal(row.counts.z.crossed, 2, "z = -2 and z = 4 cross with 16 samples");
  });

  it("verdictOf: the near end decides; an estimate beyond with the near end inside is undecided", () => {
    assert.equal(verdictOf(1.5, 1.2, 1), "crossed");
    assert.equal(verdictOf(1.5, 1, 1), "crossed");
    assert.equal(verdictOf(1.5, 0.4, 1), "undecided");
    assert.equal(verdictOf(0.9, 0, 1), "within");
  });
});
