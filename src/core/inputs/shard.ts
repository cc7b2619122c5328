/**
 * Sharded runs: shard i of n takes the samples whose index k (in the data's own order, after --samples)
 * satisfies k mod n = i. The split depends only on the index, so it is the same for every data format,
 * disjoint, and its n shards cover every sample once; `bn-lens merge` of their reports is the one-run report.
 */
import { UserError } from "../errors";

/** One shard of a run: `index` in [0, count). */
export interface Shard {
  index: number;
  count: number;
}

/** Parses "i/n" (0-based i, as JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID with --array=0-(n-1) give it). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count)
    throw new UserError("usage", `--shard takes i/n with 0 <= i < n (shard i of n, counted from 0), like 0/4, not "${text}".`);
  return { index, count };
}

/** How many of `total` samples shard `s` holds. */
export function shardSize(total: number, s: Shard): number {
  return s.index >= total ? 0 : Math.floor((total - 1 - s.index) / s.count) + 1;
}

/** The data's own index of the shard's `j`-th sample. */
export function shardSampleIndex(j: number, s: Shard): number {
  return s.index + j * s.count;
}

/** What a merge of shard reports covers: "" for a complete set (or no shards), else a phrase for the data line. */
export function checkShards(
  shards: readonly ({ index: number; count: number; samplesTotal: number } | undefined)[],
  names: readonly string[],
): string {
  const given = shards.map((s, i) => ({ s, name: names[i] ?? `report ${i + 1}` })).filter((x) => x.s !== undefined);
  if (given.length === 0) return "";
  const { s: first, name: firstName } = given[0];
  const seen = new Map<number, string>();
  for (const { s, name } of given) {
    if (s!.count !== first!.count || s!.samplesTotal !== first!.samplesTotal)
      throw new UserError(
        "data",
        `${name} is shard ${s!.index}/${s!.count} of ${s!.samplesTotal} samples but ${firstName} is shard ${first!.index}/${first!.count} of ${first!.samplesTotal}; merge shards of one split only.`,
      );
    const twice = seen.get(s!.index);
    if (twice !== undefined)
      throw new UserError("data", `${name} and ${twice} are both shard ${s!.index}/${s!.count}; each shard may be merged once.`);
    seen.set(s!.index, name);
  }
  if (given.length === shards.length && seen.size === first!.count) return "";
  const have = [...seen.keys()].sort((a, b) => a - b);
  return `shards ${have.join(", ")} of ${first!.count} only`;
}
