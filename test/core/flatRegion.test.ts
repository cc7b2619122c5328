import * as assert from "node:assert/strict";
import {
  chainOpName,
  chainSlope,
  channelCount,
  describeActivation,
  describeChain,
  describeRegion,
  evaluateChain,
  flatRegion,
  flatRegionsByChannel,
  FlatMembership,
  membership,
  SELU_ALPHA,
  SELU_GAMMA,
  type Nonlinearity,
  type Chain,
  type Interval,
} from "../../src/core/graph/flatRegion";
import { erf, erfc, normalCdf } from "../../src/core/graph/specialFunctions";

const INF = Infinity;

/** Asserts two interval lists match boundary by boundary (infinities exactly, finite ones within tol). */
function assertIntervals(actual: readonly Interval[], expected: readonly Interval[], tol = 1e-9, what = ""): void {
  assert.equal(actual.length, expected.length, `${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
  actual.forEach((iv, i) => {
    for (const k of [0, 1] as const) {
      const a = iv[k];
      const e = expected[i][k];
      if (!Number.isFinite(e)) assert.equal(a, e, `${what}: interval ${i} bound ${k}`);
      else assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}: interval ${i} bound ${k}: ${a} vs ${e}`);
    }
  });
}

/** The flatness the definition asks for at x: min of the one-sided |slopes| below the threshold. */
function flatByDefinition(chain: Chain | Nonlinearity, x: number, threshold: number): boolean {
  return Math.min(Math.abs(chainSlope(chain, x, -1)), Math.abs(chainSlope(chain, x, 1))) < threshold;
}

describe("flat regions: required values (expected numbers derived independently)", () => {
  it("ReLU is flat exactly for x ≤ 0", () => {
    const r = flatRegion({ op: "Relu" });
    assert.deepEqual(r.intervals, [[-INF, 0]]);
    assert.equal(r.maxSlope, 1);
    assert.equal(r.description, "x ≤ 0");
  });

  it("Clip(lo, hi) is flat for x ≤ lo or x ≥ hi; a missing bound is ±∞", () => {
    assert.deepEqual(flatRegion({ op: "Clip", min: 0, max: 6 }).intervals, [
      [-INF, 0],
      [6, INF],
    ]);
    assert.deepEqual(flatRegion({ op: "Clip", min: -1, max: 1 }).intervals, [
      [-INF, -1],
      [1, INF],
    ]);
    assert.deepEqual(flatRegion({ op: "Clip", min: -INF, max: 6 }).intervals, [[6, INF]]);
    assert.deepEqual(flatRegion({ op: "Clip", min: 0, max: INF }).intervals, [[-INF, 0]]);
    assert.deepEqual(flatRegion({ op: "Clip", min: -INF, max: INF }).intervals, []);
    assert.equal(flatRegion({ op: "Clip", min: 0, max: 6 }).description, "x ≤ 0 or x ≥ 6");
  });

  it("Sigmoid: |x| ≥ 5.288, from σ(1-σ) = 0.02·¼ solved as a quadratic in σ", () => {
    const s = (1 + Math.sqrt(1 - 4 * 0.005)) / 2;
    const b = Math.log(s / (1 - s));
    const r = flatRegion({ op: "Sigmoid" });
    assertIntervals(
      r.intervals,
      [
        [-INF, -b],
        [b, INF],
      ],
      1e-12,
    );
    assert.ok(Math.abs(b - 5.288) < 1e-3 && Math.abs(b - 5.2877) < 1e-3);
    assert.equal(r.maxSlope, 0.25);
    assert.equal(r.description, "|x| ≥ 5.288");
  });

  it("Tanh: |x| ≥ 2.644, from 1 - tanh² = 0.02", () => {
    const b = Math.atanh(Math.sqrt(0.98));
    assertIntervals(
      flatRegion({ op: "Tanh" }).intervals,
      [
        [-INF, -b],
        [b, INF],
      ],
      1e-12,
    );
    assert.ok(Math.abs(b - 2.644) < 1e-3);
    assert.equal(flatRegion({ op: "Tanh" }).description, "|x| ≥ 2.644");
  });

  it("LeakyReLU: α = 0.01 gives x ≤ 0 (0.01 < 0.02), α = 0.1 none, α = 0.02 none (strictly below), α = -0.01 x ≤ 0", () => {
    assert.deepEqual(flatRegion({ op: "LeakyRelu", alpha: 0.01 }).intervals, [[-INF, 0]]);
    assert.deepEqual(flatRegion({ op: "LeakyRelu", alpha: 0.1 }).intervals, []);
    assert.deepEqual(flatRegion({ op: "LeakyRelu", alpha: 0.02 }).intervals, []);
    assert.deepEqual(flatRegion({ op: "LeakyRelu", alpha: -0.01 }).intervals, [[-INF, 0]]);
    // α = 100: the steepest slope is 100, so the slope 1 of the right half is below 2.
    const big = flatRegion({ op: "LeakyRelu", alpha: 100 });
    assert.equal(big.maxSlope, 100);
    assert.deepEqual(big.intervals, [[0, INF]]);
  });

  it("PRelu with a scalar slope behaves as LeakyReLU; per-channel slopes give per-channel regions", () => {
    assert.deepEqual(flatRegion({ op: "PRelu", slope: 0.25 }).intervals, []);
    assert.deepEqual(flatRegion({ op: "PRelu", slope: [0.001] }).intervals, [[-INF, 0]]);
    const a: Nonlinearity = { op: "PRelu", slope: [0.01, 0.25, 0.015, -0.3, 0.01] };
    assert.equal(channelCount(a), 5);
    const regions = flatRegionsByChannel(a);
    assert.deepEqual(
      regions.map((r) => r.intervals),
      [[[-INF, 0]], [], [[-INF, 0]], [], [[-INF, 0]]],
    );
    assert.equal(regions[0], regions[4], "equal slopes share one computed region");
    assert.deepEqual(flatRegion(a, { channel: 1 }).intervals, []);
    assert.throws(() => flatRegion(a, { channel: 7 }), RangeError);
    assert.equal(channelCount({ op: "Relu" }), 1);
  });

  it("HardSigmoid(0.2, 0.5): |x| ≥ 2.5; other parameters move the kinks to -β/α and (1-β)/α", () => {
    const r = flatRegion({ op: "HardSigmoid", alpha: 0.2, beta: 0.5 });
    assert.deepEqual(r.intervals, [
      [-INF, -2.5],
      [2.5, INF],
    ]);
    assert.equal(r.description, "|x| ≥ 2.5");
    assert.equal(r.maxSlope, 0.2);
    assertIntervals(
      flatRegion({ op: "HardSigmoid", alpha: 1 / 6, beta: 0.5 }).intervals,
      [
        [-INF, -3],
        [3, INF],
      ],
      1e-15,
    );
    assert.deepEqual(flatRegion({ op: "HardSigmoid", alpha: -0.2, beta: 0.5 }).intervals, [
      [-INF, -2.5],
      [2.5, INF],
    ]);
    assertIntervals(
      flatRegion({ op: "HardSigmoid", alpha: 0.5, beta: 0.25 }).intervals,
      [
        [-INF, -0.5],
        [1.5, INF],
      ],
      1e-15,
    );
    assert.deepEqual(flatRegion({ op: "HardSigmoid", alpha: 0, beta: 0.5 }).intervals, [[-INF, INF]]);
  });

  it("HardSwish: x ≤ -3 or -1.59 ≤ x ≤ -1.41 (slope x/3 + ½ within 0.03 of 0; max slope 1.5 at 3⁻)", () => {
    const r = flatRegion({ op: "HardSwish" });
    assert.equal(r.maxSlope, 1.5);
    assertIntervals(
      r.intervals,
      [
        [-INF, -3],
        [-1.5 - 0.09, -1.5 + 0.09],
      ],
      1e-14,
    );
    assert.equal(r.description, "x ≤ -3 or -1.59 ≤ x ≤ -1.41");
    // With a fraction of ½ the band (|x/3 + ½| < 0.75) reaches past -3 and merges with the left tail.
    assertIntervals(flatRegion({ op: "HardSwish" }, { fraction: 0.5 }).intervals, [[-INF, 0.75]], 1e-14);
  });

  it("ELU, SELU, CELU: left tails at ln(f·max/|scale|)", () => {
    const ln02 = Math.log(0.02);
    assertIntervals(flatRegion({ op: "Elu", alpha: 1 }).intervals, [[-INF, ln02]], 1e-14);
    assertIntervals(flatRegion({ op: "Elu", alpha: 2 }).intervals, [[-INF, ln02]], 1e-14); // slope 2eˣ vs 0.02·2
    assertIntervals(flatRegion({ op: "Elu", alpha: 0.5 }).intervals, [[-INF, Math.log(0.04)]], 1e-14); // 0.5eˣ < 0.02
    assert.deepEqual(flatRegion({ op: "Elu", alpha: 0.01 }).intervals, [[-INF, 0]]);
    const selu = flatRegion({ op: "Selu", alpha: SELU_ALPHA, gamma: SELU_GAMMA });
    assert.ok(Math.abs(selu.maxSlope - SELU_ALPHA * SELU_GAMMA) < 1e-15);
    assertIntervals(selu.intervals, [[-INF, ln02]], 1e-14);
    assertIntervals(flatRegion({ op: "Celu", alpha: 1 }).intervals, [[-INF, ln02]], 1e-14);
    assertIntervals(flatRegion({ op: "Celu", alpha: 2.5 }).intervals, [[-INF, 2.5 * ln02]], 1e-14);
    assert.throws(() => flatRegion({ op: "Celu", alpha: 0 }), RangeError);
  });

  it("Softplus x ≤ ln(0.02/0.98); Softsign |x| ≥ 1/√0.02 - 1; Identity none", () => {
    assertIntervals(flatRegion({ op: "Softplus" }).intervals, [[-INF, Math.log(0.02 / 0.98)]], 1e-14);
    const b = 1 / Math.sqrt(0.02) - 1;
    assertIntervals(
      flatRegion({ op: "Softsign" }).intervals,
      [
        [-INF, -b],
        [b, INF],
      ],
      1e-14,
    );
    assert.deepEqual(flatRegion({ op: "Identity" }).intervals, []);
    assert.equal(flatRegion({ op: "Identity" }).description, "none");
  });

  // Reference values from mpmath at 40 digits (findroot on diff(f, x) ± 0.02·max slope), e.g. for GELU:
  //   f = lambda x: x*ncdf(x); sup = diff(f, findroot(lambda x: diff(f, x, 2), 1.5)); findroot(lambda x: diff(f, x) + 0.02*sup, -2.5)
  const smooth: { a: Nonlinearity; sup: number; tail: number; band: [number, number] }[] = [
    {
      a: { op: "Gelu", approximate: "none" },
      sup: 1.1289041451851548,
      tail: -2.7392185803846088,
      band: [-0.80684933230005965, -0.70171567216077336],
    },
    {
      a: { op: "Gelu", approximate: "tanh" },
      sup: 1.1289930686587718,
      tail: -2.7380085673224618,
      band: [-0.80767217263181526, -0.70226154988294117],
    },
    { a: { op: "Silu" }, sup: 1.0998393201288669, tail: -5.2527560240362176, band: [-1.3873099660646614, -1.1836015664713507] },
    { a: { op: "Mish" }, sup: 1.0884981612517279, tail: -5.2740467870684442, band: [-1.279717197166083, -1.1154888874631479] },
  ];
  for (const { a, sup, tail, band } of smooth) {
    it(`${describeActivation(a)}: left tail and the narrow band where the slope crosses zero (mpmath reference)`, () => {
      const r = flatRegion(a);
      assert.ok(Math.abs(r.maxSlope - sup) < 1e-13, `max slope ${r.maxSlope} vs ${sup}`);
      assertIntervals(r.intervals, [[-INF, tail], band], 1e-11, describeActivation(a));
    });
  }

  it("GELU's reference numbers also follow from the closed-form slope Φ(x) + xφ(x)", () => {
    const phi = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
    const slope = (x: number) => normalCdf(x) + x * phi(x);
    const r = flatRegion({ op: "Gelu", approximate: "none" });
    assert.ok(Math.abs(r.maxSlope - slope(Math.SQRT2)) < 1e-15, "the maximum is at √2, where the second derivative φ(x)(2 - x²) vanishes");
    for (const x of [r.intervals[0][1], r.intervals[1][0], r.intervals[1][1]]) {
      assert.ok(Math.abs(Math.abs(slope(x)) - 0.02 * r.maxSlope) < 1e-14, `|slope| at ${x} is the threshold`);
    }
  });
});

describe("flat regions: closed forms agree with the numeric engine", () => {
  const cases: Nonlinearity[] = [
    { op: "Relu" },
    { op: "LeakyRelu", alpha: 0.01 },
    { op: "LeakyRelu", alpha: 0.3 },
    { op: "LeakyRelu", alpha: -0.5 },
    { op: "PRelu", slope: 0.005 },
    { op: "Clip", min: 0, max: 6 },
    { op: "Clip", min: -2.5, max: 0.75 },
    { op: "Clip", min: -INF, max: 1 },
    { op: "Sigmoid" },
    { op: "Tanh" },
    { op: "HardSigmoid", alpha: 0.2, beta: 0.5 },
    { op: "HardSigmoid", alpha: -1.5, beta: 0.1 },
    { op: "HardSwish" },
    { op: "Elu", alpha: 1 },
    { op: "Elu", alpha: 3 },
    { op: "Selu", alpha: SELU_ALPHA, gamma: SELU_GAMMA },
    { op: "Celu", alpha: 1 },
    { op: "Celu", alpha: 40 },
    { op: "Softplus" },
    { op: "Softsign" },
    { op: "Identity" },
  ];
  for (const fraction of [0.005, 0.02, 0.1, 0.3, 0.6]) {
    it(`fraction ${fraction}`, () => {
      for (const a of cases) {
        const exact = flatRegion(a, { fraction });
        const numeric = flatRegion(a, { fraction, numeric: true });
        assert.ok(Math.abs(exact.maxSlope - numeric.maxSlope) <= 1e-12 * exact.maxSlope, `${a.op} max slope`);
        assertIntervals(numeric.intervals, exact.intervals, 1e-11, `${JSON.stringify(a)} at ${fraction}`);
      }
    });
  }
});

describe("flat regions: compositions", () => {
  it("ReLU then Clip(0, 6) is flat for x ≤ 0 or x ≥ 6, with exact kinks", () => {
    const chain: Chain = [{ op: "Relu" }, { op: "Clip", min: 0, max: 6 }];
    const r = flatRegion(chain);
    assert.deepEqual(r.intervals, [
      [-INF, 0],
      [6, INF],
    ]);
    assert.equal(r.maxSlope, 1);
    assert.deepEqual(flatRegion([{ op: "Clip", min: 0, max: 6 }, { op: "Relu" }]).intervals, [
      [-INF, 0],
      [6, INF],
    ]);
    assert.equal(chainOpName(chain), "Relu→Clip");
    assert.equal(describeChain(chain), "ReLU → ReLU6 (Clip 0…6)");
  });

  it("ReLU then Sigmoid: the ReLU's flat half plus the sigmoid's right tail; max slope ¼ at 0⁺", () => {
    const s = (1 + Math.sqrt(1 - 4 * 0.005)) / 2;
    const b = Math.log(s / (1 - s));
    const r = flatRegion([{ op: "Relu" }, { op: "Sigmoid" }]);
    assert.equal(r.maxSlope, 0.25);
    assertIntervals(
      r.intervals,
      [
        [-INF, 0],
        [b, INF],
      ],
      1e-11,
    );
  });

  it("Softplus then Clip(0, 6): tail at logit(0.02·(1 - e⁻⁶)) and clip at ln(e⁶ - 1)", () => {
    const sup = 1 - Math.exp(-6); // the slope σ(x) is largest just below softplus⁻¹(6) = ln(e⁶ - 1)
    const t = 0.02 * sup;
    const r = flatRegion([{ op: "Softplus" }, { op: "Clip", min: 0, max: 6 }]);
    assert.ok(Math.abs(r.maxSlope - sup) < 1e-12);
    assertIntervals(
      r.intervals,
      [
        [-INF, Math.log(t / (1 - t))],
        [Math.log(Math.expm1(6)), INF],
      ],
      1e-11,
    );
  });

  it("LeakyReLU(0.1) then Clip(0, 6): the negative side is clipped to 0", () => {
    assert.deepEqual(
      flatRegion([
        { op: "LeakyRelu", alpha: 0.1 },
        { op: "Clip", min: 0, max: 6 },
      ]).intervals,
      [
        [-INF, 0],
        [6, INF],
      ],
    );
    // Clip(-1, 6) keeps the leaky side until 0.1x = -1, i.e. x = -10; slope 0.1 there is not flat.
    assert.deepEqual(
      flatRegion([
        { op: "LeakyRelu", alpha: 0.1 },
        { op: "Clip", min: -1, max: 6 },
      ]).intervals,
      [
        [-INF, -10],
        [6, INF],
      ],
    );
  });

  it("a negative slope reverses the side of the next kink: PRelu(-1) = |x| then Clip(0, 1) is flat for |x| ≥ 1", () => {
    const chain: Chain = [
      { op: "PRelu", slope: -1 },
      { op: "Clip", min: 0, max: 1 },
    ];
    assert.deepEqual(flatRegion(chain).intervals, [
      [-INF, -1],
      [1, INF],
    ]);
    assert.equal(chainSlope(chain, -1, -1), 0);
    assert.equal(chainSlope(chain, -1, 1), -1);
  });

  it("GELU then Clip(-0.1, 6): the clip's kinks pulled back through the non-monotone GELU", () => {
    const chain: Chain = [
      { op: "Gelu", approximate: "none" },
      { op: "Clip", min: -0.1, max: 6 },
    ];
    const r = flatRegion(chain);
    assert.equal(r.intervals.length, 3);
    const [[, tail], [a, b], [c]] = r.intervals;
    assertIntervals([[-INF, tail]], [[-INF, -2.7392185803846088]], 1e-11);
    const gelu = (x: number) => x * normalCdf(x);
    // GELU dips below -0.1 (its minimum is -0.17) between a and b: the clip holds it flat there.
    for (const x of [a, b]) assert.ok(Math.abs(gelu(x) + 0.1) < 1e-15, `GELU(${x}) = -0.1`);
    assert.ok(Math.abs(gelu(c) - 6) < 1e-14 && c > 6);
  });

  it("a constant chain is flat everywhere; Identity links are ignored", () => {
    const r = flatRegion([
      { op: "Clip", min: 0, max: 6 },
      { op: "Clip", min: 7, max: 8 },
    ]);
    assert.equal(r.maxSlope, 0);
    assert.deepEqual(r.intervals, [[-INF, INF]]);
    assert.equal(r.description, "everywhere");
    assert.deepEqual(flatRegion([{ op: "Identity" }, { op: "Relu" }, { op: "Identity" }]).intervals, [[-INF, 0]]);
    assert.deepEqual(flatRegion([]).intervals, []);
  });

  it("slopes exactly at the threshold stay non-flat (no interval from rounding)", () => {
    assert.deepEqual(
      flatRegion([
        { op: "PRelu", slope: 0.5 },
        { op: "LeakyRelu", alpha: 0.04 },
      ]).intervals,
      [],
    );
    assert.deepEqual(
      flatRegion([
        { op: "LeakyRelu", alpha: 0.02 },
        { op: "Clip", min: -INF, max: INF },
      ]).intervals,
      [],
    );
    assert.deepEqual(flatRegion([{ op: "Relu" }, { op: "Relu" }, { op: "Relu" }]).intervals, [[-INF, 0]]);
  });

  it("a far-away kink is found (Relu then Clip(0, 1e6)); a wide CELU tail too", () => {
    assert.deepEqual(flatRegion([{ op: "Relu" }, { op: "Clip", min: 0, max: 1e6 }]).intervals, [
      [-INF, 0],
      [1e6, INF],
    ]);
    assertIntervals(flatRegion([{ op: "Celu", alpha: 500 }, { op: "Identity" }, { op: "Relu" }]).intervals, [[-INF, 0]]);
    assertIntervals(
      flatRegion([
        { op: "Celu", alpha: 500 },
        { op: "Clip", min: -INF, max: 1e9 },
      ]).intervals,
      [
        [-INF, 500 * Math.log(0.02)],
        [1e9, INF],
      ],
      1e-11,
    );
  });

  it("rejects a fraction outside (0, 1)", () => {
    for (const fraction of [0, 1, -0.1, 2, NaN]) assert.throws(() => flatRegion({ op: "Relu" }, { fraction }), RangeError);
  });

  // The region must equal the definition at every point except within rounding of a boundary.
  const chains: Chain[] = [
    [{ op: "HardSwish" }],
    [
      { op: "Gelu", approximate: "none" },
      { op: "Clip", min: -0.1, max: 6 },
    ],
    [{ op: "Silu" }, { op: "Tanh" }],
    [{ op: "Mish" }, { op: "Sigmoid" }],
    [{ op: "Tanh" }, { op: "HardSigmoid", alpha: 2, beta: 0.5 }],
    [{ op: "Sigmoid" }, { op: "Clip", min: 0.1, max: 0.9 }],
    [{ op: "Elu", alpha: 1 }, { op: "Softsign" }, { op: "HardSwish" }],
    [{ op: "LeakyRelu", alpha: -0.3 }, { op: "HardSwish" }],
    [{ op: "Softplus" }, { op: "Gelu", approximate: "tanh" }],
  ];
  for (const chain of chains) {
    for (const fraction of [0.02, 0.15]) {
      it(`matches the definition point by point: ${chainOpName(chain)} at ${fraction}`, () => {
        const r = flatRegion(chain, { fraction });
        const m = membership(r);
        const bounds = r.intervals.flat().filter(Number.isFinite);
        let seed = 12345;
        const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
        const xs = [...Array.from({ length: 4001 }, (_, i) => -20 + i / 100), ...Array.from({ length: 2000 }, () => (rand() - 0.5) * 60)];
        for (const x of xs) {
          if (bounds.some((b) => Math.abs(x - b) < 1e-9 * Math.max(1, Math.abs(b)))) continue;
          assert.equal(m.contains(x), flatByDefinition(chain, x, r.threshold), `${chainOpName(chain)} at x = ${x} (${r.description})`);
        }
      });
    }
  }
});

describe("flat regions: values and one-sided slopes", () => {
  it("one-sided slopes at kinks", () => {
    assert.deepEqual([chainSlope({ op: "HardSwish" }, -3, -1), chainSlope({ op: "HardSwish" }, -3, 1)], [0, -0.5]);
    assert.deepEqual([chainSlope({ op: "HardSwish" }, 3, -1), chainSlope({ op: "HardSwish" }, 3, 1)], [1.5, 1]);
    assert.deepEqual([chainSlope({ op: "Relu" }, 0, -1), chainSlope({ op: "Relu" }, 0, 1)], [0, 1]);
    const relu6: Chain = [{ op: "Relu" }, { op: "Clip", min: 0, max: 6 }];
    assert.deepEqual([chainSlope(relu6, 6, -1), chainSlope(relu6, 6, 1)], [1, 0]);
    assert.equal(chainSlope({ op: "Elu", alpha: 2 }, 0, -1), 2);
  });

  it("values match the ONNX definitions", () => {
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const sp = (x: number) => Math.log(1 + Math.exp(x));
    const refs: [Nonlinearity, (x: number) => number][] = [
      [{ op: "Relu" }, (x) => Math.max(0, x)],
      [{ op: "LeakyRelu", alpha: 0.1 }, (x) => (x >= 0 ? x : 0.1 * x)],
      [{ op: "Clip", min: -1, max: 2 }, (x) => Math.min(2, Math.max(-1, x))],
      [{ op: "Sigmoid" }, sig],
      [{ op: "HardSigmoid", alpha: 0.2, beta: 0.5 }, (x) => Math.max(0, Math.min(1, 0.2 * x + 0.5))],
      [{ op: "Tanh" }, Math.tanh],
      [{ op: "HardSwish" }, (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5))],
      [{ op: "Elu", alpha: 1.5 }, (x) => (x > 0 ? x : 1.5 * (Math.exp(x) - 1))],
      [{ op: "Selu", alpha: SELU_ALPHA, gamma: SELU_GAMMA }, (x) => SELU_GAMMA * (x > 0 ? x : SELU_ALPHA * (Math.exp(x) - 1))],
      [{ op: "Celu", alpha: 2 }, (x) => Math.max(0, x) + Math.min(0, 2 * (Math.exp(x / 2) - 1))],
      [{ op: "Softplus" }, sp],
      [{ op: "Softsign" }, (x) => x / (1 + Math.abs(x))],
      [{ op: "Gelu", approximate: "none" }, (x) => 0.5 * x * (1 + erf(x / Math.SQRT2))],
      [{ op: "Gelu", approximate: "tanh" }, (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))],
      [{ op: "Silu" }, (x) => x * sig(x)],
      [{ op: "Mish" }, (x) => x * Math.tanh(sp(x))],
    ];
    for (const [a, ref] of refs) {
      for (let x = -7; x <= 7; x += 0.37) {
        assert.ok(Math.abs(evaluateChain(a, x) - ref(x)) < 1e-12 * Math.max(1, Math.abs(ref(x))), `${a.op}(${x})`);
        // Slopes against a central difference of the reference (away from kinks).
        const h = 1e-6;
        const fd = (ref(x + h) - ref(x - h)) / (2 * h);
        assert.ok(Math.abs(chainSlope(a, x) - fd) < 1e-6, `${a.op}'(${x}): ${chainSlope(a, x)} vs ${fd}`);
      }
    }
  });

  it("erf and erfc match mpmath to ~1e-15", () => {
    const ref: [number, number, number][] = [
      [0.5, 0.52049987781304654, 0.47950012218695346],
      [1, 0.84270079294971487, 0.15729920705028513],
      [2, 0.99532226501895273, 0.0046777349810472658],
      [2.9, 0.99995890212190054, 4.1097878099458858e-5],
      [3.5, 0.99999925690162766, 7.4309837234141275e-7],
      [5, 0.99999999999846254, 1.5374597944280349e-12],
      [10, 1, 2.0884875837625448e-45],
    ];
    for (const [x, e, c] of ref) {
      assert.ok(Math.abs(erf(x) - e) < 3e-16, `erf(${x})`);
      assert.ok(Math.abs(erf(-x) + e) < 3e-16, `erf(-${x})`);
      assert.ok(Math.abs(erfc(x) - c) <= 1e-14 * c, `erfc(${x}) = ${erfc(x)} vs ${c}`);
    }
  });
});

describe("flat regions: membership and descriptions", () => {
  it("contains() includes the boundaries, rejects NaN, handles infinite ends", () => {
    const m = new FlatMembership([
      [-INF, -3],
      [-1.59, -1.41],
    ]);
    for (const x of [-INF, -1e30, -3, -1.59, -1.5, -1.41]) assert.equal(m.contains(x), true, String(x));
    for (const x of [-2.999, -1.6, -1.4, 0, 1e30, INF, NaN]) assert.equal(m.contains(x), false, String(x));
    const none = new FlatMembership([]);
    assert.equal(none.contains(0), false);
    const all = membership(flatRegion([{ op: "Clip", min: 1, max: 1 }]));
    assert.equal(all.contains(123), true);
  });

  it("count() over strided data (one interval takes the fast path)", () => {
    const data = Float32Array.from([-2, 5, -1, 6, 0, 7, 1, 8, NaN, 9]);
    const relu = membership(flatRegion({ op: "Relu" }));
    assert.equal(relu.count(data), 3); // -2, -1, 0
    assert.equal(relu.count(data, 0, data.length, 2), 3);
    assert.equal(relu.count(data, 1, data.length, 2), 0);
    const clip = membership(flatRegion({ op: "Clip", min: 0, max: 6 }));
    assert.equal(clip.count(data), 7); // -2, -1, 6, 0, 7, 8, 9 (two intervals: the general path)
    assert.equal(clip.count(data, 2, 6), 4); // -1, 6, 0, 7
  });

  it("describes regions in one line", () => {
    assert.equal(describeRegion([]), "none");
    assert.equal(describeRegion([[-INF, INF]]), "everywhere");
    assert.equal(describeRegion([[-INF, 0]]), "x ≤ 0");
    assert.equal(describeRegion([[6, INF]]), "x ≥ 6");
    assert.equal(
      describeRegion([
        [-INF, -5.288241522117258],
        [5.288241522117258, INF],
      ]),
      "|x| ≥ 5.288",
    );
    assert.equal(
      describeRegion([
        [-INF, -3],
        [-1.5900000000000003, -1.41],
      ]),
      "x ≤ -3 or -1.59 ≤ x ≤ -1.41",
    );
    assert.equal(
      describeRegion([
        [-INF, -2],
        [3, INF],
      ]),
      "x ≤ -2 or x ≥ 3",
    );
    assert.equal(describeRegion([[0.5, 1.5]]), "0.5 ≤ x ≤ 1.5");
  });

  it("describes activations", () => {
    assert.equal(describeActivation({ op: "Clip", min: 0, max: 6 }), "ReLU6 (Clip 0…6)");
    assert.equal(describeActivation({ op: "Clip", min: -INF, max: 1 }), "Clip -∞…1");
    assert.equal(describeActivation({ op: "LeakyRelu", alpha: 0.1 }), "LeakyReLU (α=0.1)");
    assert.equal(describeActivation({ op: "PRelu", slope: [0.25, -0.02, 0.31] }), "PReLU (3 channel slopes, -0.02…0.31)");
    assert.equal(describeActivation({ op: "Selu", alpha: SELU_ALPHA, gamma: SELU_GAMMA }), "SELU");
    assert.equal(describeActivation({ op: "Gelu", approximate: "tanh" }), "GELU (tanh approximation)");
    assert.equal(describeActivation({ op: "Silu" }), "SiLU");
  });
});
