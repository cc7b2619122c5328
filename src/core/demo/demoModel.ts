import { create, toBinary } from "@bufbuild/protobuf";
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
} from "onnx-buf";
import { randomBatch, SampleRng } from "../inputs/random";

/**
 * BN Lens's built-in example: a small network of 1x1 convolutions, each followed by BatchNormalization
 * and a nonlinearity, with problems planted on purpose so a user learns what they look like:
 *
 *   bn1 → Relu        healthy, except channel 5 whose gamma is 0 (a dead channel: it outputs beta)
 *   bn2 → Sigmoid     gamma = 8 everywhere: post-BN values spread far past |x| = 5.29, the sigmoid saturates
 *   bn3 → Relu        stale running statistics: channels 0-3 have a running mean 2.5 std off the data,
 *                     channels 4-7 a running variance 20x the data's
 *   bn4 → HardSwish   healthy, hard-swish written out as x*Clip(x+3,0,6)/6 as exporters do
 *
 * The healthy running statistics are calibrated the way training does it: by running the network (in
 * float64, here) on data drawn like BN Lens's default random data (standard normal), with another seed.
 */
export const DEMO_INPUT = "image";
export const DEMO_CHANNELS = 8;
export const DEMO_SIZE = 8;
const EPS = 1e-5;
const CALIBRATION_SEED = 1000;
const CALIBRATION_SAMPLES = 256;

function floats(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  const raw = new Float32Array(Array.from(values));
  return create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: 1, rawData: new Uint8Array(raw.buffer) });
}

function attrInt(name: string, i: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(i) });
}

function attrFloat(name: string, f: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f });
}

function node(opType: string, input: string[], output: string[], name: string, attribute: AttributeProto[] = []): NodeProto {
  return create(NodeProtoSchema, { opType, input, output, name, attribute });
}

function valueInfo(name: string, dims: (number | string)[]) {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: "tensorType",
        value: create(TypeProto_TensorSchema, {
          elemType: 1,
          shape: create(TensorShapeProtoSchema, {
            dim: dims.map((d) =>
              create(TensorShapeProto_DimensionSchema, {
                value: typeof d === "number" ? { case: "dimValue", value: BigInt(d) } : { case: "dimParam", value: d },
              }),
            ),
          }),
        }),
      },
    }),
  });
}

/** Weights drawn from a seeded generator: rows of a 1x1 conv scaled to keep unit variance. */
function weights(rng: SampleRng, out: number, inp: number): Float64Array {
  const w = new Float64Array(out * inp);
  for (let i = 0; i < w.length; i++) w[i] = (rng.nextDouble() * 2 - 1) * Math.sqrt(3 / inp);
  return w;
}

interface BnParams {
  gamma: Float64Array;
  beta: Float64Array;
  mean: Float64Array;
  var: Float64Array;
}

/** Per-channel mean and population variance of pixel vectors [pixels x C]. */
function moments(x: Float64Array, C: number): { mean: Float64Array; var: Float64Array } {
  const n = x.length / C;
  const mean = new Float64Array(C);
  const v = new Float64Array(C);
  for (let p = 0; p < n; p++) for (let c = 0; c < C; c++) mean[c] += x[p * C + c];
  for (let c = 0; c < C; c++) mean[c] /= n;
  for (let p = 0; p < n; p++) for (let c = 0; c < C; c++) v[c] += (x[p * C + c] - mean[c]) ** 2;
  for (let c = 0; c < C; c++) v[c] /= n;
  return { mean, var: v };
}

function conv1x1(x: Float64Array, w: Float64Array, b: Float64Array, cin: number, cout: number): Float64Array {
  const n = x.length / cin;
  const y = new Float64Array(n * cout);
  for (let p = 0; p < n; p++) {
    for (let o = 0; o < cout; o++) {
      let s = b[o];
      for (let i = 0; i < cin; i++) s += w[o * cin + i] * x[p * cin + i];
      y[p * cout + o] = s;
    }
  }
  return y;
}

function batchNorm(x: Float64Array, p: BnParams, C: number, f: (v: number) => number): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    y[i] = f((p.gamma[c] * (x[i] - p.mean[c])) / Math.sqrt(p.var[c] + EPS) + p.beta[c]);
  }
  return y;
}

const relu = (v: number) => Math.max(0, v);
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Builds the demo model's bytes (deterministic). */
export function buildDemoModel(): Uint8Array {
  const C = DEMO_CHANNELS;
  const rng = new SampleRng(7, 0, 0);
  const w = [weights(rng, C, 3), weights(rng, C, C), weights(rng, C, C), weights(rng, C, C)];
  const b = w.map(() => Float64Array.from({ length: C }, () => (rng.nextDouble() - 0.5) * 0.2));
  const wFc = weights(rng, 4, C);
  const ones = () => new Float64Array(C).fill(1);
  const betas = () => Float64Array.from({ length: C }, () => (rng.nextDouble() - 0.5) * 0.4);

  // Calibration data: standard normal images, pixels as rows of 3 channels.
  const batch = randomBatch(
    { kind: "normal", mean: 0, std: 1 },
    CALIBRATION_SEED,
    0,
    0,
    CALIBRATION_SAMPLES,
    [3, DEMO_SIZE, DEMO_SIZE],
    "float64",
  );
  const hw = DEMO_SIZE * DEMO_SIZE;
  const x0 = new Float64Array(CALIBRATION_SAMPLES * hw * 3);
  const src = batch.data as Float64Array;
  for (let n = 0; n < CALIBRATION_SAMPLES; n++)
    for (let c = 0; c < 3; c++) for (let i = 0; i < hw; i++) x0[(n * hw + i) * 3 + c] = src[(n * 3 + c) * hw + i];

  const bn: BnParams[] = [];
  const a1 = conv1x1(x0, w[0], b[0], 3, C);
  const m1 = moments(a1, C);
  const gamma1 = ones();
  gamma1[5] = 0; // planted: a dead channel
  bn.push({ gamma: gamma1, beta: betas(), mean: m1.mean, var: m1.var });
  const r1 = batchNorm(a1, bn[0], C, relu);

  const a2 = conv1x1(r1, w[1], b[1], C, C);
  const m2 = moments(a2, C);
  bn.push({ gamma: new Float64Array(C).fill(8), beta: betas(), mean: m2.mean, var: m2.var }); // planted: sigmoid saturation
  const s2 = batchNorm(a2, bn[1], C, sigmoid);

  const a3 = conv1x1(s2, w[2], b[2], C, C);
  const m3 = moments(a3, C);
  const mean3 = Float64Array.from(m3.mean, (m, c) => (c < 4 ? m + 2.5 * Math.sqrt(m3.var[c]) : m)); // planted: stale mean
  const var3 = Float64Array.from(m3.var, (v, c) => (c >= 4 ? v * 20 : v)); // planted: stale variance
  bn.push({ gamma: ones(), beta: betas(), mean: mean3, var: var3 });
  const r3 = batchNorm(a3, bn[2], C, relu);

  const a4 = conv1x1(r3, w[3], b[3], C, C);
  const m4 = moments(a4, C);
  bn.push({ gamma: ones(), beta: betas(), mean: m4.mean, var: m4.var });

  const inits: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  let prev = DEMO_INPUT;
  const acts = ["relu", "sigmoid", "relu", "hardswish"];
  for (let k = 0; k < 4; k++) {
    const i = k + 1;
    const cin = k === 0 ? 3 : C;
    inits.push(floats(`conv${i}.weight`, [C, cin, 1, 1], w[k]), floats(`conv${i}.bias`, [C], b[k]));
    inits.push(floats(`bn${i}.weight`, [C], bn[k].gamma), floats(`bn${i}.bias`, [C], bn[k].beta));
    inits.push(floats(`bn${i}.running_mean`, [C], bn[k].mean), floats(`bn${i}.running_var`, [C], bn[k].var));
    nodes.push(node("Conv", [prev, `conv${i}.weight`, `conv${i}.bias`], [`conv${i}`], `conv${i}`));
    nodes.push(
      node(
        "BatchNormalization",
        [`conv${i}`, `bn${i}.weight`, `bn${i}.bias`, `bn${i}.running_mean`, `bn${i}.running_var`],
        [`bn${i}`],
        `bn${i}`,
        [attrFloat("epsilon", EPS), attrFloat("momentum", 0.9)],
      ),
    );
    const act = acts[k];
    if (act === "relu") nodes.push(node("Relu", [`bn${i}`], [`act${i}`], `relu${i}`));
    else if (act === "sigmoid") nodes.push(node("Sigmoid", [`bn${i}`], [`act${i}`], `sigmoid${i}`));
    else {
      inits.push(floats("three", [], [3]), floats("zero", [], [0]), floats("six", [], [6]));
      nodes.push(node("Add", [`bn${i}`, "three"], ["hs_add"], "hardswish_add"));
      nodes.push(node("Clip", ["hs_add", "zero", "six"], ["hs_clip"], "hardswish_clip"));
      nodes.push(node("Mul", [`bn${i}`, "hs_clip"], ["hs_mul"], "hardswish_mul"));
      nodes.push(node("Div", ["hs_mul", "six"], [`act${i}`], "hardswish_div"));
    }
    prev = `act${i}`;
  }
  inits.push(floats("fc.weight", [4, C], wFc), floats("fc.bias", [4], [0, 0, 0, 0]));
  nodes.push(node("GlobalAveragePool", [prev], ["pooled"], "pool"));
  nodes.push(node("Flatten", ["pooled"], ["flat"], "flatten", [attrInt("axis", 1)]));
  nodes.push(node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], "fc", [attrInt("transB", 1)]));

  const model = create(ModelProtoSchema, {
    irVersion: 7n,
    producerName: "bn-lens-demo",
    producerVersion: "1",
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: "", version: 13n })],
    graph: create(GraphProtoSchema, {
      name: "bn_lens_demo",
      node: nodes,
      initializer: inits,
      input: [valueInfo(DEMO_INPUT, ["N", 3, DEMO_SIZE, DEMO_SIZE])],
      output: [valueInfo("logits", ["N", 4])],
    }),
  });
  return toBinary(ModelProtoSchema, model);
}
