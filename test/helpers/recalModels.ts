// Small Conv-BN-Relu models with stale statistics for the recalibration tests, in every storage variant
// the rewrite must handle, and seeded data for them.
import { create, toBinary } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
  TensorProto_DataType,
  TensorProtoSchema,
  type TensorProto,
} from "onnx-buf";
import { encodeFloats } from "../../src/core/recalibrate/statsRewrite";
import { GraphBuilder, tensorInfo } from "./onnxGraph";
import { elementBytes, npyBytes } from "./npyBytes";

/** Which storage variant of BN statistics a test model uses. */
export interface RecalModelOptions {
  channels?: number;
  /** BN b and BN c read the same mean and variance initializers, which a graph output also reads. */
  shared?: boolean;
  /** BN a's statistics come from Constant nodes. */
  constantStats?: boolean;
  /** Statistics stored as float16 (opset 15, where BN's statistics type may differ from its input's). */
  float16?: boolean;
  /** BN c's statistics are float64 initializers read through Cast(to float). */
  float64ViaCast?: boolean;
  /** BN c in training mode (opset 15). */
  trainingMode?: boolean;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Standard normal values from a seeded generator (Box-Muller). */
export function normals(n: number, seed: number, mean = 0, std = 1): number[] {
  const r = rng(seed);
  const out: number[] = [];
  while (out.length < n) {
    const u = Math.max(r(), 1e-12);
    const v = r();
    out.push(mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

function statTensor(name: string, values: number[], dtype: "float32" | "float16" | "float64"): TensorProto {
  const code =
    dtype === "float16" ? TensorProto_DataType.FLOAT16 : dtype === "float64" ? TensorProto_DataType.DOUBLE : TensorProto_DataType.FLOAT;
  return create(TensorProtoSchema, {
    name,
    dataType: code,
    dims: [BigInt(values.length)],
    rawData: new Uint8Array(encodeFloats(Float64Array.from(values), dtype)),
  });
}

/**
 * x [N,3,6,6] → Conv a → BN a → Relu r1 → Conv b (1x1) → BN b → Relu r2 → Add(r1, r2) → Conv c → BN c → Relu → y.
 * Stored statistics are mean 0, variance 1 (stale for any real data); a metadata entry and a doc string
 * give the rewrite other fields to preserve.
 */
export function recalModelBytes(o: RecalModelOptions = {}): Uint8Array {
  const C = o.channels ?? 4;
  const opset = o.float16 || o.trainingMode ? 15 : 13;
  const g = new GraphBuilder(opset);
  const sDtype = o.float16 ? "float16" : "float32";
  g.init("Wa", normals(C * 3 * 9, 1, 0, 0.4), [C, 3, 3, 3]);
  g.init("Wb", normals(C * C, 2, 0, 0.6), [C, C, 1, 1]);
  g.init("Wc", normals(C * C * 9, 3, 0, 0.3), [C, C, 3, 3]);
  const ones = Array(C).fill(1);
  const zeros = Array(C).fill(0);
  const conv = (x: string, w: string, y: string, k: number) =>
    g.nodes.push(
      create(NodeProtoSchema, {
        opType: "Conv",
        input: [x, w],
        output: [y],
        name: `conv_${y}`,
        attribute: [
          create(AttributeProtoSchema, { name: "pads", type: AttributeProto_AttributeType.INTS, ints: Array(4).fill(BigInt((k - 1) / 2)) }),
        ],
      }),
    );
  const gammaBeta = (p: string, seed: number) => {
    g.init(`${p}.s`, normals(C, seed, 1, 0.2));
    g.init(`${p}.b`, normals(C, seed + 1, 0, 0.2));
  };
  const stats = (p: string) => {
    g.initializers.push(statTensor(`${p}.m`, zeros, sDtype), statTensor(`${p}.v`, ones, sDtype));
    return [`${p}.m`, `${p}.v`];
  };

  conv("x", "Wa", "ca", 3);
  gammaBeta("bna", 10);
  let aStats: string[];
  if (o.constantStats) {
    const constant = (out: string, values: number[]) =>
      g.nodes.push(
        create(NodeProtoSchema, {
          opType: "Constant",
          output: [out],
          name: `const_${out}`,
          attribute: [
            create(AttributeProtoSchema, { name: "value", type: AttributeProto_AttributeType.TENSOR, t: statTensor("", values, sDtype) }),
          ],
        }),
      );
    constant("bna_mean_const", zeros);
    constant("bna_var_const", ones);
    aStats = ["bna_mean_const", "bna_var_const"];
  } else aStats = stats("bna");
  g.node("BatchNormalization", ["ca", "bna.s", "bna.b", ...aStats], "na", { epsilon: 1e-5 }, "bna");
  g.node("Relu", ["na"], "r1");
  conv("r1", "Wb", "cb", 1);
  gammaBeta("bnb", 20);
  const bStats = o.shared ? stats("shared") : stats("bnb");
  g.node("BatchNormalization", ["cb", "bnb.s", "bnb.b", ...bStats], "nb", { epsilon: 1e-5 }, "bnb");
  g.node("Relu", ["nb"], "r2");
  g.node("Add", ["r1", "r2"], "sum");
  conv("sum", "Wc", "cc", 3);
  gammaBeta("bnc", 30);
  let cStats: string[];
  if (o.shared) cStats = bStats;
  else if (o.float64ViaCast) {
    g.initializers.push(statTensor("bnc.m64", zeros, "float64"), statTensor("bnc.v64", ones, "float64"));
    g.node("Cast", ["bnc.m64"], "bnc.m", { to: { int: TensorProto_DataType.FLOAT } });
    g.node("Cast", ["bnc.v64"], "bnc.v", { to: { int: TensorProto_DataType.FLOAT } });
    cStats = ["bnc.m", "bnc.v"];
  } else cStats = stats("bnc");
  const cOutputs = o.trainingMode ? ["nc", "bnc.running_mean_out", "bnc.running_var_out"] : ["nc"];
  g.node(
    "BatchNormalization",
    ["cc", "bnc.s", "bnc.b", ...cStats],
    cOutputs,
    o.trainingMode ? { epsilon: 1e-5, training_mode: { int: 1 } } : { epsilon: 1e-5 },
    "bnc",
  );
  g.node("Relu", ["nc"], "y");
  const outputs = ["y"];
  if (o.shared) {
    g.node("Identity", ["shared.v"], "shared_var_copy");
    outputs.push("shared_var_copy");
  }
  const m = g.model(outputs);
  m.proto.graph!.input = [tensorInfo("x", ["N", 3, 6, 6])];
  m.proto.docString = "recalibration test model";
  m.proto.metadataProps = [create(StringStringEntryProtoSchema, { key: "author", value: "bn-lens tests" })];
  return toBinary(ModelProtoSchema, m.proto);
}

/** The same model with every initializer in an external file `weights.bin`; returns [model bytes, data bytes]. */
export function externalize(bytes: Uint8Array, decode: (b: Uint8Array) => import("onnx-buf").ModelProto): [Uint8Array, Uint8Array] {
  const m = decode(bytes);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of m.graph!.initializer) {
    const raw = t.rawData.length ? t.rawData : new Uint8Array(Float32Array.from(t.floatData).buffer);
    chunks.push(raw);
    t.rawData = new Uint8Array(0);
    t.floatData = [];
    t.dataLocation = TensorProto_DataLocation.EXTERNAL;
    t.externalData = [
      ["location", "weights.bin"],
      ["offset", String(offset)],
      ["length", String(raw.length)],
    ].map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
    offset += raw.length;
  }
  const data = new Uint8Array(offset);
  let pos = 0;
  for (const c of chunks) {
    data.set(c, pos);
    pos += c.length;
  }
  return [toBinary(ModelProtoSchema, m), data];
}

/** n samples of x [3,6,6] as a .npy file: per input channel a different mean and spread, so stored statistics are stale. */
export function recalData(n: number, seed = 7): Uint8Array {
  const values: number[] = [];
  const z = normals(n * 3 * 36, seed);
  for (let s = 0; s < n; s++)
    for (let c = 0; c < 3; c++) for (let k = 0; k < 36; k++) values.push(1.5 * c - 1 + (0.5 + c) * z[(s * 3 + c) * 36 + k]);
  return npyBytes("<f4", [n, 3, 6, 6], elementBytes("<f4", values));
}
