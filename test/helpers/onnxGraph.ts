// Builds small ONNX graphs in tests: `g.node("Relu", ["x"], ["y"])`, then `g.model()` indexes them.
import { create } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "onnx-buf";
import { indexModel, type OnnxModel } from "../../src/core/onnx/model";

/** An attribute value: a number is FLOAT unless listed in `ints`, a string is STRING. */
export type AttrValue = number | string | { int: number } | { floats: number[] };

function attribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === "string")
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(v) });
  if (typeof v === "number") return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: v });
  if ("int" in v) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(v.int) });
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOATS, floats: v.floats });
}

/** A float32 tensor (values rounded to float32 the way an exporter stores them). */
export function floatTensor(name: string, values: number[], dims: number[] = values.length === 1 ? [] : [values.length]): TensorProto {
  return create(TensorProtoSchema, { name, dataType: TensorProto_DataType.FLOAT, dims: dims.map(BigInt), floatData: values });
}

/** An int64 tensor. */
export function int64Tensor(name: string, values: number[], dims: number[] = values.length === 1 ? [] : [values.length]): TensorProto {
  return create(TensorProtoSchema, { name, dataType: TensorProto_DataType.INT64, dims: dims.map(BigInt), int64Data: values.map(BigInt) });
}

/** A ValueInfoProto of a tensor: element type (FLOAT unless given) and dims, a string being a symbolic dim. */
export function tensorInfo(
  name: string,
  dims: readonly (number | string)[],
  elemType: number = TensorProto_DataType.FLOAT,
): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: "tensorType",
        value: {
          elemType,
          shape: {
            dim: dims.map((d) => ({
              value: typeof d === "number" ? { case: "dimValue" as const, value: BigInt(d) } : { case: "dimParam" as const, value: d },
            })),
          },
        },
      },
    }),
  });
}

function valueInfo(name: string, dims?: number[]): ValueInfoProto {
  return dims ? tensorInfo(name, dims) : create(ValueInfoProtoSchema, { name });
}

/** A graph under construction. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly valueInfos: ValueInfoProto[] = [];
  private counter = 0;

  constructor(
    readonly opset = 13,
    readonly inputs: string[] = ["x"],
  ) {}

  /** Adds a node; returns its first output's name. */
  node(op: string, inputs: string[], outputs: string[] | string, attrs: Record<string, AttrValue> = {}, name?: string): string {
    const outs = typeof outputs === "string" ? [outputs] : outputs;
    this.nodes.push(
      create(NodeProtoSchema, {
        opType: op,
        name: name ?? "",
        input: inputs,
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs[0];
  }

  /** Adds an initializer; returns its name. */
  init(name: string, values: number[], dims?: number[]): string {
    this.initializers.push(floatTensor(name, values, dims));
    return name;
  }

  /** Adds a Constant node holding a float (or int64) scalar or tensor; returns its output name. */
  constant(values: number[] | number, dims?: number[], dtype: "float" | "int64" = "float"): string {
    const v = typeof values === "number" ? [values] : values;
    const out = `const_${this.counter++}`;
    const t = dtype === "float" ? floatTensor("", v, dims) : int64Tensor("", v, dims);
    this.nodes.push(
      create(NodeProtoSchema, {
        opType: "Constant",
        output: [out],
        attribute: [create(AttributeProtoSchema, { name: "value", type: AttributeProto_AttributeType.TENSOR, t })],
      }),
    );
    return out;
  }

  /** A BatchNormalization of `input` with `channels` channels; returns its output name. */
  batchNorm(input: string, output: string, channels = 4): string {
    const p = `bn${this.counter++}`;
    const ones = Array(channels).fill(1);
    const zeros = Array(channels).fill(0);
    return this.node(
      "BatchNormalization",
      [input, this.init(`${p}.s`, ones), this.init(`${p}.b`, zeros), this.init(`${p}.m`, zeros), this.init(`${p}.v`, ones)],
      output,
      { epsilon: 1e-5 },
      `${p}`,
    );
  }

  /** Declares a tensor's shape (value_info). */
  shape(name: string, dims: number[]): void {
    this.valueInfos.push(valueInfo(name, dims));
  }

  /** The indexed model, with `outputs` as graph outputs. */
  model(outputs: string[]): OnnxModel {
    const proto = create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: "bn-lens-test",
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: "", version: BigInt(this.opset) })],
      graph: create(GraphProtoSchema, {
        name: "test",
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map((n) => valueInfo(n)),
        output: outputs.map((n) => valueInfo(n)),
        valueInfo: this.valueInfos,
      }),
    });
    return indexModel(proto);
  }
}
