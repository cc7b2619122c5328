// The face detector (opset 9) rewritten at the wire level as an opset-15 model, optionally with every BN in
// training mode (training_mode=1): Unsqueeze's axes and Slice's starts/ends/axes become inputs (opset 13 and
// 10 moved them there); Softmax (axis 2 of a rank-3 tensor, the last axis) means the same in both opsets.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AttributeProto_AttributeType, AttributeProtoSchema, ModelProtoSchema, TensorProto_DataType, TensorProtoSchema } from "onnx-buf";

export function faceDetectorOpset15(bytes: Uint8Array, trainingMode: boolean): Uint8Array {
  const m = fromBinary(ModelProtoSchema, bytes);
  m.irVersion = 8n;
  m.opsetImport = m.opsetImport.map((o) => (o.domain === "" ? { ...o, version: 15n } : o));
  const g = m.graph!;
  let k = 0;
  const ints = (values: bigint[]) => {
    const name = `bnlens_test_ints_${k++}`;
    g.initializer.push(
      create(TensorProtoSchema, { name, dataType: TensorProto_DataType.INT64, dims: [BigInt(values.length)], int64Data: values }),
    );
    return name;
  };
  for (const n of g.node) {
    const attr = (name: string) => n.attribute.find((a) => a.name === name);
    if (n.opType === "Unsqueeze") {
      n.input.push(ints(attr("axes")!.ints));
      n.attribute = n.attribute.filter((a) => a.name !== "axes");
    } else if (n.opType === "Slice") {
      const starts = attr("starts")!.ints;
      const ends = attr("ends")!.ints;
      const axes = attr("axes")?.ints ?? starts.map((_, i) => BigInt(i));
      n.input.push(ints(starts), ints(ends), ints(axes));
      n.attribute = n.attribute.filter((a) => !["starts", "ends", "axes"].includes(a.name));
    } else if (n.opType === "BatchNormalization" && trainingMode) {
      n.attribute.push(create(AttributeProtoSchema, { name: "training_mode", type: AttributeProto_AttributeType.INT, i: 1n }));
      n.output = [n.output[0], `${n.output[0]}_running_mean`, `${n.output[0]}_running_var`];
    }
  }
  return toBinary(ModelProtoSchema, m);
}
