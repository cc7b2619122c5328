/**
 * Image preprocessing presets offered when a user picks images (pixel units: input = (p - mean) / std),
 * and the shape hint read back from a "symbolic dims" error so an editor can ask for it pre-filled.
 */

/** A named pixel normalisation. */
export interface ImagePreset {
  id: "centered128" | "imagenet" | "unit" | "raw";
  label: string;
  detail: string;
  mean: number[];
  std: number[];
}

/** The presets, most common first for models exported from PyTorch/ONNX zoos. */
export const IMAGE_PRESETS: readonly ImagePreset[] = [
  { id: "centered128", label: "(p − 127) / 128", detail: "mean 127, std 128: values in about [−1, 1]", mean: [127], std: [128] },
  {
    id: "imagenet",
    label: "ImageNet mean/std",
    detail: "mean 123.675, 116.28, 103.53; std 58.395, 57.12, 57.375 (pixel units)",
    mean: [123.675, 116.28, 103.53],
    std: [58.395, 57.12, 57.375],
  },
  { id: "unit", label: "[0, 1]", detail: "p / 255 (mean 0, std 255)", mean: [0], std: [255] },
  { id: "raw", label: "Raw pixels", detail: "0..255 as they are (mean 0, std 1)", mean: [0], std: [1] },
];

/** Parses "127, 127, 127" (or one number); undefined when any part is not a finite number. */
export function parseNumberList(text: string, positive = false): number[] | undefined {
  const parts = text.split(/[,\s]+/).filter(Boolean);
  if (parts.length === 0 || parts.length > 4) return undefined;
  const nums = parts.map(Number);
  if (nums.some((n) => !Number.isFinite(n) || (positive && n <= 0))) return undefined;
  return nums;
}

/**
 * The input shape an error message suggests ("... give them with --input-shape x:Nx3x<d2>x<d3>, ..."),
 * or undefined when the message is not about unknown dims.
 */
export function shapeHint(message: string): { input: string; suggestion: string } | undefined {
  if (!/(symbolic|unknown) dims|declares no shape/.test(message)) return undefined;
  const m = /--input-shape\s+(\S+):([^\s:]+?)[,;.]?(?:\s|$)/.exec(message);
  if (!m) return undefined;
  return { input: m[1], suggestion: `${m[1]}:${m[2]}` };
}

/** Checks a typed "NAME:D0xD1x..." shape: returns a reason it is not one, or undefined when it is. */
export function checkShapeText(text: string): string | undefined {
  const colon = text.lastIndexOf(":");
  if (colon <= 0) return "Write NAME:D0xD1x..., e.g. x:Nx3x48x192.";
  const dims = text
    .slice(colon + 1)
    .split(/[xX*,]/)
    .map((s) => s.trim());
  if (dims.length === 0 || dims.some((d, i) => !(/^\d+$/.test(d) && Number(d) > 0) && !(i === 0 && /^(N|\?|-1)$/i.test(d)))) {
    return "Every dim must be a positive whole number (N or ? for the batch dim); replace each <...> with a number.";
  }
  return undefined;
}
