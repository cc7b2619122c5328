import { UserError } from "../errors";
import type { Dim, ModelInput } from "../onnx/model";
import { formatShape, type DType } from "../tensor";
import { isFloat, isInteger } from "./convert";

/** A shape given with --input-shape NAME:D0xD1x...; "batch" marks a leading N or ? (the batch size). */
export interface ShapeOverride {
  name: string;
  dims: (number | "batch")[];
  /** The text as the user wrote it, for messages. */
  text: string;
}

/** What the data gives for one input: its per-sample dims (without the sample axis), dtype and sample count. */
export interface DataSampleInfo {
  dims?: number[];
  dtype?: DType;
  count?: number;
}

/** One real model input with everything needed to feed it. */
export interface ResolvedInput {
  name: string;
  /** Position among the model's real inputs. */
  index: number;
  /** Dims of one sample: the input's dims without the leading batch dim. */
  sampleDims: number[];
  /** The dtype the model takes (data is converted to it). */
  dtype: DType;
  /** The data's dtype when it differs from `dtype` and is converted. */
  dataDtype: DType | undefined;
  /** The model's leading dim when it is a fixed number (the caller may rewrite it to feed larger batches). */
  fixedBatch: number | undefined;
  /** The declared shape for messages, e.g. "N x 3 x H x W". */
  declared: string;
  /** A sentence about a dtype conversion, e.g. "x: float64 data is converted to float32.", if any. */
  conversion: string | undefined;
}

/** Inputs to resolveInputs. */
export interface ResolveOptions {
  inputs: readonly ModelInput[];
  /** Parsed overrides, or the raw --input-shape strings. */
  overrides?: ReadonlyMap<string, ShapeOverride> | readonly string[];
  batchSize: number;
  /** Per-input facts from the data, keyed by input name; absent when the data follows the model (random, images). */
  data?: ReadonlyMap<string, DataSampleInfo>;
}

const SYNTAX = "NAME:D0xD1x... (for example x:Nx3x48x192, with N or ? for the batch dim)";

/** Parses one --input-shape value; the name is everything before the last ':' (names like "input:0" work). */
export function parseInputShape(text: string): ShapeOverride {
  const colon = text.lastIndexOf(":");
  const name = colon > 0 ? text.slice(0, colon).trim() : "";
  const parts =
    colon > 0
      ? text
          .slice(colon + 1)
          .split(/[x,X*]/)
          .map((s) => s.trim())
      : [];
  const bad = (why: string) => new UserError("usage", `--input-shape "${text}" is not ${SYNTAX}: ${why}.`);
  if (!name) throw bad("it needs an input name before ':'");
  if (parts.length === 0 || parts.every((p) => p === "")) throw bad("it has no dims after ':'");
  const dims = parts.map((p, i): number | "batch" => {
    if (i === 0 && (p === "N" || p === "n" || p === "?" || p === "-1")) return "batch";
    if (!/^\d+$/.test(p) || Number(p) < 1 || !Number.isSafeInteger(Number(p))) {
      throw bad(p === "N" || p === "?" ? `only the first dim may be ${p}` : `"${p}" is not a positive whole number`);
    }
    return Number(p);
  });
  return { name, dims, text };
}

/** Parses every --input-shape value into name -> override; naming an input twice is a usage error. */
export function parseInputShapes(texts: readonly string[]): Map<string, ShapeOverride> {
  const out = new Map<string, ShapeOverride>();
  for (const t of texts) {
    const o = parseInputShape(t);
    const prev = out.get(o.name);
    if (prev) throw new UserError("usage", `--input-shape gives input "${o.name}" twice ("${prev.text}" and "${o.text}"); give it once.`);
    out.set(o.name, o);
  }
  return out;
}

/** Batch-shaped dims for `count` samples of a resolved input. */
export function batchDims(input: ResolvedInput, count: number): number[] {
  return [count, ...input.sampleDims];
}

/** "N x 3 x H x W" for symbolic shapes, "1x3x240x320" for fixed ones. */
export function formatDeclared(dims: readonly Dim[] | undefined): string {
  if (!dims) return "no declared shape";
  const parts = dims.map((d) => (d === null ? "?" : d));
  return parts.some((d) => typeof d === "string") ? (parts.length ? parts.join(" x ") : "scalar") : formatShape(parts);
}

function sameDims(a: readonly (number | null)[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === null || d === b[i]);
}

/**
 * Resolves every real input's per-sample dims and fed dtype from the model, the user's --input-shape values,
 * the batch size and what the data gives; anything unresolvable or mismatched is a UserError naming the input.
 */
export function resolveInputs(opts: ResolveOptions): ResolvedInput[] {
  const overrides = Array.isArray(opts.overrides)
    ? parseInputShapes(opts.overrides as readonly string[])
    : ((opts.overrides as ReadonlyMap<string, ShapeOverride> | undefined) ?? new Map<string, ShapeOverride>());
  const names = opts.inputs.map((i) => i.name);
  for (const o of overrides.values()) {
    if (!names.includes(o.name)) {
      throw new UserError(
        "usage",
        `--input-shape names "${o.name}", which is not an input of the model; its inputs are ${names.map((n) => `"${n}"`).join(", ") || "none"}.`,
      );
    }
  }
  const data = opts.data ?? new Map<string, DataSampleInfo>();

  // Pass 1: each input's per-sample dims from the model, the override and the data; symbols that get a value.
  const partial = opts.inputs.map((input, index) => {
    const dtype = checkDtype(input, data.get(input.name)?.dtype);
    return { input, index, ...dtype, ...sampleShape(input, overrides.get(input.name), data.get(input.name), opts.batchSize) };
  });
  const symbols = new Map<string, { value: number; input: string }>();
  for (const p of partial) {
    p.symbolic.forEach((sym, j) => {
      const v = p.sample[j];
      if (sym === undefined || v === null) return;
      const seen = symbols.get(sym);
      if (seen && seen.value !== v) {
        throw new UserError(
          "data",
          `Symbolic dim "${sym}" is ${seen.value} for input "${seen.input}" but ${v} for input "${p.input.name}"; inputs that share a dim name must agree, so give matching data or --input-shape values.`,
        );
      }
      if (!seen) symbols.set(sym, { value: v, input: p.input.name });
    });
  }

  // Pass 2: fill symbols shared with other inputs; anything still open is the user's to give.
  return partial.map((p): ResolvedInput => {
    const sample = p.sample.map((v, j) => v ?? (p.symbolic[j] !== undefined ? (symbols.get(p.symbolic[j]!)?.value ?? null) : null));
    const open = sample.flatMap((v, j) => (v === null ? [j] : []));
    if (open.length)
      throw unresolved(
        p.input,
        open.map((j) => j + 1),
      );
    const conversion = p.dataDtype ? `${p.input.name}: ${p.dataDtype} data is converted to ${p.dtype}.` : undefined;
    return {
      name: p.input.name,
      index: p.index,
      sampleDims: sample as number[],
      dtype: p.dtype,
      dataDtype: p.dataDtype,
      fixedBatch: p.fixedBatch,
      declared: formatDeclared(p.input.dims),
      conversion,
    };
  });
}

function checkDtype(input: ModelInput, dataDtype: DType | undefined): { dtype: DType; dataDtype: DType | undefined } {
  const dtype = input.dtype;
  if (!dtype || dtype === "string" || dtype === "bfloat16") {
    throw new UserError(
      "model",
      `Input "${input.name}" has type ${input.typeName}, which BN Lens cannot feed; it feeds float, integer and bool inputs.`,
    );
  }
  if (!dataDtype || dataDtype === dtype) return { dtype, dataDtype: undefined };
  const ok = isFloat(dtype)
    ? dataDtype !== "string"
    : isInteger(dtype)
      ? isInteger(dataDtype)
      : isInteger(dataDtype) || dataDtype === "bool";
  if (!ok) {
    const needs = isInteger(dtype) ? "integer data" : "bool or integer data";
    throw new UserError(
      "data",
      `Input "${input.name}" has type ${dtype} and needs ${needs}, but the data is ${dataDtype}; save it as ${dtype}.`,
    );
  }
  return { dtype, dataDtype };
}

interface SampleShape {
  /** Per-sample dims; null where still unknown. */
  sample: (number | null)[];
  /** The symbolic name of each per-sample dim, where it has one. */
  symbolic: (string | undefined)[];
  fixedBatch: number | undefined;
}

function sampleShape(input: ModelInput, o: ShapeOverride | undefined, d: DataSampleInfo | undefined, batchSize: number): SampleShape {
  const declared = input.dims;
  const name = input.name;
  const shown = formatDeclared(declared);
  if (declared && declared.length === 0) {
    throw new UserError(
      "model",
      `Input "${name}" is a scalar, so it has no sample axis to feed batches along; BN Lens feeds samples along the first dim of every input.`,
    );
  }
  if (o && declared && o.dims.length !== declared.length) {
    throw new UserError(
      "usage",
      `--input-shape ${o.text} gives ${o.dims.length} dims but input "${name}" has ${declared.length} (${shown}); give all ${declared.length}.`,
    );
  }

  // The leading dim is the batch: fixed by the model, or symbolic and taken from the batch size.
  const lead = declared?.[0];
  const fixedBatch = typeof lead === "number" ? lead : undefined;
  const userLead = o?.dims[0];
  if (typeof userLead === "number" && userLead !== batchSize && userLead !== fixedBatch) {
    const suggestion = `${name}:${["N", ...o!.dims.slice(1)].join("x")}`;
    throw new UserError(
      "usage",
      `--input-shape ${o!.text} sets the batch dim to ${userLead} but the batch size is ${batchSize}; write ${suggestion} to follow the batch size, or change the batch size.`,
    );
  }

  const rank = declared?.length ?? (o ? o.dims.length : d?.dims ? d.dims.length + 1 : undefined);
  if (rank === undefined) {
    throw new UserError(
      "data",
      `Input "${name}" declares no shape and the data does not give one; give it with --input-shape ${name}:NxD1xD2..., using numbers for D1, D2 and so on.`,
      undefined,
      { input: name, suggestion: `${name}:NxD1xD2...` },
    );
  }
  const sample: (number | null)[] = [];
  const symbolic: (string | undefined)[] = [];
  for (let j = 1; j < rank; j++) {
    const m = declared?.[j];
    const u = o?.dims[j];
    if (typeof m === "number") {
      if (typeof u === "number" && u !== m) {
        throw new UserError(
          "usage",
          `--input-shape ${o!.text} sets dim ${j} of input "${name}" to ${u}, but the model fixes it at ${m} (${shown}); use ${m}.`,
        );
      }
      sample.push(m);
      symbolic.push(undefined);
    } else {
      sample.push(typeof u === "number" ? u : null);
      symbolic.push(typeof m === "string" ? m : undefined);
    }
  }

  if (d?.dims) {
    if (!sameDims(sample, d.dims)) {
      const expected = sample.map((v, j) => v ?? symbolic[j] ?? "?");
      const whole = declared ? ` (model shape ${shown})` : "";
      const fromUser =
        o && sample.some((v, j) => v !== null && typeof declared?.[j + 1] !== "number") ? ` with --input-shape ${o.text}` : "";
      const single =
        d.count !== undefined && sameDims(sample, [d.count, ...d.dims])
          ? ` (it looks like one sample without the leading sample axis: add one, e.g. with numpy.expand_dims(a, 0))`
          : "";
      throw new UserError(
        "data",
        `Input "${name}" expects ${formatShape(expected)} per sample${whole}${fromUser}, but the data has ${formatShape(d.dims)}${single}; give data of that shape.`,
      );
    }
    d.dims.forEach((v, j) => (sample[j] = v));
  }
  return { sample, symbolic, fixedBatch };
}

function unresolved(input: ModelInput, dimIndices: number[]): UserError {
  const declared = input.dims;
  const named = dimIndices.every((j) => typeof declared?.[j] === "string");
  const unnamed = dimIndices.every((j) => typeof declared?.[j] !== "string");
  const label = (j: number) => {
    const m = declared?.[j];
    return typeof m === "string" ? m : unnamed ? String(j) : `dim ${j}`;
  };
  const placeholder = (j: number) => {
    const m = declared?.[j];
    return typeof m === "string" && /^[A-Za-z_][A-Za-z0-9_]{0,11}$/.test(m) ? `<${m}>` : `<d${j}>`;
  };
  const example = (declared ?? []).map((m, j) => (j === 0 ? "N" : dimIndices.includes(j) ? placeholder(j) : String(m))).join("x");
  return new UserError(
    "data",
    `Input "${input.name}" has ${named ? "symbolic" : "unknown"} dims ${dimIndices.map(label).join(", ")} (${formatDeclared(declared)}) that neither the data nor --input-shape gives; give them with --input-shape ${input.name}:${example}, putting numbers for ${dimIndices.map(placeholder).join(", ")}.`,
    undefined,
    { input: input.name, suggestion: `${input.name}:${example}` },
  );
}
