/**
 * `npm run fuzz -- --iterations N [--seed S] [--keep DIR]`: mutates real models and data files, runs them
 * through the inference process, and prints counts by outcome. Exits 1 when any case was a bug, a crash,
 * a hang or an unclean message; failing inputs are copied to DIR (default test-results/fuzz-failures).
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { acceptable, fuzz, tally } from "./fuzzer";
import { ROOT } from "../helpers/paths";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { iterations: { type: "string" }, seed: { type: "string" }, keep: { type: "string" } } });
  const iterations = Number(values.iterations ?? 200);
  const seed = Number(values.seed ?? Date.now() % 100000);
  const keep = values.keep ?? path.join(ROOT, "test-results", "fuzz-failures");
  console.log(`Fuzzing ${iterations} inputs from seed ${seed}…`);
  const started = performance.now();
  let n = 0;
  const outcomes = await fuzz({
    iterations,
    seed,
    keepFailures: keep,
    onCase: (o) => {
      n++;
      if (!acceptable(o))
        console.log(`  #${o.iteration} ${o.seed} ${o.target} ${o.mutator}: ${o.outcome}: ${o.message ?? ""}`.slice(0, 600));
      if (n % 500 === 0) console.log(`  … ${n} done`);
    },
  });
  const counts = tally(outcomes);
  const bad = outcomes.filter((o) => !acceptable(o));
  console.log(`\nOutcomes of ${outcomes.length} inputs (${((performance.now() - started) / 1000).toFixed(0)} s):`);
  for (const [k, v] of Object.entries(counts)) console.log(`  ${k.padEnd(16)} ${v}`);
  const messages = new Map<string, number>();
  for (const o of outcomes)
    if (o.message && acceptable(o))
      messages.set(
        o.message.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, "N"),
        (messages.get(o.message.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, "N")) ?? 0) + 1,
      );
  console.log(`\nDistinct user messages (shapes): ${messages.size}; most common:`);
  for (const [m, c] of [...messages.entries()].sort((a, b) => b[1] - a[1]).slice(0, process.env.FUZZ_ALL_MESSAGES ? 1000 : 12))
    console.log(`  ${String(c).padStart(5)}  ${m.slice(0, 160)}`);
  console.log(JSON.stringify({ iterations: outcomes.length, seed, counts }));
  if (bad.length) console.log(`\n${bad.length} unacceptable outcomes; inputs kept under ${keep}`);
  return bad.length ? 1 : 0;
}

main().then((code) => (process.exitCode = code));
