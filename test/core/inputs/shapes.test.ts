import * as assert from "node:assert/strict";
import { parseInputShape, parseInputShapes, resolveInputs, type DataSampleInfo } from "../../../src/core/inputs/shapes";
import type { ModelInput } from "../../../src/core/onnx/model";
import { shapeQuestion } from "../../../src/core/inputs/shapeQuestion";
import { UserError } from "../../../src/core/errors";
import { shapeHint } from "../../../src/core/inputs/presets";
import { throwsUser } from "../../helpers/userError";

const face: ModelInput = { name: "input", dtype: "float32", typeName: "float32", dims: [1, 3, 240, 320] };
const paddle: ModelInput = {
  name: "x",
  dtype: "float32",
  typeName: "float32",
  dims: ["p2o.DynamicDimension.0", 3, "p2o.DynamicDimension.1", "p2o.DynamicDimension.2"],
};
const nchw: ModelInput = { name: "x", dtype: "float32", typeName: "float32", dims: ["N", 3, "H", "W"] };
const data = (entries: Record<string, DataSampleInfo>) => new Map(Object.entries(entries));

describe("input shape resolution (core)", () => {
  it("parses --input-shape values, with N or ? for the batch and names containing ':'", () => {
    assert.deepEqual(parseInputShape("x:Nx3x48x192"), { name: "x", dims: ["batch", 3, 48, 192], text: "x:Nx3x48x192" });
    assert.deepEqual(parseInputShape("input:0:?x224x224x3").dims, ["batch", 224, 224, 3]);
    assert.equal(parseInputShape("input:0:?x224x224x3").name, "input:0");
    assert.deepEqual(parseInputShape("x:8x3").dims, [8, 3]);
    const syntax = "NAME:D0xD1x... (for example x:Nx3x48x192, with N or ? for the batch dim)";
    throwsUser(() => parseInputShape("x3x48"), `--input-shape "x3x48" is not ${syntax}: it needs an input name before ':'.`, "usage");
    throwsUser(() => parseInputShape("x:"), `--input-shape "x:" is not ${syntax}: it has no dims after ':'.`, "usage");
    throwsUser(() => parseInputShape("x:Nx3x?x4"), `--input-shape "x:Nx3x?x4" is not ${syntax}: only the first dim may be ?.`, "usage");
    throwsUser(() => parseInputShape("x:Nx0x4"), `--input-shape "x:Nx0x4" is not ${syntax}: "0" is not a positive whole number.`, "usage");
    throwsUser(
      () => parseInputShape("x:Nx3.5"),
      `--input-shape "x:Nx3.5" is not ${syntax}: "3.5" is not a positive whole number.`,
      "usage",
    );
    throwsUser(
      () => parseInputShapes(["x:Nx3", "x:Nx4"]),
      '--input-shape gives input "x" twice ("x:Nx3" and "x:Nx4"); give it once.',
      "usage",
    );
  });

  it("takes a fixed leading dim as a fixed batch and the rest as the sample", () => {
    const [r] = resolveInputs({ inputs: [face], batchSize: 16 });
    assert.deepEqual(r, {
      name: "input",
      index: 0,
      sampleDims: [3, 240, 320],
      dtype: "float32",
      dataDtype: undefined,
      fixedBatch: 1,
      declared: "1x3x240x320",
      conversion: undefined,
    });
  });

  it("names symbolic dims that nothing resolves, and takes them from --input-shape or the data", () => {
    throwsUser(
      () => resolveInputs({ inputs: [nchw], batchSize: 4 }),
      'Input "x" has symbolic dims H, W (N x 3 x H x W) that neither the data nor --input-shape gives; give them with --input-shape x:Nx3x<H>x<W>, putting numbers for <H>, <W>.',
    );
    throwsUser(
      () => resolveInputs({ inputs: [paddle], batchSize: 4 }),
      'Input "x" has symbolic dims p2o.DynamicDimension.1, p2o.DynamicDimension.2 (p2o.DynamicDimension.0 x 3 x p2o.DynamicDimension.1 x p2o.DynamicDimension.2) that neither the data nor --input-shape gives; give them with --input-shape x:Nx3x<d2>x<d3>, putting numbers for <d2>, <d3>.',
    );
    const unnamed: ModelInput = { name: "x", dtype: "float32", typeName: "float32", dims: [null, 3, null, null] };
    throwsUser(
      () => resolveInputs({ inputs: [unnamed], batchSize: 4 }),
      'Input "x" has unknown dims 2, 3 (? x 3 x ? x ?) that neither the data nor --input-shape gives; give them with --input-shape x:Nx3x<d2>x<d3>, putting numbers for <d2>, <d3>.',
    );
    const [r] = resolveInputs({ inputs: [paddle], batchSize: 4, overrides: ["x:Nx3x48x192"] });
    assert.deepEqual([r.sampleDims, r.fixedBatch], [[3, 48, 192], undefined]);
    const [d] = resolveInputs({ inputs: [nchw], batchSize: 4, data: data({ x: { dims: [3, 32, 64], dtype: "float32" } }) });
    assert.deepEqual(d.sampleDims, [3, 32, 64]);
    assert.equal(d.declared, "N x 3 x H x W");
  });

  it("says what the model expects and what the data has when fixed dims differ", () => {
    throwsUser(
      () => resolveInputs({ inputs: [face], batchSize: 1, data: data({ input: { dims: [3, 224, 224], dtype: "float32" } }) }),
      'Input "input" expects 3x240x320 per sample (model shape 1x3x240x320), but the data has 3x224x224; give data of that shape.',
    );
    throwsUser(
      () => resolveInputs({ inputs: [face], batchSize: 1, data: data({ input: { dims: [240, 320], dtype: "float32", count: 3 } }) }),
      'Input "input" expects 3x240x320 per sample (model shape 1x3x240x320), but the data has 240x320 (it looks like one sample without the leading sample axis: add one, e.g. with numpy.expand_dims(a, 0)); give data of that shape.',
    );
    throwsUser(
      () => resolveInputs({ inputs: [nchw], batchSize: 1, overrides: ["x:Nx3x48x192"], data: data({ x: { dims: [3, 48, 100] } }) }),
      'Input "x" expects 3x48x192 per sample (model shape N x 3 x H x W) with --input-shape x:Nx3x48x192, but the data has 3x48x100; give data of that shape.',
    );
    throwsUser(
      () => resolveInputs({ inputs: [nchw], batchSize: 1, data: data({ x: { dims: [1, 48, 100] } }) }),
      'Input "x" expects 3xHxW per sample (model shape N x 3 x H x W), but the data has 1x48x100; give data of that shape.',
    );
  });

  it("checks dtypes: anything numeric feeds floats (converted), integers need integers", () => {
    const [r] = resolveInputs({ inputs: [face], batchSize: 1, data: data({ input: { dims: [3, 240, 320], dtype: "float64" } }) });
    assert.equal(r.dataDtype, "float64");
    assert.equal(r.conversion, "input: float64 data is converted to float32.");
    const ids: ModelInput = { name: "ids", dtype: "int64", typeName: "int64", dims: ["batch", 16] };
    assert.equal(resolveInputs({ inputs: [ids], batchSize: 2, data: data({ ids: { dims: [16], dtype: "int32" } }) })[0].dataDtype, "int32");
    throwsUser(
      () => resolveInputs({ inputs: [ids], batchSize: 2, data: data({ ids: { dims: [16], dtype: "float32" } }) }),
      'Input "ids" has type int64 and needs integer data, but the data is float32; save it as int64.',
    );
    const mask: ModelInput = { name: "mask", dtype: "bool", typeName: "bool", dims: ["batch", 16] };
    throwsUser(
      () => resolveInputs({ inputs: [mask], batchSize: 2, data: data({ mask: { dims: [16], dtype: "float16" } }) }),
      'Input "mask" has type bool and needs bool or integer data, but the data is float16; save it as bool.',
    );
    const text: ModelInput = { name: "text", dtype: "string", typeName: "string", dims: ["batch"] };
    throwsUser(
      () => resolveInputs({ inputs: [text], batchSize: 2 }),
      'Input "text" has type string, which BN Lens cannot feed; it feeds float, integer and bool inputs.',
      "model",
    );
    const complex: ModelInput = { name: "z", dtype: undefined, typeName: "complex64", dims: ["batch", 4] };
    throwsUser(
      () => resolveInputs({ inputs: [complex], batchSize: 2 }),
      'Input "z" has type complex64, which BN Lens cannot feed; it feeds float, integer and bool inputs.',
      "model",
    );
  });

  it("needs a shape for an input that declares none, from --input-shape or the data", () => {
    const bare: ModelInput = { name: "x", dtype: "float32", typeName: "float32", dims: undefined };
    throwsUser(
      () => resolveInputs({ inputs: [bare], batchSize: 2 }),
      'Input "x" declares no shape and the data does not give one; give it with --input-shape x:NxD1xD2..., using numbers for D1, D2 and so on.',
    );
    assert.deepEqual(resolveInputs({ inputs: [bare], batchSize: 2, overrides: ["x:Nx5x6"] })[0].sampleDims, [5, 6]);
    assert.deepEqual(resolveInputs({ inputs: [bare], batchSize: 2, data: data({ x: { dims: [7] } }) })[0].sampleDims, [7]);
    assert.equal(resolveInputs({ inputs: [bare], batchSize: 2, data: data({ x: { dims: [7] } }) })[0].declared, "no declared shape");
  });

  it("refuses --input-shape values that contradict the model", () => {
    throwsUser(
      () => resolveInputs({ inputs: [face], batchSize: 1, overrides: ["image:1x3x240x320"] }),
      '--input-shape names "image", which is not an input of the model; its inputs are "input".',
      "usage",
    );
    throwsUser(
      () => resolveInputs({ inputs: [nchw], batchSize: 1, overrides: ["x:Nx3x48"] }),
      '--input-shape x:Nx3x48 gives 3 dims but input "x" has 4 (N x 3 x H x W); give all 4.',
      "usage",
    );
    throwsUser(
      () => resolveInputs({ inputs: [face], batchSize: 1, overrides: ["input:Nx1x240x320"] }),
      '--input-shape input:Nx1x240x320 sets dim 1 of input "input" to 1, but the model fixes it at 3 (1x3x240x320); use 3.',
      "usage",
    );
    throwsUser(
      () => resolveInputs({ inputs: [nchw], batchSize: 8, overrides: ["x:1x3x48x192"] }),
      "--input-shape x:1x3x48x192 sets the batch dim to 1 but the batch size is 8; write x:Nx3x48x192 to follow the batch size, or change the batch size.",
      "usage",
    );
    // A number equal to the batch size, or to the model's fixed batch, is fine.
    assert.deepEqual(resolveInputs({ inputs: [nchw], batchSize: 8, overrides: ["x:8x3x48x192"] })[0].sampleDims, [3, 48, 192]);
    assert.equal(resolveInputs({ inputs: [face], batchSize: 8, overrides: ["input:1x3x240x320"] })[0].fixedBatch, 1);
    const scalar: ModelInput = { name: "t", dtype: "float32", typeName: "float32", dims: [] };
    throwsUser(
      () => resolveInputs({ inputs: [scalar], batchSize: 1 }),
      'Input "t" is a scalar, so it has no sample axis to feed batches along; BN Lens feeds samples along the first dim of every input.',
      "model",
    );
  });

  it("shares a symbolic dim's size between inputs that use the same name, and refuses conflicts", () => {
    const a: ModelInput = { name: "a", dtype: "float32", typeName: "float32", dims: ["N", "seq"] };
    const b: ModelInput = { name: "b", dtype: "float32", typeName: "float32", dims: ["N", "seq", 4] };
    const resolved = resolveInputs({ inputs: [a, b], batchSize: 2, overrides: ["a:Nx10"] });
    assert.deepEqual(
      resolved.map((r) => r.sampleDims),
      [[10], [10, 4]],
    );
    assert.deepEqual(
      resolved.map((r) => r.index),
      [0, 1],
    );
    throwsUser(
      () => resolveInputs({ inputs: [a, b], batchSize: 2, data: data({ a: { dims: [10] }, b: { dims: [12, 4] } }) }),
      'Symbolic dim "seq" is 10 for input "a" but 12 for input "b"; inputs that share a dim name must agree, so give matching data or --input-shape values.',
    );
  });
});

describe("the shape question", () => {
  it("names each open dim by its real name and says what to type", () => {
    // The engine's own message for PaddleOCR's detector (checked with bn-lens inspect on it).
    const q = shapeQuestion(
      'Input "x" has symbolic dims p2o.DynamicDimension.1, p2o.DynamicDimension.2 (p2o.DynamicDimension.0 x 3 x p2o.DynamicDimension.1 x p2o.DynamicDimension.2) that neither the data nor --input-shape gives; give them with --input-shape x:Nx3x<d2>x<d3>, putting numbers for <d2>, <d3>.',
    )!;
    assert.equal(
      q.sentence,
      'Input "x" is declared p2o.DynamicDimension.0 × 3 × p2o.DynamicDimension.1 × p2o.DynamicDimension.2, and the data does not fix p2o.DynamicDimension.1 (dim 2) and p2o.DynamicDimension.2 (dim 3): type its shape with a number for each of them and N for the batch, e.g. x:Nx3x640x640.',
    );
    assert.equal(q.value, "x:Nx3x<p2o.DynamicDimension.1>x<p2o.DynamicDimension.2>");
    assert.deepEqual(q.selection, [6, 30]);
    assert.equal(q.value.slice(...q.selection!), "<p2o.DynamicDimension.1>");
    assert.equal(shapeQuestion("The data has 2 dims, the model 4."), undefined);
  });
});

describe("the shape a run needs, as a typed field of the error", () => {
  const caught = (f: () => unknown): UserError => {
    try {
      f();
    } catch (e) {
      if (e instanceof UserError) return e;
      throw e;
    }
    throw new Error("expected a UserError");
  };

  it("carries the input and the suggestion the message gives, so the editor never parses the text", () => {
    const e = caught(() => resolveInputs({ inputs: [paddle], batchSize: 2 }));
    assert.deepEqual(e.shapeNeeded, { input: "x", suggestion: "x:Nx3x<d2>x<d3>" });
    // The same answer the message's own text gives (read the old way, by pattern).
    assert.deepEqual(e.shapeNeeded, shapeHint(e.message));
    const named = caught(() => resolveInputs({ inputs: [nchw], batchSize: 2 }));
    assert.deepEqual(named.shapeNeeded, { input: "x", suggestion: "x:Nx3x<H>x<W>" });
    const noShape: ModelInput = { name: "img", dtype: "float32", typeName: "float32", dims: undefined };
    assert.deepEqual(caught(() => resolveInputs({ inputs: [noShape], batchSize: 2 })).shapeNeeded, {
      input: "img",
      suggestion: "img:NxD1xD2...",
    });
    // Other errors need no shape.
    assert.equal(caught(() => parseInputShape("x:")).shapeNeeded, undefined);
  });
});
