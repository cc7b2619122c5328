/**
 * A data source that reads one shard of another (samples k with k mod n = i, see core/inputs/shard.ts),
 * one sample at a time from the underlying source, so every format shards the same way.
 */
import { UserError } from "../core/errors";
import { shardSampleIndex, shardSize, type Shard } from "../core/inputs/shard";
import type { HostTensor } from "../core/tensor";
import { concatSamples } from "./data/files";
import type { DataSource } from "./dataSources";

/** The shard `s` of `source`; the shard's sample j is the source's sample i + j*n. */
export function shardSource(source: DataSource, s: Shard): DataSource {
  if (!(Number.isSafeInteger(s.index) && Number.isSafeInteger(s.count) && s.count >= 1 && s.index >= 0 && s.index < s.count))
    throw new UserError("usage", `A shard is i/n with 0 <= i < n, not ${s.index}/${s.count}.`);
  const total = source.info.sampleCount;
  const size = shardSize(total, s);
  if (size === 0)
    throw new UserError(
      "data",
      `Shard ${s.index}/${s.count} has no samples: the data holds ${total} sample${total === 1 ? "" : "s"}, fewer than ${s.index + 1}; use at most ${total} shards.`,
    );
  return {
    info: {
      ...source.info,
      sampleCount: size,
      description: `${source.info.description}; shard ${s.index}/${s.count}: samples k with k mod ${s.count} = ${s.index}, ${size} of ${total}`,
    },
    open: (inputs) => source.open(inputs),
    async read(start, count) {
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 1 || start + count > size)
        throw new RangeError(`read(${start}, ${count}) is outside shard samples [0, ${size})`);
      if (s.count === 1) return source.read(start, count);
      const parts: Record<string, HostTensor>[] = [];
      for (let j = start; j < start + count; j++) parts.push(await source.read(shardSampleIndex(j, s), 1));
      return join(parts);
    },
    close: () => source.close(),
  };
}

function join(parts: Record<string, HostTensor>[]): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const name of Object.keys(parts[0])) out[name] = concatSamples(parts.map((p) => p[name]));
  return out;
}
