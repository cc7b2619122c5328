// Models for the load tests, built in the test (never committed): a chain of BatchNormalization → Relu
// layers, as deep and as wide as asked, sharing one set of BN parameters so the file stays small.
import { create, toBinary } from "@bufbuild/protobuf";
import {
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  ValueInfoProtoSchema,
  type NodeProto,
  type TensorProto,
} from "onnx-buf";

function floats(name: string, values: Float32Array): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dataType: 1,
    dims: [BigInt(values.length)],
    rawData: new Uint8Array(values.buffer as ArrayBuffer),
  });
}

/**
 * `layers` BN → Relu pairs on a [N, channels, side, side] input. Channel c has gamma 0.5 + (c mod 7) / 7,
 * beta (c mod 5 − 2) / 10, running mean 0.4 and running variance 0.3: values stay of order one all the way
 * down and channels differ, so every per-channel array and histogram row is really filled.
 */
export function bnChainModel(layers: number, channels: number, side = 2): Uint8Array {
  const param = (f: (c: number) => number) => Float32Array.from({ length: channels }, (_, c) => f(c));
  const inits = [
    floats(
      "g",
      param((c) => 0.5 + (c % 7) / 7),
    ),
    floats(
      "b",
      param((c) => ((c % 5) - 2) / 10),
    ),
    floats(
      "m",
      param(() => 0.4),
    ),
    floats(
      "v",
      param(() => 0.3),
    ),
  ];
  const nodes: NodeProto[] = [];
  let prev = "x";
  for (let i = 0; i < layers; i++) {
    nodes.push(
      create(NodeProtoSchema, { opType: "BatchNormalization", input: [prev, "g", "b", "m", "v"], output: [`bn${i}`], name: `bn${i}` }),
      create(NodeProtoSchema, { opType: "Relu", input: [`bn${i}`], output: [`r${i}`], name: `relu${i}` }),
    );
    prev = `r${i}`;
  }
  const info = (name: string, dims: (number | string)[]) =>
    create(ValueInfoProtoSchema, {
      name,
      type: {
        value: {
          case: "tensorType",
          value: {
            elemType: 1,
            shape: {
              dim: dims.map((d) =>
                typeof d === "number"
                  ? { value: { case: "dimValue" as const, value: BigInt(d) } }
                  : { value: { case: "dimParam" as const, value: d } },
              ),
            },
          },
        },
      },
    });
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: "bn-lens-load-test",
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: "", version: 13n })],
      graph: create(GraphProtoSchema, {
        name: `bn-chain-${layers}x${channels}`,
        node: nodes,
        initializer: inits,
        input: [info("x", ["N", channels, side, side])],
        output: [info(prev, ["N", channels, side, side])],
      }),
    }),
  );
}
