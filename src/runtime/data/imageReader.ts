// Images: decoded and resized with sharp one batch at a time, then normalized in core.
import * as path from "node:path";
import sharp from "sharp";
import { UserError } from "../../core/errors";
import { castTensor, isFloat } from "../../core/inputs/convert";
import {
  checkNormalization,
  DEFAULT_IMAGE_NORMALIZATION,
  describeNormalization,
  imageLayout,
  pixelsToSample,
  type ImageGeometry,
  type ImageNormalization,
} from "../../core/inputs/image";
import type { ResolvedInput } from "../../core/inputs/shapes";
import type { ModelInput } from "../../core/onnx/model";
import { sizeOf, type HostTensor } from "../../core/tensor";
import type { DataOptions, DataInfo, DataSource, DataTarget, DataReader } from "./dataSource";
import { naturalSort, display, fsError, checkRange, checkBatchBytes, onlyInput, capNote } from "./files";

const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png"];
const isImageName = (f: string) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase());
const isImageBytes = (h: Uint8Array) =>
  (h[0] === 0xff && h[1] === 0xd8) || (h[0] === 0x89 && h[1] === 0x50 && h[2] === 0x4e && h[3] === 0x47);
const imagesIn = (t: DataTarget) => naturalSort((t.folder?.files ?? []).filter(isImageName));

/** One .jpg/.png image (by extension or magic bytes) or a folder of them, in natural sort order. */
export const imageReader: DataReader = {
  kind: "images",
  extensions: IMAGE_EXTENSIONS,
  match: (t) => {
    if (t.file) return IMAGE_EXTENSIONS.includes(t.file.ext) || (!t.file.knownExtension && isImageBytes(t.file.head)) ? "image" : false;
    const n = imagesIn(t).length;
    return n > 0 ? `${n} image${n > 1 ? "s" : ""}` : false;
  },
  open: async (t, c) => {
    const p = t.path!;
    if (t.file) return imageSource([p], undefined, display(p), c.options, c.modelInputs, c.cap);
    const images = imagesIn(t);
    return imageSource(
      images.map((f) => path.join(p, f)),
      p,
      `${images.length} image${images.length > 1 ? "s" : ""} in ${display(p)}`,
      c.options,
      c.modelInputs,
      c.cap,
    );
  },
};

function imageSource(
  files: string[],
  folder: string | undefined,
  description: string,
  options: DataOptions,
  modelInputs: readonly ModelInput[],
  cap: number | undefined,
): DataSource {
  const input = onlyInput(modelInputs, "Images", "give an .npz file with one array per input, or ONNX test data sets");
  const norm: ImageNormalization = { ...DEFAULT_IMAGE_NORMALIZATION, ...options.image };
  const concurrency = Math.max(1, options.imageConcurrency ?? 4);
  const count = Math.min(files.length, cap ?? Infinity);
  const info: DataInfo = {
    kind: "images",
    sampleCount: count,
    inputs: new Map(),
    description: `${description}${capNote(files.length, cap)}`,
  };
  let feed: { r: ResolvedInput; geometry: ImageGeometry; raw: boolean } | undefined;

  const decode = async (file: string, geometry: ImageGeometry) => {
    const shown = display(file, folder);
    try {
      let pipeline = sharp(file).resize(geometry.width, geometry.height, { fit: "fill" });
      pipeline = geometry.channels === 1 ? pipeline.grayscale() : pipeline.removeAlpha().toColourspace("srgb");
      const { data, info: out } = await pipeline.raw().toBuffer({ resolveWithObject: true });
      // One byte per value: anything else (16-bit output) would be misread as 8-bit pixels.
      if (out.width !== geometry.width || out.height !== geometry.height || data.length !== out.width * out.height * out.channels) {
        throw new Error(`sharp returned ${data.length} bytes for ${out.width}x${out.height}x${out.channels} pixels`);
      }
      return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), channels: out.channels };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code) throw fsError(e, file);
      const reason = String((e as Error).message ?? e)
        .replace(/^Vips\w*:\s*/i, "")
        .split("\n")[0]
        .replace(/\.$/, "");
      if (/pixel limit/i.test(reason)) {
        throw new UserError(
          "data",
          `Image "${shown}" has more pixels than sharp decodes (about 268 megapixels); shrink it or remove it from the folder.`,
          String(e),
        );
      }
      throw new UserError(
        "data",
        `Image "${shown}" cannot be decoded (${reason}); the file is damaged or not an image, so fix or remove it.`,
        String(e),
      );
    }
  };

  return {
    info,
    async open(inputs) {
      const r = inputs.find((x) => x.name === input.name)!;
      const geometry = imageLayout(r.sampleDims, r.name);
      const raw = r.dtype === "uint8";
      if (!raw && !isFloat(r.dtype)) {
        throw new UserError(
          "data",
          `Input "${r.name}" has type ${r.dtype}, and images can feed only float or uint8 inputs; give .npy, .npz or .pb data for it.`,
        );
      }
      checkNormalization(norm, geometry.channels);
      feed = { r, geometry, raw };
      const notes = geometry.note ? [geometry.note] : [];
      if (r.dtype !== "float32" && !raw) notes.push(`${r.name}: image values are converted from float32 to ${r.dtype}.`);
      const how = raw
        ? `${geometry.channels === 1 ? "grayscale" : "RGB"} pixels 0-255 unnormalized (the input is uint8), ${geometry.layout}`
        : describeNormalization(norm, geometry);
      return { description: `images resized to ${geometry.width}x${geometry.height} (width x height), ${how}`, notes };
    },
    async read(start, n) {
      checkRange(info, start, n);
      if (!feed) throw new Error("open() must precede read()");
      const { r, geometry, raw } = feed;
      const per = sizeOf(r.sampleDims);
      checkBatchBytes(n, per * 4);
      const out = raw ? new Uint8Array(n * per) : new Float32Array(n * per);
      let next = 0;
      const worker = async () => {
        while (next < n) {
          const i = next++;
          const { pixels, channels } = await decode(files[start + i], geometry);
          pixelsToSample(pixels, channels, geometry, norm, out, i * per);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
      const t: HostTensor = { dtype: raw ? "uint8" : "float32", dims: [n, ...r.sampleDims], data: out };
      return { [r.name]: castTensor(t, r.dtype, "The image data") };
    },
    async close() {},
  };
}
