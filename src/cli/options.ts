/** Command-line option parsing shared by the bn-lens commands: one sentence for every bad value. */
import { UserError } from "../core/errors";

/** A usage error that points to the help. */
export function usage(message: string): UserError {
  return new UserError("usage", `${message} (run "bn-lens --help" for usage)`);
}

/** A whole-number option of at least `min`, or undefined when absent. */
export function intOption(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min)
    throw usage(`--${name} must be a whole number of at least ${min}, not "${value}"`);
  return n;
}

/** A comma-separated list of finite numbers, or undefined when absent. */
export function numberList(value: string | undefined, name: string): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.some((p) => p === "") || nums.some((n) => !Number.isFinite(n)))
    throw usage(`--${name} takes numbers separated by commas, like 127,127,127, not "${value}"`);
  return nums;
}

/** The data, shape and preprocessing options that every command running the model takes. */
export const DATA_OPTIONS = {
  data: { type: "string" },
  samples: { type: "string" },
  batch: { type: "string" },
  seed: { type: "string" },
  "input-shape": { type: "string", multiple: true },
  mean: { type: "string" },
  std: { type: "string" },
  bgr: { type: "boolean" },
  threads: { type: "string" },
} as const;
