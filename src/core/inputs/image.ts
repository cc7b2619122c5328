import { UserError } from "../errors";
import { formatShape } from "../tensor";

/** Where the channel axis of an image input sits. */
export type ImageLayout = "NCHW" | "NHWC";

/** What an image input takes per sample. */
export interface ImageGeometry {
  layout: ImageLayout;
  channels: 1 | 3;
  height: number;
  width: number;
  /** Set when the layout was a guess, saying which one was picked and why. */
  note?: string;
}

/** Per-channel normalization in pixel units, value = (pixel - mean) / std, and the channel order fed. */
export interface ImageNormalization {
  /** One value for all channels, or one per channel in the order fed (B, G, R when order is "bgr"). */
  mean: number[];
  std: number[];
  order: "rgb" | "bgr";
}

/** Pixels as decoded (0..255), RGB. */
export const DEFAULT_IMAGE_NORMALIZATION: ImageNormalization = { mean: [0], std: [1], order: "rgb" };

const isChannels = (d: number) => d === 1 || d === 3;

/**
 * Decides NCHW or NHWC, channels, height and width from an input's resolved dims: the full dims (rank 4)
 * or the per-sample dims (rank 3). 1 or 3 first means NCHW, last means NHWC; when both could be, NCHW with a note.
 */
export function imageLayout(dims: readonly number[], inputName: string): ImageGeometry {
  const sample = dims.length === 4 ? dims.slice(1) : dims;
  if (sample.length !== 3 || sample.some((d) => !Number.isSafeInteger(d) || d <= 0)) {
    throw new UserError(
      "data",
      `Input "${inputName}" takes ${formatShape(sample)} per sample, which is not an image (channels x height x width or height x width x channels); use .npy, .npz or .pb data for it.`,
    );
  }
  const [a, b, c] = sample;
  const first = isChannels(a);
  const last = isChannels(c);
  if (!first && !last) {
    throw new UserError(
      "data",
      `Input "${inputName}" takes ${formatShape(sample)} per sample, which is not an image with 1 or 3 channels first or last; use .npy, .npz or .pb data for it.`,
    );
  }
  if (first) {
    const geometry: ImageGeometry = { layout: "NCHW", channels: a as 1 | 3, height: b, width: c };
    if (last) {
      geometry.note = `Input "${inputName}" takes ${formatShape(sample)} per sample, where both the first and the last dim could be channels; images are fed as NCHW (${a} channel${a === 1 ? "" : "s"} of ${b}x${c}).`;
    }
    return geometry;
  }
  return { layout: "NHWC", channels: c as 1 | 3, height: a, width: b };
}

/** Expands and checks mean/std for `channels` channels; a wrong count or a zero std is a usage error. */
export function checkNormalization(norm: ImageNormalization, channels: number): { mean: Float64Array; std: Float64Array } {
  const expand = (values: number[], what: string) => {
    if (values.length !== 1 && values.length !== channels) {
      throw new UserError(
        "usage",
        `The image ${what} has ${values.length} values but the model's images have ${channels} channel${channels === 1 ? "" : "s"}; give 1 or ${channels} values.`,
      );
    }
    if (values.some((v) => !Number.isFinite(v))) {
      throw new UserError("usage", `The image ${what} (${values.join(", ")}) must be finite numbers in pixel units (0 to 255).`);
    }
    return Float64Array.from({ length: channels }, (_, i) => values[values.length === 1 ? 0 : i]);
  };
  const mean = expand(norm.mean, "mean");
  const std = expand(norm.std, "std");
  if (std.some((s) => s === 0)) {
    throw new UserError(
      "usage",
      `The image std (${norm.std.join(", ")}) has a zero, which would divide by zero; give non-zero values in pixel units, e.g. 128 or 58.4.`,
    );
  }
  return { mean, std };
}

/** A short description such as "RGB, (p - 127) / 128, NCHW". */
export function describeNormalization(norm: ImageNormalization, geometry: ImageGeometry): string {
  const list = (v: number[]) => (v.length === 1 ? String(v[0]) : `[${v.join(", ")}]`);
  const colour = geometry.channels === 1 ? "grayscale" : norm.order.toUpperCase();
  return `${colour}, (p - ${list(norm.mean)}) / ${list(norm.std)}, ${geometry.layout}`;
}

/**
 * Converts decoded, already resized 8-bit pixels (HWC, `pixelChannels` of 1, 3 or 4; alpha is ignored) into one
 * sample of `out` starting at `offset`: float values (p - mean) / std, or raw pixels when `out` is a Uint8Array.
 * Gray pixels are repeated for 3-channel inputs; RGB becomes gray by ITU-R BT.601 luma for 1-channel inputs.
 */
export function pixelsToSample(
  pixels: Uint8Array,
  pixelChannels: number,
  geometry: ImageGeometry,
  norm: ImageNormalization,
  out: Float32Array | Uint8Array,
  offset: number,
): void {
  const { height, width, channels, layout } = geometry;
  const plane = height * width;
  if (pixels.length < plane * pixelChannels) throw new Error(`expected ${plane * pixelChannels} pixel bytes, got ${pixels.length}`);
  const { mean, std } = checkNormalization(norm, channels);
  const raw = out instanceof Uint8Array;
  // Source channel for each fed channel: BGR swaps red and blue.
  const srcChannel = channels === 3 && norm.order === "bgr" ? [2, 1, 0] : [0, 1, 2];
  for (let p = 0; p < plane; p++) {
    const px = p * pixelChannels;
    for (let c = 0; c < channels; c++) {
      let v: number;
      if (channels === 1) {
        v = pixelChannels >= 3 ? Math.round(0.299 * pixels[px] + 0.587 * pixels[px + 1] + 0.114 * pixels[px + 2]) : pixels[px];
      } else {
        v = pixelChannels >= 3 ? pixels[px + srcChannel[c]] : pixels[px];
      }
      const at = offset + (layout === "NCHW" ? c * plane + p : p * channels + c);
      out[at] = raw ? v : (v - mean[c]) / std[c];
    }
  }
}
