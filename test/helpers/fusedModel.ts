// A small real model whose BN was folded into its convolutions at export (Conv+Relu, no BatchNormalization),
// with planted dead channels: their bias is so negative that ReLU never lets a value through.
import { create, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, OperatorSetIdProtoSchema, GraphProtoSchema } from "onnx-buf";
import { GraphBuilder, tensorInfo } from "./onnxGraph";

/** Deterministic weights in [-0.5, 0.5). */
function weights(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** The bytes of the model: x [N, 3, 16, 16] → Conv(8) → Relu → Conv(8) → Relu → y; channels 2 and 5 of both convs are dead. */
export function fusedModelBytes(): Uint8Array {
  const g = new GraphBuilder(13);
  const dead = new Set([2, 5]);
  const c1 = g.node(
    "Conv",
    ["x", g.init("conv1.w", weights(8 * 3 * 9, 1), [8, 3, 3, 3]), g.init("conv1.b", bias(dead), [8])],
    "c1",
    {},
    "conv1",
  );
  const r1 = g.node("Relu", [c1], "r1", {}, "relu1");
  const c2 = g.node(
    "Conv",
    [r1, g.init("conv2.w", weights(8 * 8 * 9, 2), [8, 8, 3, 3]), g.init("conv2.b", bias(dead), [8])],
    "c2",
    {},
    "conv2",
  );
  const y = g.node("Relu", [c2], "y", {}, "relu2");
  const proto = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: "bn-lens-test (BN folded into Conv)",
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: "", version: 13n })],
    graph: create(GraphProtoSchema, {
      name: "fused",
      node: g.nodes,
      initializer: g.initializers,
      input: [tensorInfo("x", ["N", 3, 16, 16])],
      output: [tensorInfo(y, ["N", 8, 12, 12])],
    }),
  });
  return toBinary(ModelProtoSchema, proto);
}

function bias(dead: ReadonlySet<number>): number[] {
  return Array.from({ length: 8 }, (_, c) => (dead.has(c) ? -1000 : 0.1));
}
