/**
 * Replaces BatchNormalization running statistics (input_mean, input_var) at the protobuf wire level.
 * Every byte that is not one of those tensors, a BN node that must be rewired to its own copy, or the
 * metadata entries BN Lens records is copied unchanged: other initializers, external data references,
 * unknown fields, node order.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { AttributeProtoSchema, TensorProtoSchema, type NodeProto } from "onnx-buf";
import { UserError } from "../errors";
import { attrInt, isOnnxOp, type OnnxModel } from "../onnx/model";
import { dtypeFromOnnx, onnxFromDtype } from "../onnx/dataType";
import type { DType } from "../tensor";
import {
  AttributeField,
  GraphField,
  ModelField,
  NodeField,
  TENSOR_DATA_FIELDS,
  TensorField,
  concat,
  lengthDelimited,
  scanFields,
  scanModel,
  stringEntryField,
  stringField,
  varint,
  type WireField,
} from "../onnx/wire";

/** ONNX's own default (onnx.external_data_helper): tensors of at least this many bytes go to external data. */
export const EXTERNAL_THRESHOLD_BYTES = 1024;

/** New statistics for one BN node. */
export interface StatsUpdate {
  /** Position of the BN node in graph.node. */
  nodeIndex: number;
  mean: Float64Array;
  var: Float64Array;
  /** Rewrite a training_mode=1 node into inference mode (drops the attribute and the running-stat outputs). */
  toInference?: boolean;
}

/** Options of a statistics rewrite. */
export interface StatsRewriteOptions {
  /** Entries for metadata_props; an existing entry with the same key is replaced. */
  metadata?: readonly { key: string; value: string }[];
  /**
   * Location (relative to the new model) of a new external data file for statistics that were stored
   * externally and are at least EXTERNAL_THRESHOLD_BYTES long; smaller ones become inline.
   */
  externalLocation?: string;
}

/** How one statistics tensor of one BN node was written. */
export interface StatsChange {
  node: string;
  slot: "mean" | "var";
  /** The tensor the node read before, and the one it reads now (the same name when replaced in place). */
  from: string;
  to: string;
  how: "initializer replaced" | "constant replaced" | "new initializer";
  dtype: DType;
  /** Where the new values live. */
  storage: "inline" | "external";
}

/** Result of a statistics rewrite. */
export interface StatsRewriteResult {
  bytes: Uint8Array;
  /** Contents of the new external data file, when some statistics went there. */
  externalData: Uint8Array | undefined;
  changes: StatsChange[];
}

const STAT_DTYPES: ReadonlySet<DType> = new Set(["float32", "float16", "float64", "bfloat16"]);

/** float64 values as little-endian bytes of a float dtype (float16 and bfloat16 rounded to nearest even). */
export function encodeFloats(values: Float64Array, dtype: DType): Uint8Array {
  const n = values.length;
  if (dtype === "float64") return new Uint8Array(Float64Array.from(values).buffer);
  if (dtype === "float32") return new Uint8Array(Float32Array.from(values).buffer);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = dtype === "float16" ? floatToHalf(values[i]) : floatToBfloat16(values[i]);
  if (dtype !== "float16" && dtype !== "bfloat16") throw new Error(`not a float dtype: ${dtype}`);
  return new Uint8Array(out.buffer);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bfloat16 nearest to x (ties to even). */
export function floatToBfloat16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if (Number.isNaN(x)) return 0x7fc0;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The IEEE half-precision value nearest to x (ties to even), from the float64 value directly. */
export function floatToHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // rounds to infinity
  if (a < 2 ** -14) {
    // Subnormal: units of 2^-24, rounded half to even.
    return sign | roundHalfEven(a / 2 ** -24);
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  let m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The value a float dtype actually stores for x. */
export function roundToDtype(x: number, dtype: DType): number {
  if (dtype === "float64") return x;
  if (dtype === "float32") return Math.fround(x);
  const bytes = encodeFloats(Float64Array.of(x), dtype);
  const h = bytes[0] | (bytes[1] << 8);
  if (dtype === "bfloat16") {
    u32[0] = h << 16;
    return f32[0];
  }
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  if (exp === 0) return s * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : s * Infinity;
  return s * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Where a BN statistic comes from: an initializer or Constant node, possibly through Identity-like ops and Cast. */
interface StatSource {
  kind: "initializer" | "constant";
  /** The initializer or Constant output holding the values. */
  root: string;
  /** Tensors from the BN's input down to the root (the root included). */
  chain: string[];
  /** Element type stored at the root, and the one the BN sees (differs after a Cast). */
  rootDtype: DType;
  seenDtype: DType;
}

/** Follows a statistics input down to the constant that holds it. */
function statSource(model: OnnxModel, name: string, what: string): StatSource {
  const fail = () => new UserError("model", `The ${what} is not a floating-point constant of the model, so BN Lens cannot replace it.`);
  const chain: string[] = [];
  let seen: DType | undefined;
  let current = name;
  for (let depth = 0; depth <= 16; depth++) {
    chain.push(current);
    const init = model.initializers.get(current);
    if (init) {
      const dtype = dtypeFromOnnx(init.dataType);
      if (!dtype || !STAT_DTYPES.has(dtype)) throw fail();
      return { kind: "initializer", root: current, chain, rootDtype: dtype, seenDtype: seen ?? dtype };
    }
    const node = model.producers.get(current);
    if (!node || !isOnnxOp(node)) throw fail();
    if (node.opType === "Constant") {
      const value = node.attribute.find((a) => a.name === "value");
      let dtype: DType | undefined;
      if (value?.t) dtype = dtypeFromOnnx(value.t.dataType);
      else if (node.attribute.some((a) => a.name === "value_floats" || a.name === "value_float")) dtype = "float32";
      if (!dtype || !STAT_DTYPES.has(dtype)) throw fail();
      return { kind: "constant", root: current, chain, rootDtype: dtype, seenDtype: seen ?? dtype };
    }
    if (node.opType === "Cast") {
      const to = dtypeFromOnnx(attrInt(node, "to", 0));
      if (!to || !STAT_DTYPES.has(to)) throw fail();
      seen ??= to;
    } else if (!["Identity", "Reshape", "Squeeze", "Unsqueeze", "Flatten"].includes(node.opType)) throw fail();
    current = node.input[0];
  }
  throw fail();
}

/** Every tensor name read inside subgraphs (If/Loop/Scan bodies may read outer-scope tensors). */
function subgraphReads(nodes: readonly NodeProto[], out = new Set<string>()): Set<string> {
  for (const n of nodes) {
    for (const a of n.attribute) {
      const graphs = [...(a.g ? [a.g] : []), ...a.graphs];
      for (const g of graphs) {
        for (const sn of g.node) for (const i of sn.input) out.add(i);
        for (const o of g.output) out.add(o.name);
        subgraphReads(g.node, out);
      }
    }
  }
  return out;
}

/** A tensor's bytes with its data fields replaced by `data` (raw_data, or an external reference). */
function withData(tensorBytes: Uint8Array, from: number, to: number, data: Uint8Array[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  let placed = false;
  for (const f of scanFields(tensorBytes, from, to)) {
    if (TENSOR_DATA_FIELDS.has(f.field)) {
      if (!placed) chunks.push(...data);
      placed = true;
      continue;
    }
    chunks.push(tensorBytes.subarray(f.start, f.end));
  }
  if (!placed) chunks.push(...data);
  return concat(chunks);
}

interface Placement {
  /** Data fields for the tensor. */
  fields: Uint8Array[];
  storage: "inline" | "external";
}

/** Splits a length-delimited field into tag+length and payload range. */
function payloadOf(f: WireField): [number, number] {
  return [f.payloadStart, f.end];
}

/**
 * Writes new BN statistics into a model. A tensor read only by the one BN input slot being changed is
 * replaced where it stands (initializer or Constant node); a tensor also read elsewhere (another BN,
 * another slot, another node, a subgraph, a graph output), or reached through Identity/Cast, is left as
 * it is and the BN node is rewired to a new initializer of the same element type.
 */
export function rewriteBnStatistics(
  bytes: Uint8Array,
  model: OnnxModel,
  updates: readonly StatsUpdate[],
  options: StatsRewriteOptions = {},
): StatsRewriteResult {
  const { top, graph: graphField, graphFields } = scanModel(bytes);
  if (!graphField) throw new UserError("model", "The model has no graph.");

  // Uses of every tensor: (node index, input slot) pairs, plus graph outputs and subgraph reads.
  const uses = new Map<string, number>();
  model.graph.node.forEach((n) => n.input.forEach((i) => i && uses.set(i, (uses.get(i) ?? 0) + 1)));
  for (const o of model.graph.output) uses.set(o.name, (uses.get(o.name) ?? 0) + 1);
  for (const name of subgraphReads(model.graph.node)) uses.set(name, (uses.get(name) ?? 0) + 1);

  const names = new Set<string>([...model.initializers.keys(), ...model.graph.input.map((v) => v.name)]);
  for (const n of model.graph.node) for (const o of n.output) names.add(o);
  const fresh = (base: string) => {
    let name = base;
    for (let k = 2; names.has(name); k++) name = `${base}_${k}`;
    names.add(name);
    return name;
  };

  const initializerIndex = new Map(model.graph.initializer.map((t, i) => [t.name, i]));
  const replaceInitializer = new Map<number, { values: Float64Array; dtype: DType; wasExternal: boolean }>();
  const replaceConstant = new Map<number, { values: Float64Array; dtype: DType }>();
  const rewire = new Map<number, { inputs: Map<number, string>; toInference: boolean }>();
  const added: { name: string; values: Float64Array; dtype: DType; external: boolean }[] = [];
  const changes: StatsChange[] = [];
  const external: Uint8Array[] = [];
  let externalOffset = 0;
  const threshold = EXTERNAL_THRESHOLD_BYTES;

  const placement = (values: Float64Array, dtype: DType, wasExternal: boolean): Placement => {
    const data = encodeFloats(values, dtype);
    if (!wasExternal || data.length < threshold || !options.externalLocation) {
      return { fields: lengthDelimited(TensorField.rawData, data), storage: "inline" };
    }
    // Offsets aligned to 4 KiB like onnx's external data helper, so each tensor can be mapped on its own.
    const pad = (4096 - (externalOffset % 4096)) % 4096;
    if (pad) external.push(new Uint8Array(pad));
    externalOffset += pad;
    const entry = (key: string, value: string) => stringEntryField(TensorField.externalData, key, value);
    const fields = [
      ...entry("location", options.externalLocation),
      ...entry("offset", String(externalOffset)),
      ...entry("length", String(data.length)),
      varint(TensorField.dataLocation * 8),
      varint(1),
    ];
    external.push(data);
    externalOffset += data.length;
    return { fields, storage: "external" };
  };

  const seen = new Set<number>();
  for (const u of updates) {
    const node = model.graph.node[u.nodeIndex];
    if (!node || !isOnnxOp(node, "BatchNormalization")) throw new Error(`node ${u.nodeIndex} is not a BatchNormalization`);
    if (seen.has(u.nodeIndex)) throw new Error(`node ${u.nodeIndex} updated twice`);
    seen.add(u.nodeIndex);
    const nodeName = model.nodeName.get(node)!;
    const edit = { inputs: new Map<number, string>(), toInference: !!u.toInference };
    for (const [slot, values, label] of [
      [3, u.mean, "mean"],
      [4, u.var, "var"],
    ] as const) {
      const tensor = node.input[slot];
      const source = statSource(model, tensor, `running ${label} of BatchNormalization node "${nodeName}"`);
      // In place only when nothing else reads any tensor between the BN and the constant.
      const exclusive = source.chain.every((t) => (uses.get(t) ?? 0) === 1) && node.input.filter((i) => i === tensor).length === 1;
      const init = model.initializers.get(source.root);
      const storageOf = (wasExternal: boolean, dtype: DType): "inline" | "external" =>
        wasExternal && options.externalLocation && values.length * bytesOf(dtype) >= threshold ? "external" : "inline";
      if (exclusive && source.kind === "initializer" && init) {
        const wasExternal = init.dataLocation === 1;
        replaceInitializer.set(initializerIndex.get(source.root)!, { values, dtype: source.rootDtype, wasExternal });
        changes.push({
          node: nodeName,
          slot: label,
          from: source.root,
          to: source.root,
          how: "initializer replaced",
          dtype: source.rootDtype,
          storage: storageOf(wasExternal, source.rootDtype),
        });
      } else if (exclusive && source.kind === "constant") {
        replaceConstant.set(model.nodeIndex.get(model.producers.get(source.root)!)!, { values, dtype: source.rootDtype });
        changes.push({
          node: nodeName,
          slot: label,
          from: source.root,
          to: source.root,
          how: "constant replaced",
          dtype: source.rootDtype,
          storage: "inline",
        });
      } else {
        const name = fresh(`${nodeName}.${label === "mean" ? "running_mean" : "running_var"}.recalibrated`);
        const wasExternal = init?.dataLocation === 1;
        added.push({ name, values, dtype: source.seenDtype, external: wasExternal });
        edit.inputs.set(slot, name);
        changes.push({
          node: nodeName,
          slot: label,
          from: tensor,
          to: name,
          how: "new initializer",
          dtype: source.seenDtype,
          storage: storageOf(wasExternal, source.seenDtype),
        });
      }
    }
    if (edit.inputs.size || edit.toInference) rewire.set(u.nodeIndex, edit);
  }

  const graphChunks: Uint8Array[] = [];
  let nodeIndex = 0;
  let initIndex = 0;
  for (const f of graphFields) {
    const raw = bytes.subarray(f.start, f.end);
    if (f.field === GraphField.node && f.wireType === 2) {
      const i = nodeIndex++;
      const edit = rewire.get(i);
      const constant = replaceConstant.get(i);
      if (edit) graphChunks.push(...lengthDelimited(GraphField.node, rewriteNode(bytes, f, edit.inputs, edit.toInference)));
      else if (constant)
        graphChunks.push(...lengthDelimited(GraphField.node, rewriteConstantNode(bytes, f, constant.values, constant.dtype)));
      else graphChunks.push(raw);
      continue;
    }
    if (f.field === GraphField.initializer && f.wireType === 2) {
      const r = replaceInitializer.get(initIndex++);
      if (r) {
        const [from, to] = payloadOf(f);
        const p = placement(r.values, r.dtype, r.wasExternal);
        graphChunks.push(...lengthDelimited(GraphField.initializer, withData(bytes, from, to, p.fields)));
        continue;
      }
    }
    graphChunks.push(raw);
  }
  for (const a of added) {
    const header = [
      varint(TensorField.dims * 8),
      varint(a.values.length),
      varint(TensorField.dataType * 8),
      varint(onnxFromDtype(a.dtype)),
      ...stringField(TensorField.name, a.name),
    ];
    const p = placement(a.values, a.dtype, a.external);
    graphChunks.push(...lengthDelimited(GraphField.initializer, concat([...header, ...p.fields])));
  }

  const replacedKeys = new Set((options.metadata ?? []).map((m) => m.key));
  const chunks: Uint8Array[] = [];
  let metadataIndex = 0;
  for (const f of top) {
    if (f === graphField) {
      chunks.push(...lengthDelimited(ModelField.graph, concat(graphChunks)));
      continue;
    }
    if (f.field === ModelField.graph && f.wireType === 2) continue;
    if (f.field === ModelField.metadataProps && f.wireType === 2) {
      const key = model.proto.metadataProps[metadataIndex++]?.key;
      if (key !== undefined && replacedKeys.has(key)) continue;
    }
    chunks.push(bytes.subarray(f.start, f.end));
  }
  for (const m of options.metadata ?? []) {
    chunks.push(...stringEntryField(ModelField.metadataProps, m.key, m.value));
  }
  return { bytes: concat(chunks), externalData: external.length ? concat(external) : undefined, changes };
}

function bytesOf(dtype: DType): number {
  return dtype === "float64" ? 8 : dtype === "float32" ? 4 : 2;
}

/** A node with some input slots renamed, and, for inference mode, training_mode and the extra outputs dropped. */
function rewriteNode(bytes: Uint8Array, nodeField: WireField, inputs: ReadonlyMap<number, string>, toInference: boolean): Uint8Array {
  const chunks: Uint8Array[] = [];
  let inputIndex = 0;
  let outputIndex = 0;
  for (const f of scanFields(bytes, nodeField.payloadStart, nodeField.end)) {
    if (f.field === NodeField.input && f.wireType === 2) {
      const renamed = inputs.get(inputIndex++);
      if (renamed !== undefined) {
        chunks.push(...stringField(NodeField.input, renamed));
        continue;
      }
    }
    if (toInference && f.field === NodeField.output && f.wireType === 2 && outputIndex++ > 0) continue;
    if (toInference && f.field === NodeField.attribute && f.wireType === 2) {
      const a = fromBinary(AttributeProtoSchema, bytes.subarray(f.payloadStart, f.end));
      if (a.name === "training_mode") continue;
    }
    chunks.push(bytes.subarray(f.start, f.end));
  }
  return concat(chunks);
}

/** A Constant node whose value (a tensor, value_floats or value_float) holds new values of the same type. */
function rewriteConstantNode(bytes: Uint8Array, nodeField: WireField, values: Float64Array, dtype: DType): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const f of scanFields(bytes, nodeField.payloadStart, nodeField.end)) {
    if (f.field !== NodeField.attribute || f.wireType !== 2) {
      chunks.push(bytes.subarray(f.start, f.end));
      continue;
    }
    const attrFields = scanFields(bytes, f.payloadStart, f.end);
    const nameField = attrFields.find((a) => a.field === AttributeField.name);
    const name = nameField ? new TextDecoder().decode(bytes.subarray(nameField.payloadStart, nameField.end)) : "";
    if (name !== "value" && name !== "value_floats" && name !== "value_float") {
      chunks.push(bytes.subarray(f.start, f.end));
      continue;
    }
    const attr: Uint8Array[] = [];
    for (const a of attrFields) {
      if (name === "value" && a.field === AttributeField.t && a.wireType === 2) {
        // The tensor must decode (checked already by statSource); its data fields are replaced.
        fromBinary(TensorProtoSchema, bytes.subarray(a.payloadStart, a.end));
        attr.push(
          ...lengthDelimited(
            AttributeField.t,
            withData(bytes, a.payloadStart, a.end, lengthDelimited(TensorField.rawData, encodeFloats(values, dtype))),
          ),
        );
      } else if (name === "value_floats" && a.field === AttributeField.floats) {
        continue;
      } else if (name === "value_float" && a.field === AttributeField.f) {
        attr.push(varint(AttributeField.f * 8 + 5), encodeFloats(values.subarray(0, 1), "float32"));
      } else attr.push(bytes.subarray(a.start, a.end));
    }
    if (name === "value_floats") attr.push(...lengthDelimited(AttributeField.floats, encodeFloats(values, "float32")));
    chunks.push(...lengthDelimited(NodeField.attribute, concat(attr)));
  }
  return concat(chunks);
}

/** What a BN actually reads for a value written as its running mean or variance (rounded through every stored type). */
export function statRounding(model: OnnxModel, node: NodeProto): { mean: (x: number) => number; var: (x: number) => number } {
  const name = model.nodeName.get(node) ?? node.name;
  const round = (slot: number, what: string) => {
    const s = statSource(model, node.input[slot], `${what} of BatchNormalization node "${name}"`);
    return (x: number) => roundToDtype(roundToDtype(x, s.rootDtype), s.seenDtype);
  };
  return { mean: round(3, "running mean"), var: round(4, "running var") };
}
