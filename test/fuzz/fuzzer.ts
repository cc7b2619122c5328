/**
 * A mutation fuzzer for BN Lens's input paths. It corrupts real models (from ../shared, the npm PaddleOCR
 * model and the project's demo) and data files, feeds them through the same inference process the CLI and
 * the extension use (InspectorClient → dist/worker.js), and classifies what happened:
 *   ok          a report came back
 *   user:KIND   a UserError (one plain sentence) of that kind
 *   bug         an internal error (a non-UserError exception in BN Lens)
 *   crash       the inference process died
 *   hang        no answer within the time limit
 *   bad-message a user error whose message is not one plain line
 * Only ok and user:* are acceptable.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildDemoModel } from "../../src/core/demo/demoModel";
import { scanFields } from "../../src/core/onnx/wire";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProtoSchema,
  ValueInfoProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
  type ModelProto,
} from "onnx-buf";
import { isUserError } from "../../src/core/errors";
import { StreamingMerge } from "../../src/core/inspect/mergeStream";
import { reportJson } from "../../src/core/inspect/reportJson";
import { StreamedReport, reportPieces } from "../../src/core/inspect/reportStream";
import { mergeReports } from "../../src/core/inspect/shardMerge";
import type { Report } from "../../src/core/report";
import { checkReport } from "../../src/core/reportSchema";
import type { InspectRequest } from "../../src/protocol/worker";
import { InspectorClient, WorkerError } from "../../src/runtime/client";
import { seededUniform } from "../../src/core/random";
import { FACE_DETECTOR, FACE_IMAGES, ONNX_BN_TESTS, PADDLE_CLS, ROOT } from "../helpers/paths";

/** A small deterministic generator (mulberry32) so every failure can be replayed from its seed. */
export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededUniform(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** A seed input: model bytes and how to feed it. */
interface Seed {
  name: string;
  model: Uint8Array;
  request: Omit<InspectRequest, "modelPath">;
  /** Data files to copy next to the model (relative name → bytes); a mutated one replaces its original. */
  data?: Record<string, Uint8Array>;
}

/** A plain Uint8Array copy: Buffer#slice returns a view, which would let a mutation corrupt its seed. */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

function readSeeds(): Seed[] {
  const seeds: Seed[] = [{ name: "demo", model: buildDemoModel(), request: { samples: 4, batchSize: 2 } }];
  for (const t of ["test_BatchNorm2d_eval", "test_BatchNorm1d_3d_input_eval", "test_BatchNorm3d_eval"]) {
    const dir = path.join(ONNX_BN_TESTS, t);
    seeds.push({
      name: t,
      model: fs.readFileSync(path.join(dir, "model.onnx")),
      request: { dataPath: "test_data_set_0" },
      data: { "test_data_set_0/input_0.pb": fs.readFileSync(path.join(dir, "test_data_set_0", "input_0.pb")) },
    });
  }
  if (fs.existsSync(PADDLE_CLS)) {
    seeds.push({
      name: "paddle-cls",
      model: fs.readFileSync(PADDLE_CLS),
      request: { samples: 2, batchSize: 2, inputShapes: ["x:Nx3x48x192"] },
    });
  }
  const photos = fs
    .readdirSync(FACE_IMAGES)
    .filter((f) => f.endsWith(".jpg"))
    .slice(0, 2);
  seeds.push({
    name: "face-detector",
    model: fs.readFileSync(FACE_DETECTOR),
    request: { dataPath: "images", imageMean: [127], imageStd: [128], batchSize: 2 },
    data: Object.fromEntries(photos.map((f) => [`images/${f}`, fs.readFileSync(path.join(FACE_IMAGES, f))])),
  });
  // A .npy for the demo: 4 samples of 3x8x8 float32, written by hand.
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3, 8, 8), }";
  const pad = 64 - ((10 + header.length + 1) % 64);
  const head = Buffer.concat([
    Buffer.from([0x93]),
    Buffer.from("NUMPY"),
    Buffer.from([1, 0]),
    Buffer.from([header.length + pad + 1, 0]),
    Buffer.from(header + " ".repeat(pad) + "\n"),
  ]);
  const values = new Float32Array(4 * 3 * 64).map((_, i) => Math.sin(i));
  seeds.push({
    name: "demo-npy",
    model: buildDemoModel(),
    request: { dataPath: "data.npy" },
    data: { "data.npy": Buffer.concat([head, Buffer.from(values.buffer)]) },
  });
  // The demo with its second BN inside an If's then-branch: a BN Lens does not measure (subgraphs).
  const withIf = fromBinary(ModelProtoSchema, buildDemoModel());
  const bn2 = withIf.graph!.node.findIndex((n) => n.name === "bn2");
  const moved = withIf.graph!.node[bn2];
  withIf.graph!.initializer.push(create(TensorProtoSchema, { name: "fuzz_cond", dims: [], dataType: 9, int32Data: [1] }));
  withIf.graph!.node[bn2] = create(NodeProtoSchema, {
    opType: "If",
    name: "if_bn2",
    input: ["fuzz_cond"],
    output: [moved.output[0]],
    attribute: [
      create(AttributeProtoSchema, {
        name: "then_branch",
        type: AttributeProto_AttributeType.GRAPH,
        g: create(GraphProtoSchema, {
          name: "then",
          node: [create(NodeProtoSchema, { ...moved, output: ["t"] })],
          output: [create(ValueInfoProtoSchema, { name: "t" })],
        }),
      }),
      create(AttributeProtoSchema, {
        name: "else_branch",
        type: AttributeProto_AttributeType.GRAPH,
        g: create(GraphProtoSchema, {
          name: "else",
          node: [create(NodeProtoSchema, { opType: "Identity", input: [moved.input[0]], output: ["e"] })],
          output: [create(ValueInfoProtoSchema, { name: "e" })],
        }),
      }),
    ],
  });
  seeds.push({ name: "demo-if", model: toBinary(ModelProtoSchema, withIf), request: { samples: 4, batchSize: 2 } });
  return seeds.map((s) => ({
    ...s,
    model: own(s.model),
    data: s.data && Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, own(v)])),
  }));
}

type Mutator = (bytes: Uint8Array, rng: Rng) => Uint8Array;
const join = (parts: Uint8Array[]) => own(Buffer.concat(parts));

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0x3f, 0x7fffffff, 2 ** 31, 2 ** 32 - 1, 2 ** 40];

function varintBytes(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Every field of a protobuf message, descending into length-delimited fields that parse as messages. */
function allFields(
  bytes: Uint8Array,
  from: number,
  to: number,
  depth: number,
  out: { start: number; end: number; wireType: number; payloadStart: number }[],
): void {
  let fields;
  try {
    fields = scanFields(bytes, from, to);
  } catch {
    return;
  }
  for (const f of fields) {
    out.push(f);
    if (f.wireType === 2 && depth < 6 && f.end - f.payloadStart > 1 && out.length < 20000)
      allFields(bytes, f.payloadStart, f.end, depth + 1, out);
  }
}

const MUTATORS: Record<string, Mutator> = {
  truncate: (b, r) => b.slice(0, r.int(b.length)),
  bitflips: (b, r) => {
    const c = b.slice();
    for (let i = 0, n = 1 + r.int(8); i < n; i++) c[r.int(c.length)] ^= 1 << r.int(8);
    return c;
  },
  randomBytes: (b, r) => {
    const c = b.slice();
    const at = r.int(c.length);
    for (let i = at; i < Math.min(c.length, at + 1 + r.int(64)); i++) c[i] = r.int(256);
    return c;
  },
  deleteChunk: (b, r) => {
    const at = r.int(b.length);
    const n = 1 + r.int(Math.min(4096, b.length - at));
    return join([b.subarray(0, at), b.subarray(at + n)]);
  },
  duplicateChunk: (b, r) => {
    const at = r.int(b.length);
    const n = 1 + r.int(Math.min(4096, b.length - at));
    return join([b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n)]);
  },
  /** Rewrites one varint field of any nested message with an interesting value (dims, types, opsets, attributes). */
  varintField: (b, r) => {
    const fields: { start: number; end: number; wireType: number; payloadStart: number }[] = [];
    allFields(b, 0, b.length, 0, fields);
    const varints = fields.filter((f) => f.wireType === 0);
    if (varints.length === 0) return MUTATORS.bitflips(b, r);
    const f = r.pick(varints);
    // The tag stays; only the value changes (lengths of enclosing messages become wrong when its size changes,
    // which is itself a useful corruption).
    let tagEnd = f.start;
    while (b[tagEnd] & 0x80) tagEnd++;
    tagEnd++;
    const value = r.next() < 0.5 ? r.pick(INTERESTING) : r.int(64);
    return join([b.subarray(0, tagEnd), Uint8Array.from(varintBytes(value)), b.subarray(f.end)]);
  },
  /** Swaps the payloads of two length-delimited fields of equal length (e.g. two tensor names). */
  swapStrings: (b, r) => {
    const fields: { start: number; end: number; wireType: number; payloadStart: number }[] = [];
    allFields(b, 0, b.length, 0, fields);
    const small = fields.filter((f) => f.wireType === 2 && f.end - f.payloadStart > 0 && f.end - f.payloadStart < 64);
    if (small.length < 2) return MUTATORS.bitflips(b, r);
    const a = r.pick(small);
    const c = b.slice();
    const other = r.pick(small);
    const payload = b.subarray(other.payloadStart, other.end);
    const len = Math.min(payload.length, a.end - a.payloadStart);
    c.set(payload.subarray(0, len), a.payloadStart);
    return c;
  },
};

const EDGE_INTS = [0n, 1n, -1n, 2n, 3n, 7n, 1000n, 2n ** 31n, -(2n ** 31n), 2n ** 40n];
const EDGE_FLOATS = [0, -1, 1e-30, 1e30, NaN, Infinity, -Infinity, 0.5];

/**
 * Semantic corruptions: decode the model, break one meaningful thing, encode again. These get past the
 * protobuf parser and reach graph analysis, the rewrite and onnxruntime itself.
 */
const SEMANTIC: Record<string, (m: ModelProto, r: Rng) => void> = {
  initializerDims: (m, r) => {
    const t = r.pick(m.graph!.initializer);
    if (t) t.dims = t.dims.length && r.next() < 0.7 ? t.dims.map((d) => (r.next() < 0.5 ? r.pick(EDGE_INTS) : d)) : [r.pick(EDGE_INTS)];
  },
  initializerType: (m, r) => {
    const t = r.pick(m.graph!.initializer);
    if (t) t.dataType = r.int(25);
  },
  initializerData: (m, r) => {
    const t = r.pick(m.graph!.initializer);
    if (!t) return;
    if (r.next() < 0.5) t.rawData = t.rawData.slice(0, r.int(t.rawData.length + 1));
    else {
      const copy = own(t.rawData);
      const f = new Float32Array(copy.buffer, 0, Math.floor(copy.length / 4));
      for (let i = 0; i < f.length; i++) if (r.next() < 0.2) f[i] = r.pick(EDGE_FLOATS);
      t.rawData = copy;
    }
  },
  externalData: (m, r) => {
    const t = r.pick(m.graph!.initializer);
    if (!t) return;
    t.dataLocation = TensorProto_DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
    const location = r.pick(["weights.bin", "../../../etc/passwd", "/etc/passwd", "", "a/../../b", "missing.bin", "model.onnx"]);
    t.externalData = [
      create(StringStringEntryProtoSchema, { key: "location", value: location }),
      create(StringStringEntryProtoSchema, { key: "offset", value: String(r.pick([0, 1, 8, 1 << 30, -5])) }),
      create(StringStringEntryProtoSchema, { key: "length", value: String(r.pick([4, 64, 1 << 20, 0])) }),
    ];
  },
  dropInitializer: (m, r) => {
    const g = m.graph!;
    if (g.initializer.length) g.initializer.splice(r.int(g.initializer.length), 1);
  },
  dropNode: (m, r) => {
    const g = m.graph!;
    if (g.node.length) g.node.splice(r.int(g.node.length), 1);
  },
  shuffleNodes: (m, r) => {
    const g = m.graph!;
    const i = r.int(g.node.length),
      j = r.int(g.node.length);
    [g.node[i], g.node[j]] = [g.node[j], g.node[i]];
  },
  renameTensor: (m, r) => {
    const n = r.pick(m.graph!.node);
    if (!n) return;
    const list = r.next() < 0.5 ? n.input : n.output;
    if (list.length) list[r.int(list.length)] = r.pick(["", "x", "nope", m.graph!.node[0]?.output[0] ?? "y"]);
  },
  attribute: (m, r) => {
    const n = r.pick(m.graph!.node);
    const a = n && r.pick(n.attribute);
    if (!a) return;
    if (a.type === AttributeProto_AttributeType.INT) a.i = r.pick(EDGE_INTS);
    else if (a.type === AttributeProto_AttributeType.FLOAT) a.f = r.pick(EDGE_FLOATS);
    else if (a.type === AttributeProto_AttributeType.INTS) a.ints = a.ints.map((v) => (r.next() < 0.5 ? r.pick(EDGE_INTS) : v));
    else a.type = r.int(14);
  },
  opType: (m, r) => {
    const n = r.pick(m.graph!.node);
    if (n) {
      if (r.next() < 0.3) n.domain = r.pick(["com.example", "ai.onnx.ml", "com.microsoft"]);
      else n.opType = r.pick(["Relu", "BatchNormalization", "Conv", "Sigmoid", "Clip", "Foo", "Loop", "Identity", "Add"]);
    }
  },
  inputType: (m, r) => {
    const inits = new Set(m.graph!.initializer.map((t) => t.name));
    const v = m.graph!.input.find((i) => !inits.has(i.name));
    const t = v?.type?.value;
    if (!t || t.case !== "tensorType") return;
    if (r.next() < 0.5) t.value.elemType = r.pick([0, 2, 7, 8, 9, 10, 11, 14, 16, 17]);
    else if (t.value.shape) {
      if (r.next() < 0.3) t.value.shape = undefined;
      else
        for (const d of t.value.shape.dim)
          if (r.next() < 0.5)
            d.value = r.next() < 0.5 ? { case: "dimValue", value: r.pick(EDGE_INTS) } : { case: "dimParam", value: r.pick(["N", "H", ""]) };
    }
  },
  opset: (m, r) => {
    const o = m.opsetImport[0];
    if (o) o.version = r.pick([0n, 1n, 5n, 6n, 7n, 9n, 13n, 18n, 21n, 27n, 99n]);
    if (r.next() < 0.2) m.opsetImport = [];
  },
  irVersion: (m, r) => {
    m.irVersion = r.pick([0n, 1n, 3n, 4n, 7n, 10n, 11n, 99n]);
  },
  /** Invalid stored statistics: negative running variance or epsilon, NaN/Inf mean, gamma or beta. */
  bnParams: (m, r) => {
    const bn = r.pick(m.graph!.node.filter((n) => n.opType === "BatchNormalization"));
    if (!bn) return;
    if (r.next() < 0.25) {
      const eps = bn.attribute.find((a) => a.name === "epsilon");
      if (eps) eps.f = r.pick([-1e-3, -1, NaN, Infinity, 0]);
      return;
    }
    const t = m.graph!.initializer.find((x) => x.name === bn.input[1 + r.int(4)]);
    if (!t) return;
    const values = t.rawData.length ? new Float32Array(own(t.rawData).buffer) : Float32Array.from(t.floatData);
    for (let i = 0; i < values.length; i++) if (r.next() < 0.3) values[i] = r.pick([-1, -1e-6, NaN, Infinity, -Infinity, -1e30]);
    t.rawData = new Uint8Array(values.buffer);
    t.floatData = [];
  },
  /** Moves a BN node into the then-branch of a new If node (the else-branch passes its input through). */
  bnIntoIf: (m, r) => {
    const g = m.graph!;
    const at = g.node.findIndex((n, i) => n.opType === "BatchNormalization" && r.next() < 0.5 + i / (2 * g.node.length));
    if (at < 0) return;
    const bn = g.node[at];
    const out = bn.output[0];
    const branch = (name: string, node: (typeof g.node)[number]) =>
      create(GraphProtoSchema, { name, node: [node], output: [create(ValueInfoProtoSchema, { name: `${name}_out` })] });
    const thenNode = create(NodeProtoSchema, { ...bn, output: ["then_out"] });
    const elseNode = create(NodeProtoSchema, { opType: "Identity", input: [bn.input[0]], output: ["else_out"] });
    g.initializer.push(create(TensorProtoSchema, { name: "fuzz_cond", dims: [], dataType: 9, int32Data: [r.int(2)] }));
    g.node[at] = create(NodeProtoSchema, {
      opType: "If",
      name: "fuzz_if",
      input: ["fuzz_cond"],
      output: [out],
      attribute: [
        create(AttributeProtoSchema, { name: "then_branch", type: AttributeProto_AttributeType.GRAPH, g: branch("then", thenNode) }),
        create(AttributeProtoSchema, { name: "else_branch", type: AttributeProto_AttributeType.GRAPH, g: branch("else", elseNode) }),
      ],
    });
  },
  /** Breaks a node inside a subgraph (drops it or renames one of its inputs). */
  subgraphNode: (m, r) => {
    const holders = m.graph!.node.flatMap((n) => n.attribute.filter((a) => a.g).map((a) => a.g!));
    const sub = r.pick(holders);
    const n = sub && r.pick(sub.node);
    if (!n) return;
    if (r.next() < 0.5) sub.node.splice(sub.node.indexOf(n), 1);
    else if (n.input.length) n.input[r.int(n.input.length)] = r.pick(["", "nope", m.graph!.input[0]?.name ?? "x"]);
  },
  dropOutputs: (m, r) => {
    const g = m.graph!;
    if (r.next() < 0.5) g.output = [];
    else if (g.output.length) g.output[0].name = r.pick(["", "missing", g.initializer[0]?.name ?? "w"]);
  },
};

export function semantic(b: Uint8Array, r: Rng): Uint8Array {
  let m: ModelProto;
  try {
    m = fromBinary(ModelProtoSchema, b);
  } catch {
    return MUTATORS.bitflips(b, r);
  }
  if (!m.graph) return b;
  const k = 1 + (r.next() < 0.3 ? r.int(3) : 0);
  for (let i = 0; i < k; i++) r.pick(Object.values(SEMANTIC))(m, r);
  return toBinary(ModelProtoSchema, m);
}

/** Two real reports of disjoint shards (the demo on seeds 1 and 2), the seeds of the report mutations. */
/** Two reports of the demo model (seeds 1 and 2), the bases of the report mutations. */
export async function baseReports(client: InspectorClient, work: string): Promise<[Report, Report]> {
  const modelPath = path.join(work, "report-seed.onnx");
  fs.writeFileSync(modelPath, buildDemoModel());
  const a = await client.inspect({ modelPath, samples: 8, seed: 1 }).result;
  const b = await client.inspect({ modelPath, samples: 8, seed: 2 }).result;
  return [a, b];
}

const WEIRD: unknown[] = ["NaN", null, -1, 1.5, "16", [], {}, true, 1e308, -0, "", 2 ** 53, "DEEP"];

/** Every path to a value in a JSON value (objects and arrays), walked with a stack. */
function jsonPaths(root: unknown, limit = 50_000): (string | number)[][] {
  const out: (string | number)[][] = [];
  const stack: [unknown, (string | number)[]][] = [[root, []]];
  while (stack.length && out.length < limit) {
    const [v, at] = stack.pop()!;
    if (at.length) out.push(at);
    if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, [...at, i]]));
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) stack.push([x, [...at, k]]);
  }
  return out;
}

/**
 * A report mutation for `merge`: JSON text damaged byte by byte, or one field deleted, retyped, shortened
 * or nested 100,000 deep, or the same shard given twice; then what `bn-lens merge` does with it (parse,
 * checkReport, mergeReports). A merge that succeeds must itself pass checkReport and add the samples, and
 * the streaming merge (the CLI's) must write the same text, or refuse with the same sentence.
 */
export function reportCase(base: [Report, Report], r: Rng): { mutator: string; outcome: string; message?: string } {
  let text: string;
  let mutator: string;
  let others: Report[] = [base[1]];
  if (r.next() < 0.3) {
    mutator = r.pick(["truncate", "bitflips", "randomBytes", "deleteChunk", "duplicateChunk"]);
    text = new TextDecoder().decode(MUTATORS[mutator](new TextEncoder().encode(JSON.stringify(base[0])), r));
  } else {
    const copy = structuredClone(base[0]) as unknown as Record<string, unknown>;
    const paths = jsonPaths(copy);
    const at = r.pick(paths);
    const parent = at.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], copy) as Record<
      string | number,
      unknown
    >;
    const key = at[at.length - 1];
    const action = r.pick(["delete", "retype", "retype", "shorten", "duplicate", "sameId"]);
    mutator = `report:${action}`;
    if (action === "delete") {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else if (action === "retype") parent[key] = r.pick(WEIRD);
    else if (action === "shorten") {
      const arr = paths.filter((p) =>
        Array.isArray(p.slice(0).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], copy)),
      );
      const target = arr.length ? r.pick(arr) : at;
      const v = target.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], copy);
      if (Array.isArray(v)) v.pop();
    } else if (action === "duplicate") others = [base[0]];
    else (copy as { id: string }).id = base[1].id;
    text = JSON.stringify(copy).replace('"DEEP"', "[".repeat(100_000) + "1" + "]".repeat(100_000));
  }
  const names = ["a.json", "b.json"];
  const createdAt = "2026-12-01T00:00:00.000Z";
  // What merge does streaming (the CLI's path): the same texts cut into random pieces, read layer by layer.
  const streamed = streamedMerge([text, ...others.map((o) => JSON.stringify(o))], names, createdAt, r);
  try {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      const message = 'a.json is not JSON; pass reports written by "bn-lens inspect --json".';
      return sameAsStreamed({ mutator, outcome: "user:data", message }, streamed);
    }
    const merged = mergeReports([checkReport(value, "a.json"), ...others], names, createdAt);
    const again = checkReport(JSON.parse(JSON.stringify(merged)), "the merged report");
    if (again.samples !== base[0].samples + others.reduce((n, o) => n + o.samples, 0))
      return { mutator, outcome: "bug", message: "merged samples do not add up" };
    if (streamed.text !== reportJson(merged))
      return {
        mutator,
        outcome: "bug",
        message: `the streaming merge ${streamed.error ? `refused: ${streamed.error}` : "wrote another text"}`,
      };
    return { mutator, outcome: "ok" };
  } catch (e) {
    if (isUserError(e))
      return sameAsStreamed({ mutator, outcome: cleanMessage(e.message) ? `user:${e.kind}` : "bad-message", message: e.message }, streamed);
    return { mutator, outcome: "bug", message: e instanceof Error ? `${e.message} | ${e.stack}`.slice(0, 2000) : String(e) };
  }
}

/** The streaming merge of report texts (each cut into pieces of random length): its text, or its refusal. */
function streamedMerge(texts: string[], names: string[], createdAt: string, r: Rng): { text?: string; error?: string } {
  const cut = (text: string) => {
    const pieces: string[] = [];
    for (let at = 0; at < text.length;) {
      const n = 1 + r.int(r.next() < 0.5 ? 64 : 65_536);
      pieces.push(text.slice(at, at + n));
      at += n;
    }
    return pieces;
  };
  try {
    const sources = texts.map((t, i) => new StreamedReport(names[i], reportPieces(cut(t), names[i])));
    let text = "";
    for (const piece of new StreamingMerge(sources, names, createdAt).pieces()) text += piece;
    return { text };
  } catch (e) {
    if (isUserError(e)) return { error: e.message };
    return { error: `a bug: ${e instanceof Error ? e.stack : String(e)}` };
  }
}

/** A refusal of the in-memory merge must be the streaming merge's refusal, word for word. */
function sameAsStreamed(
  found: { mutator: string; outcome: string; message?: string },
  streamed: { text?: string; error?: string },
): { mutator: string; outcome: string; message?: string } {
  if (streamed.error === found.message) return found;
  return {
    mutator: found.mutator,
    outcome: "bug",
    message: `the streaming merge ${streamed.error ? `said "${streamed.error}"` : "succeeded"} where the in-memory one said "${found.message}"`,
  };
}

/**
 * Signal delivery: `bn-lens inspect` in its own process group gets SIGINT (Ctrl-C) or SIGTERM for the whole
 * group after a random delay. Acceptable: it finished first (ok); it cancelled with exit 130/143, the one
 * sentence and no report file (user:cancelled); or the signal came before BN Lens started, with no file.
 */
async function signalCase(work: string, r: Rng, i: number): Promise<{ mutator: string; outcome: string; message?: string }> {
  const modelPath = path.join(work, "signal.onnx");
  if (!fs.existsSync(modelPath)) fs.writeFileSync(modelPath, buildDemoModel());
  const out = path.join(work, `signal${i}.json`);
  const signal = r.pick(["SIGINT", "SIGTERM"] as const);
  const delay = r.int(3000);
  const mutator = `signal:${signal}@${delay}ms`;
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "dist", "cli.js"), "inspect", modelPath, "--samples", "6000", "--mode", "exact", "--json", out],
    {
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("exit", (c, sg) => resolve([c, sg])));
  await new Promise((res) => setTimeout(res, delay));
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone: it finished first.
  }
  const [code, killedBy] = await Promise.race([exited, new Promise<[number, null]>((res) => setTimeout(() => res([-1, null]), 60_000))]);
  const wrote = fs.existsSync(out);
  fs.rmSync(out, { force: true });
  if (code === -1) {
    process.kill(-child.pid!, "SIGKILL");
    return { mutator, outcome: "hang" };
  }
  if (code === 0 && wrote) return { mutator, outcome: "ok" };
  const expected = signal === "SIGINT" ? 130 : 143;
  if (code === expected && !wrote && /\nerror: The inspection was (cancelled|stopped); no report was written\.\n$/.test(`\n${stderr}`))
    return { mutator, outcome: "user:cancelled", message: "The inspection was cancelled; no report was written." };
  if (code === null && killedBy === signal && !wrote && stderr === "")
    return { mutator, outcome: "user:signal-before-start", message: `${signal} arrived before BN Lens started.` };
  return {
    mutator,
    outcome: "bug",
    message: `exit ${code} ${killedBy ?? ""}, report ${wrote ? "written" : "absent"}, stderr: ${stderr}`.slice(0, 2000),
  };
}

/** What one fuzz case did. */
export interface Outcome {
  iteration: number;
  seed: string;
  target: string;
  mutator: string;
  outcome: string;
  message?: string;
  ms: number;
}

const ACCEPTABLE = /^(ok|user:.*)$/;

/** True when the outcome is acceptable (a report, or a clean user error). */
export function acceptable(o: Outcome): boolean {
  return ACCEPTABLE.test(o.outcome);
}

/** Checks a user-facing message: one line, no stack, of sane length, ending like a sentence. */
export function cleanMessage(message: string): boolean {
  return (
    !message.includes("\n") &&
    !/\n\s+at |\bat .*\.js:\d+/.test(message) &&
    message.length > 10 &&
    message.length < 600 &&
    /[.)]$/.test(message.trim())
  );
}

/** Runs `iterations` fuzz cases from `seed`; writes inputs under a temp folder, reuses one inference process. */
export async function fuzz(options: {
  iterations: number;
  seed: number;
  timeoutMs?: number;
  onCase?: (o: Outcome) => void;
  keepFailures?: string;
  keepIf?: (o: Outcome) => boolean;
}): Promise<Outcome[]> {
  const seeds = readSeeds();
  const rng = new Rng(options.seed);
  const client = new InspectorClient(path.join(ROOT, "dist", "worker.js"), { cancelGraceMs: 2000 });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-fuzz-"));
  const outcomes: Outcome[] = [];
  try {
    const reports = await baseReports(client, work);
    for (let i = 0; i < options.iterations; i++) {
      // About 15% of cases mutate reports for merge, 1% deliver signals to a running CLI.
      const kind = rng.next();
      if (kind < 0.16) {
        const started = performance.now();
        const c = kind < 0.01 ? await signalCase(work, rng, i) : reportCase(reports, rng);
        const o: Outcome = {
          iteration: i,
          seed: kind < 0.01 ? "cli" : "report",
          target: kind < 0.01 ? "process group" : "report.json",
          ...c,
          ms: 0,
        };
        o.ms = Math.round(performance.now() - started);
        outcomes.push(o);
        options.onCase?.(o);
        continue;
      }
      const s = rng.pick(seeds);
      const dataNames = Object.keys(s.data ?? {});
      // Mostly models; data files when the seed has some.
      const target = dataNames.length && rng.next() < 0.35 ? rng.pick(dataNames) : "model.onnx";
      const mutatorName = target === "model.onnx" && rng.next() < 0.6 ? "semantic" : rng.pick(Object.keys(MUTATORS));
      const dir = path.join(work, `case${i}`);
      fs.mkdirSync(dir);
      const files: Record<string, Uint8Array> = { "model.onnx": s.model, ...s.data };
      files[target] = mutatorName === "semantic" ? semantic(files[target], rng) : MUTATORS[mutatorName](files[target], rng);
      for (const [name, bytes] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), bytes);
      }
      const request: InspectRequest = {
        ...s.request,
        modelPath: path.join(dir, "model.onnx"),
        dataPath: s.request.dataPath ? path.join(dir, s.request.dataPath) : undefined,
      };
      const started = performance.now();
      const o: Outcome = { iteration: i, seed: s.name, target, mutator: mutatorName, outcome: "ok", ms: 0 };
      const useDescribe = target === "model.onnx" && rng.next() < 0.15;
      let timer: NodeJS.Timeout | undefined;
      try {
        const run = useDescribe ? undefined : client.inspect(request);
        const result = useDescribe ? client.describeModel(request.modelPath) : run!.result;
        await Promise.race([
          result,
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error("hang")), options.timeoutMs ?? 60_000);
          }),
        ]);
      } catch (e) {
        if (e instanceof WorkerError) {
          o.message = e.message;
          if (e.kind === "bug") o.outcome = /stopped unexpectedly|ran out of memory/.test(e.message) ? "crash" : "bug";
          else o.outcome = cleanMessage(e.message) ? `user:${e.kind}` : "bad-message";
          if (e.kind === "bug") o.message += ` | ${e.info.detail ?? ""}`.slice(0, 2000);
        } else if (e instanceof Error && e.message === "hang") {
          o.outcome = "hang";
          client.restart();
        } else {
          o.outcome = "bug";
          o.message = String(e);
        }
      } finally {
        if (timer) clearTimeout(timer);
      }
      o.ms = Math.round(performance.now() - started);
      if ((options.keepIf ? options.keepIf(o) : !acceptable(o)) && options.keepFailures) {
        const keep = path.join(options.keepFailures, `fail-${options.seed}-${i}`);
        fs.mkdirSync(keep, { recursive: true });
        fs.cpSync(dir, keep, { recursive: true });
        fs.writeFileSync(
          path.join(keep, "outcome.json"),
          JSON.stringify({ ...o, request: { ...request, modelPath: "model.onnx" } }, null, 1),
        );
      }
      fs.rmSync(dir, { recursive: true, force: true });
      outcomes.push(o);
      options.onCase?.(o);
    }
  } finally {
    client.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  }
  return outcomes;
}

/** Counts outcomes by class. */
export function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of outcomes) t[o.outcome] = (t[o.outcome] ?? 0) + 1;
  return Object.fromEntries(Object.entries(t).sort((a, b) => b[1] - a[1]));
}
