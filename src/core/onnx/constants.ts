import type { NodeProto } from "onnx-buf";
import { toFloat64, type HostTensor } from "../tensor";
import { attr, isOnnxOp, type OnnxModel } from "./model";
import { tensorFromProto, type ExternalReader } from "./tensorData";

/**
 * The value of a tensor that is fixed by the model alone: an initializer, a Constant node's output, or
 * such a value passed through Identity / Cast / Reshape / Squeeze / Unsqueeze / Flatten (exporters wrap
 * Clip bounds and BN parameters this way). Undefined when the value depends on the inputs.
 */
export function constantValue(model: OnnxModel, name: string, readExternal?: ExternalReader, depth = 0): HostTensor | undefined {
  if (!name || depth > 16) return undefined;
  const init = model.initializers.get(name);
  // A graph input with an initializer can be overridden at run time, but only real inputs are fed here.
  if (init) return tensorFromProto(init, readExternal);
  const node = model.producers.get(name);
  if (!node || !isOnnxOp(node)) return undefined;
  if (node.opType === "Constant") return constantNodeValue(node, readExternal);
  if (["Identity", "Reshape", "Squeeze", "Unsqueeze", "Flatten"].includes(node.opType)) {
    const v = constantValue(model, node.input[0], readExternal, depth + 1);
    // Shape-changing ops keep values and order; the consumer only needs the values.
    return v ? { ...v, dims: [v.data.length] } : undefined;
  }
  if (node.opType === "Cast") {
    const v = constantValue(model, node.input[0], readExternal, depth + 1);
    if (!v) return undefined;
    return { dtype: "float64", dims: v.dims, data: toFloat64(v) };
  }
  return undefined;
}

/** The value of a Constant node (value, value_float(s), value_int(s)). */
export function constantNodeValue(node: NodeProto, readExternal?: ExternalReader): HostTensor | undefined {
  const value = attr(node, "value");
  if (value?.t) return tensorFromProto(value.t, readExternal);
  const vf = attr(node, "value_float");
  if (vf) return { dtype: "float32", dims: [], data: Float32Array.of(vf.f) };
  const vfs = attr(node, "value_floats");
  if (vfs) return { dtype: "float32", dims: [vfs.floats.length], data: Float32Array.from(vfs.floats) };
  const vi = attr(node, "value_int");
  if (vi) return { dtype: "int64", dims: [], data: BigInt64Array.of(vi.i) };
  const vis = attr(node, "value_ints");
  if (vis) return { dtype: "int64", dims: [vis.ints.length], data: BigInt64Array.from(vis.ints) };
  return undefined;
}

/** A constant as float64 values, or undefined. */
export function constantFloats(model: OnnxModel, name: string, readExternal?: ExternalReader): Float64Array | undefined {
  const v = constantValue(model, name, readExternal);
  return v && v.dtype !== "string" ? toFloat64(v) : undefined;
}

/** A constant scalar (a one-element tensor) as a number, or undefined. */
export function constantScalar(model: OnnxModel, name: string, readExternal?: ExternalReader): number | undefined {
  const v = constantFloats(model, name, readExternal);
  return v && v.length === 1 ? v[0] : undefined;
}
