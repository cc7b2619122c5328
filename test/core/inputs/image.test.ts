import * as assert from "node:assert/strict";
import {
  checkNormalization,
  describeNormalization,
  imageLayout,
  pixelsToSample,
  type ImageNormalization,
} from "../../../src/core/inputs/image";
import { throwsUser } from "../../helpers/userError";

// A 2x3 (height x width) RGB image, HWC: pixel (y, x) = [10y + x, 100 + 10y + x, 200 + 10y + x].
const H = 2;
const W = 3;
const rgb = Uint8Array.from({ length: H * W * 3 }, (_, i) => {
  const c = i % 3;
  const p = Math.floor(i / 3);
  return c * 100 + 10 * Math.floor(p / W) + (p % W);
});
const px = (y: number, x: number, c: number) => c * 100 + 10 * y + x;

describe("image conversion (core)", () => {
  it("decides the layout from the input's dims", () => {
    assert.deepEqual(imageLayout([1, 3, 240, 320], "input"), { layout: "NCHW", channels: 3, height: 240, width: 320 });
    assert.deepEqual(imageLayout([224, 224, 3], "x"), { layout: "NHWC", channels: 3, height: 224, width: 224 });
    assert.deepEqual(imageLayout([8, 28, 28, 1], "x"), { layout: "NHWC", channels: 1, height: 28, width: 28 });
    assert.deepEqual(imageLayout([1, 28, 28], "x"), { layout: "NCHW", channels: 1, height: 28, width: 28 });
    const guess = imageLayout([3, 10, 3], "x");
    assert.equal(guess.layout, "NCHW");
    assert.equal(
      guess.note,
      'Input "x" takes 3x10x3 per sample, where both the first and the last dim could be channels; images are fed as NCHW (3 channels of 10x3).',
    );
    throwsUser(
      () => imageLayout([4, 224, 224], "x"),
      'Input "x" takes 4x224x224 per sample, which is not an image with 1 or 3 channels first or last; use .npy, .npz or .pb data for it.',
    );
    throwsUser(
      () => imageLayout([5, 10], "seq"),
      'Input "seq" takes 5x10 per sample, which is not an image (channels x height x width or height x width x channels); use .npy, .npz or .pb data for it.',
    );
  });

  it("normalizes RGB pixels to NCHW with per-channel mean and std in pixel units", () => {
    const norm: ImageNormalization = { mean: [1, 2, 3], std: [2, 4, 8], order: "rgb" };
    const out = new Float32Array(1 + 3 * H * W).fill(-99);
    pixelsToSample(rgb, 3, { layout: "NCHW", channels: 3, height: H, width: W }, norm, out, 1);
    assert.equal(out[0], -99); // offset respected
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          assert.equal(out[1 + c * H * W + y * W + x], (px(y, x, c) - norm.mean[c]) / norm.std[c]);
        }
  });

  it("writes NHWC, swaps to BGR (mean and std in fed order), and ignores alpha", () => {
    const rgba = new Uint8Array(H * W * 4);
    for (let p = 0; p < H * W; p++) rgba.set([...rgb.subarray(p * 3, p * 3 + 3), 7], p * 4);
    const norm: ImageNormalization = { mean: [127], std: [128], order: "bgr" };
    const out = new Float32Array(3 * H * W);
    pixelsToSample(rgba, 4, { layout: "NHWC", channels: 3, height: H, width: W }, norm, out, 0);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < 3; c++) {
          assert.equal(out[(y * W + x) * 3 + c], (px(y, x, 2 - c) - 127) / 128);
        }
  });

  it("repeats gray pixels for 3 channels, takes BT.601 luma for 1, and copies raw pixels into uint8", () => {
    const gray = Uint8Array.from([0, 50, 100, 150, 200, 255]);
    const out = new Float32Array(3 * H * W);
    pixelsToSample(gray, 1, { layout: "NCHW", channels: 3, height: H, width: W }, { mean: [0], std: [1], order: "rgb" }, out, 0);
    assert.deepEqual(Array.from(out), [...gray, ...gray, ...gray]);
    const luma = new Float32Array(H * W);
    pixelsToSample(rgb, 3, { layout: "NCHW", channels: 1, height: H, width: W }, { mean: [0], std: [1], order: "rgb" }, luma, 0);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        assert.equal(luma[y * W + x], Math.round(0.299 * px(y, x, 0) + 0.587 * px(y, x, 1) + 0.114 * px(y, x, 2)));
      }
    const raw = new Uint8Array(3 * H * W);
    pixelsToSample(rgb, 3, { layout: "NHWC", channels: 3, height: H, width: W }, { mean: [127], std: [128], order: "rgb" }, raw, 0);
    assert.deepEqual(Array.from(raw), Array.from(rgb));
  });

  it("checks mean and std and describes the normalization", () => {
    assert.deepEqual(Array.from(checkNormalization({ mean: [5], std: [2], order: "rgb" }, 3).mean), [5, 5, 5]);
    throwsUser(
      () => checkNormalization({ mean: [1, 2], std: [1], order: "rgb" }, 3),
      "The image mean has 2 values but the model's images have 3 channels; give 1 or 3 values.",
      "usage",
    );
    throwsUser(
      () => checkNormalization({ mean: [0], std: [58, 0, 57], order: "rgb" }, 3),
      "The image std (58, 0, 57) has a zero, which would divide by zero; give non-zero values in pixel units, e.g. 128 or 58.4.",
      "usage",
    );
    assert.equal(
      describeNormalization({ mean: [127], std: [128], order: "rgb" }, { layout: "NCHW", channels: 3, height: 2, width: 2 }),
      "RGB, (p - 127) / 128, NCHW",
    );
    assert.equal(
      describeNormalization({ mean: [104, 117, 123], std: [1], order: "bgr" }, { layout: "NHWC", channels: 3, height: 2, width: 2 }),
      "BGR, (p - [104, 117, 123]) / 1, NHWC",
    );
  });
});
