// Seeded random data (no --data): normal or uniform values of the shape the model takes.
import { UserError } from "../../core/errors";
import { checkRandomInput, checkRandomSpec, DEFAULT_RANDOM, describeRandom, randomBatch } from "../../core/inputs/random";
import type { ResolvedInput } from "../../core/inputs/shapes";
import type { HostTensor } from "../../core/tensor";
import type { DataOptions, DataInfo, DataSource, DataReader } from "./dataSource";
import { checkRange } from "./files";

/** The default number of random samples. */
export const DEFAULT_RANDOM_SAMPLES = 64;

/** Random data: chosen when no path is given. */
export const randomReader: DataReader = {
  kind: "random",
  extensions: [],
  match: (t) => (t.path === undefined ? "random data" : false),
  open: async (_t, c) => randomSource(c.options, c.cap ?? DEFAULT_RANDOM_SAMPLES),
};

function randomSource(options: DataOptions, count: number): DataSource {
  const spec = options.random ?? DEFAULT_RANDOM;
  checkRandomSpec(spec);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new UserError("usage", `--seed must be a whole number, not ${seed}.`);
  let inputs: readonly ResolvedInput[] = [];
  const info: DataInfo = {
    kind: "random",
    sampleCount: count,
    inputs: new Map(),
    description: `${count} random samples, ${describeRandom(spec)}, seed ${seed}`,
  };
  return {
    info,
    async open(resolved) {
      for (const r of resolved) checkRandomInput(r.name, r.dtype);
      inputs = resolved;
      return { description: `random ${describeRandom(spec)}`, notes: [] };
    },
    async read(start, n) {
      checkRange(info, start, n);
      const out: Record<string, HostTensor> = {};
      for (const r of inputs) out[r.name] = randomBatch(spec, seed, r.index, start, n, r.sampleDims, r.dtype);
      return out;
    },
    async close() {},
  };
}
