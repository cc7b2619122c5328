import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { findFollowingActivation, regionForChannel, type FollowingActivation } from "../../src/core/graph/activation";
import { SELU_ALPHA, SELU_GAMMA, type Nonlinearity, type Interval } from "../../src/core/graph/flatRegion";
import { decodeModel } from "../../src/core/onnx/model";
import { GraphBuilder, type AttrValue } from "../helpers/onnxGraph";
import { FACE_DETECTOR, PADDLE_CLS } from "../helpers/paths";

const INF = Infinity;
const F32_SIXTH = Math.fround(1 / 6);
const F32_SQRT2 = Math.fround(Math.SQRT2);

/** BN(x) → y, then `build` adds nodes reading y; returns what follows y. */
function follow(build: (g: GraphBuilder, y: string) => string | string[], opset = 13, options = {}): FollowingActivation {
  const g = new GraphBuilder(opset);
  const y = g.batchNorm("x", "y");
  const outs = build(g, y);
  return findFollowingActivation(g.model(typeof outs === "string" ? [outs] : outs), y, options);
}

function assertClose(actual: readonly Interval[], expected: readonly Interval[], tol = 1e-9): void {
  assert.equal(actual.length, expected.length, `${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
  actual.forEach((iv, i) =>
    iv.forEach((v, k) => {
      const e = expected[i][k];
      if (Number.isFinite(e)) assert.ok(Math.abs(v - e) <= tol * Math.max(1, Math.abs(e)), `${v} vs ${e}`);
      else assert.equal(v, e);
    }),
  );
}

describe("following activation: single ops", () => {
  const sigmoidBound = 2 * Math.atanh(Math.sqrt(0.98));
  const cases: { op: string; attrs?: Record<string, AttrValue>; opset?: number; want: Nonlinearity; region: Interval[] }[] = [
    { op: "Relu", want: { op: "Relu" }, region: [[-INF, 0]] },
    { op: "LeakyRelu", want: { op: "LeakyRelu", alpha: 0.01 }, region: [[-INF, 0]] },
    { op: "LeakyRelu", attrs: { alpha: 0.1 }, want: { op: "LeakyRelu", alpha: 0.1 }, region: [] },
    {
      op: "Sigmoid",
      want: { op: "Sigmoid" },
      region: [
        [-INF, -sigmoidBound],
        [sigmoidBound, INF],
      ],
    },
    {
      op: "HardSigmoid",
      want: { op: "HardSigmoid", alpha: 0.2, beta: 0.5 },
      region: [
        [-INF, -2.5],
        [2.5, INF],
      ],
    },
    {
      op: "HardSigmoid",
      attrs: { alpha: 0.5, beta: 0.25 },
      want: { op: "HardSigmoid", alpha: 0.5, beta: 0.25 },
      region: [
        [-INF, -0.5],
        [1.5, INF],
      ],
    },
    {
      op: "Tanh",
      want: { op: "Tanh" },
      region: [
        [-INF, -sigmoidBound / 2],
        [sigmoidBound / 2, INF],
      ],
    },
    {
      op: "HardSwish",
      opset: 14,
      want: { op: "HardSwish" },
      region: [
        [-INF, -3],
        [-1.59, -1.41],
      ],
    },
    { op: "Elu", want: { op: "Elu", alpha: 1 }, region: [[-INF, Math.log(0.02)]] },
    { op: "Selu", want: { op: "Selu", alpha: SELU_ALPHA, gamma: SELU_GAMMA }, region: [[-INF, Math.log(0.02)]] },
    { op: "Celu", opset: 12, attrs: { alpha: 2 }, want: { op: "Celu", alpha: 2 }, region: [[-INF, 2 * Math.log(0.02)]] },
    { op: "Softplus", want: { op: "Softplus" }, region: [[-INF, Math.log(0.02 / 0.98)]] },
    {
      op: "Softsign",
      want: { op: "Softsign" },
      region: [
        [-INF, 1 - 1 / Math.sqrt(0.02)],
        [1 / Math.sqrt(0.02) - 1, INF],
      ],
    },
    {
      op: "Gelu",
      opset: 20,
      want: { op: "Gelu", approximate: "none" },
      region: [
        [-INF, -2.7392185803846088],
        [-0.80684933230005965, -0.70171567216077336],
      ],
    },
    {
      op: "Gelu",
      opset: 20,
      attrs: { approximate: "tanh" },
      want: { op: "Gelu", approximate: "tanh" },
      region: [
        [-INF, -2.7380085673224618],
        [-0.80767217263181526, -0.70226154988294117],
      ],
    },
    {
      op: "Mish",
      opset: 18,
      want: { op: "Mish" },
      region: [
        [-INF, -5.2740467870684442],
        [-1.279717197166083, -1.1154888874631479],
      ],
    },
  ];
  for (const c of cases) {
    it(`${c.op}${c.attrs ? " " + JSON.stringify(c.attrs) : ""}`, () => {
      const f = follow((g, y) => g.node(c.op, [y], "out", c.attrs ?? {}, `my_${c.op}`), c.opset ?? 13);
      assert.equal(f.op, c.want.op);
      assert.deepEqual(f.chain, [c.want]);
      assert.deepEqual(f.nodes, [`my_${c.op}`]);
      assert.equal(f.output, "out");
      assert.deepEqual(f.consumers, []);
      assert.equal(f.perChannel, false);
      assertClose(f.regions[0].intervals, c.region, 1e-9);
      assert.equal(f.note, "");
    });
  }

  it("describes ReLU6 and reports the slope fraction it was asked for", () => {
    const f = follow((g, y) => g.node("Clip", [y, g.constant(0), g.constant(6)], "out"));
    assert.equal(f.description, "ReLU6 (Clip 0…6)");
    const s = follow((g, y) => g.node("Sigmoid", [y], "out"), 13, { slopeFraction: 0.1 });
    const b = 2 * Math.atanh(Math.sqrt(0.9));
    assertClose(
      s.regions[0].intervals,
      [
        [-INF, -b],
        [b, INF],
      ],
      1e-12,
    );
    assert.equal(s.regions[0].fraction, 0.1);
  });

  it("ignores ops of other domains (com.microsoft Gelu is not the ONNX op)", () => {
    const g = new GraphBuilder(13);
    const y = g.batchNorm("x", "y");
    g.node("Gelu", [y], "out");
    g.nodes[g.nodes.length - 1].domain = "com.microsoft";
    const f = findFollowingActivation(g.model(["out"]), y);
    assert.equal(f.op, "none");
    assert.deepEqual(f.consumers, ["Gelu"]);
  });
});

describe("following activation: Clip bounds", () => {
  it("opset 9: min/max attributes (absent = no bound, ±FLT_MAX = no bound)", () => {
    const both = follow((g, y) => g.node("Clip", [y], "out", { min: 0, max: 6 }), 9);
    assert.deepEqual(both.chain, [{ op: "Clip", min: 0, max: 6 }]);
    assert.deepEqual(both.regions[0].intervals, [
      [-INF, 0],
      [6, INF],
    ]);
    const lowOnly = follow((g, y) => g.node("Clip", [y], "out", { min: 0 }), 9);
    assert.deepEqual(lowOnly.chain, [{ op: "Clip", min: 0, max: INF }]);
    assert.deepEqual(lowOnly.regions[0].intervals, [[-INF, 0]]);
    const flt = follow((g, y) => g.node("Clip", [y], "out", { min: -3.4028234663852886e38, max: 3.4028234663852886e38 }), 6);
    assert.deepEqual(flt.chain, [{ op: "Clip", min: -INF, max: INF }]);
    assert.deepEqual(flt.regions[0].intervals, []);
  });

  it("opset 13: bounds as inputs from Constant nodes, Cast(Constant), initializers; missing inputs mean no bound", () => {
    const viaConstant = follow((g, y) => g.node("Clip", [y, g.constant(0), g.constant(6)], "out"));
    assert.deepEqual(viaConstant.chain, [{ op: "Clip", min: 0, max: 6 }]);
    const viaCast = follow((g, y) => {
      const lo = g.node("Cast", [g.constant(0, [], "int64")], "lo", { to: { int: 1 } });
      const hi = g.node("Cast", [g.constant(6, [], "int64")], "hi", { to: { int: 1 } });
      return g.node("Clip", [y, lo, hi], "out");
    });
    assert.deepEqual(viaCast.chain, [{ op: "Clip", min: 0, max: 6 }]);
    assert.deepEqual(viaCast.regions[0].intervals, [
      [-INF, 0],
      [6, INF],
    ]);
    const viaInit = follow((g, y) => g.node("Clip", [y, g.init("lo", [-1]), g.init("hi", [1])], "out"));
    assert.deepEqual(viaInit.chain, [{ op: "Clip", min: -1, max: 1 }]);
    const maxOnly = follow((g, y) => g.node("Clip", [y, "", g.constant(6)], "out"));
    assert.deepEqual(maxOnly.chain, [{ op: "Clip", min: -INF, max: 6 }]);
    assert.deepEqual(maxOnly.regions[0].intervals, [[6, INF]]);
    const minOnly = follow((g, y) => g.node("Clip", [y, g.constant(0)], "out"));
    assert.deepEqual(minOnly.chain, [{ op: "Clip", min: 0, max: INF }]);
  });

  it("a bound that depends on the inputs is not a recognised Clip", () => {
    const g = new GraphBuilder(13, ["x", "lo"]);
    const y = g.batchNorm("x", "y");
    g.node("Clip", [y, "lo", g.constant(6)], "out");
    const f = findFollowingActivation(g.model(["out"]), y);
    assert.equal(f.op, "none");
    assert.deepEqual(f.consumers, ["Clip"]);
  });
});

describe("following activation: PRelu", () => {
  it("per-channel slopes from an initializer of shape [C, 1, 1] give per-channel regions", () => {
    const f = follow((g, y) => g.node("PRelu", [y, g.init("slope", [0.01, 0.5, 0.015, 0.3], [4, 1, 1])], "out"));
    assert.equal(f.op, "PRelu");
    assert.equal(f.perChannel, true);
    assert.equal(f.regions.length, 4);
    assert.deepEqual(
      f.regions.map((r) => r.intervals),
      [[[-INF, 0]], [], [[-INF, 0]], []],
    );
    assert.deepEqual(regionForChannel(f, 2)?.intervals, [[-INF, 0]]);
    assert.match(f.description, /PReLU \(4 channel slopes/);
  });

  it("a scalar slope (Constant node) gives one region; [1, C, 1, 1] is per channel", () => {
    const scalar = follow((g, y) => g.node("PRelu", [y, g.constant(0.25)], "out"));
    assert.equal(scalar.perChannel, false);
    assert.deepEqual(scalar.chain, [{ op: "PRelu", slope: 0.25 }]);
    assert.deepEqual(regionForChannel(scalar, 3)?.intervals, []);
    const four = follow((g, y) => g.node("PRelu", [y, g.init("slope", [0.01, 0.01, 0.2, 0.2], [1, 4, 1, 1])], "out"));
    assert.equal(four.perChannel, true);
  });

  it("a slope of shape [C] on a rank-4 input varies along the last axis, not channels: not recognised", () => {
    const g = new GraphBuilder(13);
    const y = g.batchNorm("x", "y");
    g.shape(y, [1, 4, 8, 8]);
    g.node("PRelu", [y, g.init("slope", [0.01, 0.5, 0.015, 0.3], [4])], "out");
    const f = findFollowingActivation(g.model(["out"]), y);
    assert.equal(f.op, "none");
    // Without a declared rank, [C] is taken as the channel axis (2-D Gemm outputs).
    const h = new GraphBuilder(13);
    const z = h.node("Gemm", ["x", h.init("w", [1, 2, 3, 4, 5, 6, 7, 8], [2, 4])], "z");
    h.node("PRelu", [z, h.init("slope", [0.01, 0.5, 0.015, 0.3], [4])], "out");
    assert.equal(findFollowingActivation(h.model(["out"]), z).perChannel, true);
  });
});

/** x·Clip(x+3, 0, 6)/6 with every operand order and place of the 1/6, and Clip as attributes or inputs. */
function hardSwishVariants(): { name: string; opset: number; build: (g: GraphBuilder, y: string) => string }[] {
  const out: { name: string; opset: number; build: (g: GraphBuilder, y: string) => string }[] = [];
  const clips = ["attrs", "constants", "cast", "initializers"] as const;
  const scales = ["div after", "mul after", "mul after (c·m)", "div clip", "mul clip", "div x"] as const;
  for (const addFirst of [true, false])
    for (const clipKind of clips)
      for (const scale of scales)
        for (const xFirst of [true, false]) {
          out.push({
            name: `${addFirst ? "Add(x,3)" : "Add(3,x)"} Clip:${clipKind} ${scale} ${xFirst ? "Mul(x,·)" : "Mul(·,x)"}`,
            opset: clipKind === "attrs" ? 9 : 13,
            build: (g, y) => {
              const three = g.constant(3);
              const add = g.node("Add", addFirst ? [y, three] : [three, y], "add");
              let clip: string;
              if (clipKind === "attrs") clip = g.node("Clip", [add], "clip", { min: 0, max: 6 });
              else if (clipKind === "constants") clip = g.node("Clip", [add, g.constant(0), g.constant(6)], "clip");
              else if (clipKind === "initializers") clip = g.node("Clip", [add, g.init("zero", [0]), g.init("six", [6])], "clip");
              else {
                const lo = g.node("Cast", [g.constant(0, [], "int64")], "lo", { to: { int: 1 } });
                clip = g.node("Clip", [add, lo, g.node("Cast", [g.constant(6, [], "int64")], "hi", { to: { int: 1 } })], "clip");
              }
              let left = y;
              let right = clip;
              if (scale === "div clip") right = g.node("Div", [clip, g.constant(6)], "gate");
              if (scale === "mul clip") right = g.node("Mul", [g.constant(F32_SIXTH), clip], "gate");
              if (scale === "div x") left = g.node("Div", [y, g.constant(6)], "xs");
              const mul = g.node("Mul", xFirst ? [left, right] : [right, left], "mul");
              if (scale === "div after") return g.node("Div", [mul, g.constant(6)], "hs");
              if (scale === "mul after") return g.node("Mul", [mul, g.constant(F32_SIXTH)], "hs");
              if (scale === "mul after (c·m)") return g.node("Mul", [g.constant(F32_SIXTH), mul], "hs");
              return mul;
            },
          });
        }
  return out;
}

describe("following activation: written-out patterns", () => {
  it("HardSwish as x·Clip(x+3, 0, 6)/6: 96 variants of operand order, 1/6 placement and Clip form", () => {
    const variants = hardSwishVariants();
    assert.equal(variants.length, 96);
    for (const v of variants) {
      const f = follow((g, y) => {
        const out = v.build(g, y);
        g.node("Conv", [out, g.init("w", [1])], "next");
        return "next";
      }, v.opset);
      assert.equal(f.op, "HardSwish", v.name);
      assert.deepEqual(f.chain, [{ op: "HardSwish" }], v.name);
      assert.deepEqual(f.stages[0].scale, 1, v.name);
      const ends = v.name.includes("after") ? "hs" : "mul";
      assert.equal(f.output, ends, v.name);
      assert.ok(f.stages[0].opTypes.includes("Clip") && f.stages[0].opTypes.includes("Mul"), v.name);
      assert.deepEqual(f.consumers, [], v.name);
      assertClose(
        f.regions[0].intervals,
        [
          [-INF, -3],
          [-1.59, -1.41],
        ],
        1e-12,
      );
    }
  });

  it("HardSwish as x·HardSigmoid(x) with α = 1/6 (float32), β = ½, either operand order", () => {
    for (const xFirst of [true, false]) {
      const f = follow((g, y) => {
        const hs = g.node("HardSigmoid", [y], "gate", { alpha: F32_SIXTH, beta: 0.5 }, "hsig");
        return g.node("Mul", xFirst ? [y, hs] : [hs, y], "out", {}, "mul");
      });
      assert.equal(f.op, "HardSwish");
      assert.deepEqual(f.nodes, ["hsig", "mul"]);
      assert.equal(f.description, "HardSwish (as HardSigmoid/Mul)");
    }
  });

  it("x·HardSigmoid(x) with α = 0.2 is not HardSwish and matches nothing", () => {
    const f = follow((g, y) => g.node("Mul", [y, g.node("HardSigmoid", [y], "gate", { alpha: 0.2, beta: 0.5 })], "out"));
    assert.equal(f.op, "none");
    assert.deepEqual(f.consumers, ["HardSigmoid", "Mul"]);
    assert.match(f.note, /matches no catalogued function/);
  });

  it("the scaled form x·Clip(x+3, 0, 6) without /6 is HardSwish ×6 (same flat region)", () => {
    const f = follow((g, y) =>
      g.node("Mul", [y, g.node("Clip", [g.node("Add", [y, g.constant(3)], "a"), g.constant(0), g.constant(6)], "c")], "out"),
    );
    assert.equal(f.op, "HardSwish");
    assert.ok(Math.abs(f.stages[0].scale - 6) < 1e-9);
    assert.match(f.description, /scaled ×6/);
    assertClose(
      f.regions[0].intervals,
      [
        [-INF, -3],
        [-1.59, -1.41],
      ],
      1e-12,
    );
  });

  it("SiLU as x·Sigmoid(x), either order; an Identity in between still reads the same x", () => {
    for (const xFirst of [true, false]) {
      const f = follow((g, y) => {
        const s = g.node("Sigmoid", [y], "s", {}, "sig");
        return g.node("Mul", xFirst ? [y, s] : [s, y], "out", {}, "mul");
      });
      assert.equal(f.op, "Silu");
      assert.deepEqual(f.nodes, ["sig", "mul"]);
      assert.equal(f.output, "out");
      assertClose(f.regions[0].intervals, [
        [-INF, -5.2527560240362176],
        [-1.3873099660646614, -1.1836015664713507],
      ]);
    }
    const viaIdentity = follow((g, y) => g.node("Mul", [g.node("Identity", [y], "same"), g.node("Sigmoid", [y], "s")], "out"));
    assert.equal(viaIdentity.op, "Silu");
  });

  it("x·Sigmoid(z) with z another tensor is a sigmoid gate, not SiLU", () => {
    const g = new GraphBuilder(13, ["x", "x2"]);
    const y = g.batchNorm("x", "y");
    const z = g.batchNorm("x2", "z");
    g.node("Mul", [z, g.node("Sigmoid", [y], "s")], "out");
    const fy = findFollowingActivation(g.model(["out"]), y);
    assert.equal(fy.op, "Sigmoid");
    assert.equal(fy.output, "s");
    const fz = findFollowingActivation(g.model(["out"]), z);
    assert.equal(fz.op, "none");
    assert.deepEqual(fz.consumers, ["Mul"]);
  });

  it("x·Sigmoid(1.702·x) (quick GELU / swish-β) is reported as an unrecognised pattern", () => {
    const f = follow((g, y) => g.node("Mul", [y, g.node("Sigmoid", [g.node("Mul", [y, g.constant(1.702)], "bx")], "s")], "out"));
    assert.equal(f.op, "none");
    assert.deepEqual(f.consumers, ["Mul", "Mul"]);
    assert.match(f.note, /Mul, Sigmoid, Mul matches no catalogued function/);
  });

  it("Mish as x·Tanh(Softplus(x)), either order", () => {
    for (const xFirst of [true, false]) {
      const f = follow((g, y) => {
        const t = g.node("Tanh", [g.node("Softplus", [y], "sp")], "t");
        return g.node("Mul", xFirst ? [y, t] : [t, y], "out");
      });
      assert.equal(f.op, "Mish");
      assert.equal(f.stages[0].opTypes.join(), "Softplus,Tanh,Mul");
    }
  });

  it("GELU as PyTorch exports it below opset 20: 0.5·x·(1 + Erf(x/√2)), in four arrangements", () => {
    const forms: [string, (g: GraphBuilder, y: string) => string][] = [
      [
        "Div √2, Mul x, Mul 0.5",
        (g, y) => {
          const e = g.node("Erf", [g.node("Div", [y, g.constant(F32_SQRT2)], "d")], "e");
          const m = g.node("Mul", [y, g.node("Add", [e, g.constant(1)], "a")], "m");
          return g.node("Mul", [m, g.constant(0.5)], "gelu");
        },
      ],
      [
        "Mul 1/√2",
        (g, y) => {
          const e = g.node("Erf", [g.node("Mul", [y, g.constant(Math.fround(Math.SQRT1_2))], "d")], "e");
          return g.node("Mul", [g.constant(0.5), g.node("Mul", [g.node("Add", [g.constant(1), e], "a"), y], "m")], "gelu");
        },
      ],
      [
        "half first",
        (g, y) => {
          const half = g.node("Mul", [y, g.constant(0.5)], "h");
          const e = g.node("Erf", [g.node("Div", [y, g.constant(F32_SQRT2)], "d")], "e");
          return g.node("Mul", [half, g.node("Add", [e, g.constant(1)], "a")], "gelu");
        },
      ],
      [
        "0.5 on the bracket",
        (g, y) => {
          const e = g.node("Erf", [g.node("Div", [y, g.constant(F32_SQRT2)], "d")], "e");
          const b = g.node("Mul", [g.node("Add", [e, g.constant(1)], "a"), g.constant(0.5)], "b");
          return g.node("Mul", [b, y], "gelu");
        },
      ],
    ];
    for (const [name, build] of forms) {
      const f = follow(build);
      assert.equal(f.op, "Gelu", name);
      assert.deepEqual(f.chain, [{ op: "Gelu", approximate: "none" }], name);
      assert.equal(f.output, "gelu", name);
      assertClose(f.regions[0].intervals, [
        [-INF, -2.7392185803846088],
        [-0.80684933230005965, -0.70171567216077336],
      ]);
    }
  });

  it("GELU's tanh approximation written out (Pow or x·x·x) is told apart from the erf form", () => {
    for (const cube of ["Pow", "MulMul"]) {
      const f = follow((g, y) => {
        const x3 = cube === "Pow" ? g.node("Pow", [y, g.constant(3)], "x3") : g.node("Mul", [g.node("Mul", [y, y], "x2"), y], "x3");
        const inner = g.node(
          "Mul",
          [g.node("Add", [y, g.node("Mul", [x3, g.constant(0.044715)], "c3")], "s"), g.constant(Math.fround(Math.sqrt(2 / Math.PI)))],
          "u",
        );
        const t = g.node("Add", [g.node("Tanh", [inner], "t"), g.constant(1)], "t1");
        return g.node("Mul", [g.node("Mul", [y, g.constant(0.5)], "h"), t], "gelu");
      });
      assert.equal(f.op, "Gelu", cube);
      assert.deepEqual(f.chain, [{ op: "Gelu", approximate: "tanh" }], cube);
    }
  });
});

describe("following activation: chains and consumers", () => {
  it("Relu then Clip(0, 6) is one chain", () => {
    const f = follow((g, y) => g.node("Clip", [g.node("Relu", [y], "r", {}, "relu"), g.constant(0), g.constant(6)], "out", {}, "clip"));
    assert.equal(f.op, "Relu→Clip");
    assert.deepEqual(f.nodes, ["relu", "clip"]);
    assert.equal(f.output, "out");
    assert.equal(f.description, "ReLU → ReLU6 (Clip 0…6)");
    assert.deepEqual(f.regions[0].intervals, [
      [-INF, 0],
      [6, INF],
    ]);
    assert.equal(f.regions[0].description, "x ≤ 0 or x ≥ 6");
  });

  it("follows longer chains and written-out stages after a node (Relu then HardSwish pattern)", () => {
    const f = follow((g, y) => {
      const r = g.node("Relu", [y], "r");
      const c = g.node("Clip", [g.node("Add", [r, g.constant(3)], "a"), g.constant(0), g.constant(6)], "c");
      return g.node("Div", [g.node("Mul", [c, r], "m"), g.constant(6)], "out");
    });
    assert.equal(f.op, "Relu→HardSwish");
    assert.deepEqual(f.regions[0].intervals, [[-INF, 0]]); // after ReLU, the input to HardSwish is ≥ 0: never flat there
    const three = follow((g, y) =>
      g.node("Sigmoid", [g.node("Clip", [g.node("Relu", [y], "r"), g.constant(0), g.constant(6)], "c")], "out"),
    );
    assert.equal(three.op, "Relu→Clip→Sigmoid");
    const capped = follow((g, y) => g.node("Clip", [g.node("Relu", [y], "r"), g.constant(0), g.constant(6)], "out"), 13, {
      maxChainLength: 1,
    });
    assert.equal(capped.op, "Relu");
  });

  it("the chain stops where the result has another reader or is a graph output", () => {
    const branch = follow((g, y) => {
      const r = g.node("Relu", [y], "r");
      g.node("Clip", [r, g.constant(0), g.constant(6)], "c");
      g.node("Conv", [r, g.init("w", [1])], "k");
      return ["c", "k"];
    });
    assert.equal(branch.op, "Relu");
    assert.equal(branch.output, "r");
    const out = follow((g, y) => [g.node("Relu", [y], "r"), g.node("Clip", ["r", g.constant(0), g.constant(6)], "c")]);
    assert.equal(out.op, "Relu");
  });

  it("BN then Add (residual) then Relu is 'none' read by Add, not Relu", () => {
    const g = new GraphBuilder(13, ["x", "skip"]);
    const y = g.batchNorm("x", "y");
    g.node("Relu", [g.node("Add", [y, "skip"], "sum")], "out");
    const f = findFollowingActivation(g.model(["out"]), y);
    assert.equal(f.op, "none");
    assert.deepEqual(f.consumers, ["Add"]);
    assert.equal(f.description, "no nonlinearity: read by Add");
    assert.deepEqual(f.regions, []);
    assert.equal(regionForChannel(f, 0), undefined);
  });

  it("several readers: one nonlinearity and others → reported with the others listed", () => {
    const f = follow((g, y) => [g.node("Relu", [y], "r", {}, "relu"), g.node("Concat", [y, "x"], "cat", { axis: { int: 1 } }, "concat")]);
    assert.equal(f.op, "Relu");
    assert.deepEqual(f.consumers, ["Concat"]);
    assert.deepEqual(f.consumerNodes, ["concat"]);
    assert.match(f.note, /also read by Concat/);
    const hs = follow((g, y) => {
      const c = g.node("Clip", [g.node("Add", [y, g.constant(3)], "a"), g.constant(0), g.constant(6)], "c");
      g.node("Conv", [y, g.init("w", [1])], "k");
      return [g.node("Div", [g.node("Mul", [y, c], "m"), g.constant(6)], "hs"), "k"];
    });
    assert.equal(hs.op, "HardSwish");
    assert.deepEqual(hs.consumers, ["Conv"]);
  });

  it("several readers with different nonlinearities → none, with the candidates named", () => {
    const f = follow((g, y) => [g.node("Relu", [y], "r"), g.node("Sigmoid", [y], "s")]);
    assert.equal(f.op, "none");
    assert.deepEqual(f.candidates, ["Relu", "Sigmoid"]);
    assert.deepEqual(f.consumers, ["Relu", "Sigmoid"]);
    assert.match(f.note, /Different nonlinearities/);
    // The same nonlinearity twice is not a disagreement.
    const twice = follow((g, y) => [g.node("Relu", [y], "r1"), g.node("Relu", [y], "r2")]);
    assert.equal(twice.op, "Relu");
    assert.deepEqual(twice.consumers, ["Relu"]);
    // Relu beside x·Sigmoid(x): two different chains.
    const mixed = follow((g, y) => [g.node("Relu", [y], "r"), g.node("Mul", [y, g.node("Sigmoid", [y], "s")], "m")]);
    assert.deepEqual(mixed.candidates, ["Relu", "Silu"]);
  });

  it("graph outputs, unread tensors, and tensors after Conv / Gemm / MatMul (BN folded away)", () => {
    const g = new GraphBuilder(20);
    const y = g.batchNorm("x", "y");
    const lonely = findFollowingActivation(g.model([y]), y);
    assert.equal(lonely.op, "none");
    assert.equal(lonely.graphOutput, true);
    assert.equal(lonely.description, "no nonlinearity: a graph output");
    const missing = findFollowingActivation(g.model([y]), "nope");
    assert.equal(missing.description, "no nonlinearity: not read by any node");
    g.node("Relu", [y], "r");
    const both = findFollowingActivation(g.model([y, "r"]), y);
    assert.equal(both.op, "Relu");
    assert.equal(both.graphOutput, true);
    const conv = g.node("Conv", ["x", g.init("w", [1])], "conv");
    g.node("Relu", [conv], "cr");
    const gemm = g.node("Gemm", ["x", g.init("w2", [1])], "gemm");
    g.node("Sigmoid", [gemm], "gs");
    const mm = g.node("MatMul", ["x", g.init("w3", [1])], "mm");
    g.node("Gelu", [mm], "mg");
    const m = g.model(["cr", "gs", "mg"]);
    assert.equal(findFollowingActivation(m, conv).op, "Relu");
    assert.equal(findFollowingActivation(m, gemm).op, "Sigmoid");
    assert.equal(findFollowingActivation(m, mm).op, "Gelu");
  });
});

describe("following activation: real models", () => {
  function table(path: string): { rows: [string, string, string][]; counts: Map<string, number> } {
    const model = decodeModel(fs.readFileSync(path));
    const rows: [string, string, string][] = [];
    const counts = new Map<string, number>();
    for (const n of model.graph.node) {
      if (n.opType !== "BatchNormalization") continue;
      const f = findFollowingActivation(model, n.output[0]);
      const key = f.op === "none" ? `none (${f.consumers.join(", ")})` : f.op;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      rows.push([model.nodeName.get(n)!, key, f.op === "none" ? "" : `${f.nodes.join(", ")} | ${f.regions[0].description}`]);
    }
    return { rows, counts };
  }

  it("PaddleOCR classifier: 18 BN → hard-swish (Add/Clip/Mul/Div), 6 → Relu, 11 → none (Add, Conv)", () => {
    const { rows, counts } = table(PADDLE_CLS);
    console.log(rows.map((r) => `      ${r.join("  ")}`).join("\n"));
    assert.equal(rows.length, 35);
    assert.deepEqual(Object.fromEntries(counts), {
      HardSwish: 18,
      Relu: 6,
      "none (Add)": 7,
      "none (Conv, Add)": 3,
      "none (Conv)": 1,
    });
    const model = decodeModel(fs.readFileSync(PADDLE_CLS));
    for (const n of model.graph.node.filter((x) => x.opType === "BatchNormalization")) {
      const f = findFollowingActivation(model, n.output[0]);
      const direct = (model.consumers.get(n.output[0]) ?? []).map((c) => c.opType);
      if (f.op === "HardSwish") {
        assert.deepEqual(f.stages[0].opTypes, ["Add", "Clip", "Mul", "Div"]);
        assert.match(f.output!, /^hardswish_\d+\.tmp_0$/);
        assert.equal(f.regions[0].description, "x ≤ -3 or -1.59 ≤ x ≤ -1.41");
      } else if (f.op === "Relu") {
        assert.deepEqual(direct, ["Relu"]);
        assert.deepEqual(f.regions[0].intervals, [[-INF, 0]]);
      } else {
        assert.deepEqual(f.consumers, direct);
      }
    }
  });

  it("face detector RFB-320: 27 BN → Relu; the 8 linear branch ends of the RFB blocks → Conv, Concat, Add", () => {
    const { rows, counts } = table(FACE_DETECTOR);
    console.log(rows.map((r) => `      ${r.join("  ")}`).join("\n"));
    assert.equal(rows.length, 35);
    assert.deepEqual(Object.fromEntries(counts), { Relu: 27, "none (Conv)": 3, "none (Concat)": 3, "none (Add)": 2 });
  });
});

describe("damaged nonlinearity parameters", () => {
  it("a Clip with a NaN bound is not treated as a nonlinearity (found by the fuzzer)", () => {
    const g = new GraphBuilder(13);
    const y = g.batchNorm("x", "y");
    g.init("lo", [NaN]);
    g.init("hi", [6]);
    g.node("Clip", [y, "lo", "hi"], "out");
    const f = findFollowingActivation(g.model(["out"]), y);
    assert.equal(f.op, "none");
    assert.match(f.description + f.note, /unusable parameters \(bounds must not be NaN\)|Clip/);
  });
});
