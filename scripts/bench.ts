/**
 * `npm run bench`: BN Lens's performance figures (issues #5, #16). Prints each measurement, then one line
 * of JSON. Benchmarks print; they do not assert. `npm run bench -- --help` lists the options.
 *
 * The floor is plain inference of the model as BN Lens runs it ("optimized plain"): the same model with
 * the weights an old exporter listed as graph inputs turned into constants, the same session options,
 * batches and threads, a session created and released per run, the same in-memory samples (the 16 face
 * photos decoded once and repeated). Every figure is the median of interleaved runs in one process
 * (plain, fast, exact, plain, fast, exact, ...), so a busy machine slows all of them alike.
 *
 *   fastVsOptimizedPlain / exactVsOptimizedPlain   wall time of a full inspection (every BN layer, all
 *                      statistics, histograms and saturation, reading and rewriting the model, sessions,
 *                      the report) / optimized plain inference, at 1,024 samples (256 and 4,096 too).
 *   fixedCostMs, perSampleMs   wall time = fixed + perSample·n, fitted from 256 and 1,024 samples.
 *   fastVsUnmodifiedPlain ...  the same against plain inference of the model as stored (weights as inputs).
 *   threads            the ratios with onnxruntime's intra-op threads at 1 and 2 (256 samples, one round by default).
 *   memoryRatio        peak RSS of an exact inspection of 2,048 samples / of 256 samples (fresh processes; 4,096
 *                      with --large).
 *   recalibrationRatio, comparisonRatio   recalibrate, and inspect --baseline (an inspection plus the
 *                      comparison), as ratios to one exact inspection of the same samples.
 *
 * The default run is sized to finish in about 12 minutes on a 2-core machine: the headline sizes get
 * --repeats rounds, the secondary lines (threads, memory, recalibration, comparison) fewer rounds and
 * samples, and the output says which.
 *   panelFirstPaintMs  from the report arriving in the webview to the overview drawn, 300 BN layers,
 *                      headless Chromium (scripts/benchPanel.mjs).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type * as ort from "onnxruntime-node";
import { resolveInputs } from "../src/core/inputs/shapes";
import { decodeModel } from "../src/core/onnx/model";
import { rewriteModel } from "../src/core/onnx/rewrite";
import type { HostTensor } from "../src/core/tensor";
import { prepareData, type DataSource } from "../src/runtime/dataSources";
import { AUTO_EXACT_LIMIT_S, DEFAULT_MODE, inspect, type EngineHooks } from "../src/runtime/engine";
import { createSession, releaseSession, runBatch } from "../src/runtime/session";
import { FACE_DETECTOR, FACE_IMAGES, ROOT } from "../test/helpers/paths";
import { compareReports } from "../src/core/compare/compareReports";
import { VERSION } from "../src/core/version";
import { recalibrationFigure } from "./benchRecalibrate";

const MODEL = FACE_DETECTOR;
const PHOTOS = FACE_IMAGES;
const BATCH = 8;
const quiet: EngineHooks = { progress: () => undefined, log: () => undefined, cancelled: () => false };

type Photos = { sample: Float32Array[]; dims: number[] };
/** What one timed run does. */
type Subject = "plain" | "unmodified" | "fast" | "exact";

/** The 16 photos decoded once with the authors' preprocessing, as one float32 sample each. */
async function decodePhotos(): Promise<Photos> {
  const model = decodeModel(fs.readFileSync(MODEL));
  const { source } = await prepareData({ path: PHOTOS, image: { mean: [127], std: [128] } }, model.inputs, { batchSize: 16 });
  const all = (await source.read(0, 16)).input;
  await source.close();
  const per = all.data.length / 16;
  return {
    sample: Array.from({ length: 16 }, (_, i) => (all.data as Float32Array).slice(i * per, (i + 1) * per)),
    dims: all.dims.slice(1),
  };
}

/** A data source that repeats decoded photos to `total` samples, so decoding is not timed. */
function memorySource(photos: Photos, total: number): DataSource {
  return {
    info: { kind: "images", sampleCount: total, inputs: new Map(), description: `${total} samples (16 face photos repeated)` },
    open: async () => ({ description: "decoded in memory", notes: [] }),
    read: async (start, count) => {
      const per = photos.sample[0].length;
      const data = new Float32Array(count * per);
      for (let i = 0; i < count; i++) data.set(photos.sample[(start + i) % 16], i * per);
      return { input: { dtype: "float32", dims: [count, ...photos.dims], data } satisfies HostTensor };
    },
    close: async () => undefined,
  };
}

function openMemory(photos: Photos, total: number): typeof prepareData {
  return async (_options, modelInputs, shapes) => {
    const inputs = resolveInputs({ inputs: modelInputs, overrides: shapes.inputShapes ?? [], batchSize: shapes.batchSize });
    const source = memorySource(photos, total);
    return { source, inputs, opened: await source.open(inputs) };
  };
}

/**
 * Plain inference the way the engine runs batches: read, decode and rewrite the model (batch dim freed),
 * create a session, run every batch, release. `optimized` turns the weights the old exporter listed as
 * graph inputs into constants, as BN Lens does: onnxruntime can then fold, fuse and pre-pack them.
 */
async function plainRun(photos: Photos, total: number, optimized: boolean, threads: number | undefined): Promise<number> {
  const started = performance.now();
  const bytes = fs.readFileSync(MODEL);
  const model = decodeModel(bytes);
  const edited = rewriteModel(bytes, model, {
    inputDims: new Map([["input", ["N", ...photos.dims]]]),
    dropShapeHints: true,
    dropInitializerInputs: optimized,
  });
  let session: ort.InferenceSession | undefined;
  try {
    session = await createSession(edited, path.dirname(MODEL), { intraOpNumThreads: threads });
    const source = memorySource(photos, total);
    for (let start = 0; start < total; start += BATCH) {
      const feeds = await source.read(start, Math.min(BATCH, total - start));
      await runBatch(session, feeds, model.outputs);
    }
  } finally {
    await releaseSession(session);
  }
  return performance.now() - started;
}

async function inspectRun(photos: Photos, total: number, mode: "exact" | "fast", threads: number | undefined): Promise<number> {
  const started = performance.now();
  await inspect({ modelPath: MODEL, batchSize: BATCH, mode, intraOpNumThreads: threads }, quiet, { openData: openMemory(photos, total) });
  return performance.now() - started;
}

function timeOne(photos: Photos, subject: Subject, total: number, threads?: number): Promise<number> {
  if (subject === "plain" || subject === "unmodified") return plainRun(photos, total, subject === "plain", threads);
  return inspectRun(photos, total, subject, threads);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Medians of interleaved runs: every subject once per round, `repeats` rounds. */
async function interleaved(
  photos: Photos,
  subjects: readonly Subject[],
  total: number,
  repeats: number,
  threads?: number,
): Promise<Record<Subject, number>> {
  const times = new Map<Subject, number[]>(subjects.map((s) => [s, []]));
  for (let r = 0; r < repeats; r++) for (const s of subjects) times.get(s)!.push(await timeOne(photos, s, total, threads));
  return Object.fromEntries(subjects.map((s) => [s, median(times.get(s)!)])) as Record<Subject, number>;
}

/** In a fresh process: inspect `n` photos from a folder of links and report the peak resident memory. */
async function memoryChild(n: number, mode: "exact" | "fast"): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-bench-photos-"));
  try {
    const photos = fs
      .readdirSync(PHOTOS)
      .filter((f) => f.endsWith(".jpg"))
      .sort();
    for (let i = 0; i < n; i++)
      fs.symlinkSync(path.join(PHOTOS, photos[i % photos.length]), path.join(dir, `${String(i).padStart(5, "0")}.jpg`));
    const started = performance.now();
    const report = await inspect({ modelPath: MODEL, dataPath: dir, imageMean: [127], imageStd: [128], batchSize: BATCH, mode }, quiet);
    // VmHWM, not getrusage's maxRSS: the latter survives exec and so includes this benchmark's own
    // parent process, whose pages the child shared between fork and exec.
    const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
    const peakKb = hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS;
    process.stdout.write(
      JSON.stringify({ samples: report.samples, peakRssMb: peakKb / 1024, elapsedMs: performance.now() - started }) + "\n",
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function runMemoryChild(n: number, mode: "exact" | "fast"): { samples: number; peakRssMb: number; elapsedMs: number } {
  const r = spawnSync(process.execPath, [__filename, "--memory-child", String(n), "--mode", mode], {
    encoding: "utf8",
    timeout: 1_800_000,
  });
  if (r.status !== 0) throw new Error(`memory run of ${n} samples failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

function panelFirstPaint(): number | null {
  const script = path.join(ROOT, "scripts", "benchPanel.mjs");
  if (!fs.existsSync(script)) return null;
  const r = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 300_000, cwd: ROOT });
  const line = r.stdout
    .trim()
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  if (!line) {
    console.log(`  panel benchmark failed: ${r.stderr.slice(-500)}`);
    return null;
  }
  const v = JSON.parse(line).panelFirstPaintMs;
  return typeof v === "number" ? v : null;
}

/**
 * Activation time and time to open the model view (without running), measured inside a real VS Code by
 * the extension-host test that opens the face detector (it writes test-results/extension-host/timings.json).
 */
function extensionTimings(): { activationMs: number; openToDescribedMs: number; describeMs: number } | null {
  const timings = path.join(ROOT, "test-results", "extension-host", "timings.json");
  fs.rmSync(timings, { force: true });
  const build = spawnSync(process.execPath, [path.join(ROOT, "scripts", "build.mjs"), "--tests"], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) return null;
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, "scripts", "runExtensionTests.mjs"), "--grep", "is the default editor of .onnx files"],
    { cwd: ROOT, encoding: "utf8", timeout: 600_000 },
  );
  if (r.status !== 0 || !fs.existsSync(timings)) {
    console.log(`  extension timings unavailable (${(r.stderr || r.stdout).trim().split("\n").pop()})`);
    return null;
  }
  return JSON.parse(fs.readFileSync(timings, "utf8"));
}

async function printRecalibration(photos: { sample: Float32Array[]; dims: number[] }, samples: number) {
  const r = await recalibrationFigure(MODEL, openMemory(photos, samples), quiet);
  console.log(
    `recalibrate ${samples} samples: ${(r.recalibrateMs / 1000).toFixed(1)} s (${r.method}, ${r.passes} exact passes) / one exact inspection ${(r.inspectMs / 1000).toFixed(1)} s = ${r.ratio.toFixed(2)}x`,
  );
  return r;
}

/**
 * `inspect --baseline A` on data B: one inspection of B plus the comparison with A's report, as a ratio to the
 * inspection alone. A and B are the first and the last 8 photos, each repeated to `samples`.
 */
async function printComparison(photos: Photos, samples: number, mode: "exact" | "fast") {
  const half = (from: number): Photos => ({
    sample: Array.from({ length: 16 }, (_, i) => photos.sample[from + (i % 8)]),
    dims: photos.dims,
  });
  const run = (p: Photos) => inspect({ modelPath: MODEL, batchSize: BATCH, mode }, quiet, { openData: openMemory(p, samples) });
  const a = await run(half(0));
  let started = performance.now();
  const b = await run(half(8));
  const inspectMs = performance.now() - started;
  started = performance.now();
  const comparison = compareReports(a, b, { generatorVersion: VERSION });
  const compareMs = performance.now() - started;
  const ratio = (inspectMs + compareMs) / inspectMs;
  console.log(
    `compare   ${samples} samples, ${mode} mode: inspection of B ${(inspectMs / 1000).toFixed(1)} s + comparison with A ${compareMs.toFixed(0)} ms (${comparison.layers.length} layers) = ${ratio.toFixed(3)}x one inspection`,
  );
  return { ratio, compareMs };
}
const HELP = `npm run bench -- [options]
  --repeats N      interleaved rounds of the headline sizes (default 3; the median is reported)
  --full           secondary lines at full size: threads at 1,024 samples with --repeats rounds, memory 4,096 vs 256
                   samples, recalibration and comparison on 256 samples (about twice as long)
  --large          also measure 4,096 samples (one round; adds several minutes)
  --quick          headline at 256 and 1,024 samples only, one round: no threads, memory, panel or extension figures
  --comparison-only [--samples N]   only the comparison figure
  --no-extension   skip the extension-host timings (they start VS Code)
  --only plain|unmodified|fast|exact [--samples N] [--repeats N]   time one subject alone (for profiling)`;

const r3 = (x: number) => Number(x.toFixed(3));
const s1 = (ms: number) => `${(ms / 1000).toFixed(2)} s`.padStart(8);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "memory-child": { type: "string" },
      mode: { type: "string" },
      repeats: { type: "string" },
      quick: { type: "boolean" },
      "recalibration-only": { type: "boolean" },
      "comparison-only": { type: "boolean" },
      large: { type: "boolean" },
      full: { type: "boolean" },
      "no-extension": { type: "boolean" },
      help: { type: "boolean" },
      only: { type: "string" },
      samples: { type: "string" },
    },
  });
  if (values.help) return void console.log(HELP);
  if (values["memory-child"]) return memoryChild(Number(values["memory-child"]), (values.mode as "exact" | "fast") ?? "exact");
  if (values["comparison-only"]) {
    const c = await printComparison(await decodePhotos(), Number(values.samples ?? 128), "exact");
    console.log(JSON.stringify({ comparisonRatio: Number(c.ratio.toFixed(3)) }));
    return;
  }
  if (values["recalibration-only"]) {
    const recal = await printRecalibration(await decodePhotos(), 256);
    console.log(JSON.stringify({ recalibrationRatio: Number(recal.ratio.toFixed(3)) }));
    return;
  }
  if (values.only) {
    // One subject, for profiling (node --cpu-prof out/tools/bench.js --only exact --samples 256).
    const photos = await decodePhotos();
    const n = Number(values.samples ?? 256);
    await timeOne(photos, values.only as Subject, 32);
    const times = [];
    for (let r = 0; r < Number(values.repeats ?? 1); r++) times.push(await timeOne(photos, values.only as Subject, n));
    return void console.log(`${values.only} ${n} samples: ${times.map((t) => t.toFixed(0)).join(", ")} ms`);
  }
  const benchStarted = performance.now();
  const repeats = values.quick ? 1 : Number(values.repeats ?? 3);
  console.log(
    `BN Lens benchmark — ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  );
  console.log(
    `Model: face detector RFB-320 (35 BN layers); its 16 photos decoded once and repeated; batch ${BATCH}; threads unless stated: plain onnxruntime's default, inspections BN Lens's (onnxruntime one thread fewer than the cores, the statistics beside it).`,
  );
  console.log(
    `"plain" = plain inference of the model as BN Lens runs it (weights as constants), same session options; "unmodified" = the model as stored (its weights are graph inputs).`,
  );
  console.log(
    `Modes: fast and exact as named (the CLI's default is ${DEFAULT_MODE}: exact unless measuring every value would take over ${AUTO_EXACT_LIMIT_S} s).`,
  );
  const full = Boolean(values.full);
  // The secondary lines are smaller by default so the whole run stays near 12 minutes on 2 cores.
  const threadSamples = full ? 1024 : 256;
  const threadRepeats = full ? repeats : 1;
  const memoryLarge = full || values.large ? 4096 : 2048;
  const sideSamples = full ? 256 : 128;
  console.log(`Each headline time is the median of ${repeats} interleaved round(s) (plain, unmodified, fast, exact) in this process.`);
  if (!values.quick)
    console.log(
      full
        ? "Secondary lines at full size (--full).\n"
        : `Secondary lines are smaller to keep the run near 12 minutes: threads at ${threadSamples} samples, ${threadRepeats} round; memory ${memoryLarge} vs 256 samples; recalibration and comparison on ${sideSamples} samples (--full for the full sizes).\n`,
    );
  else console.log("");
  const photos = await decodePhotos();
  // Warm-up: JIT, onnxruntime's thread pool, page cache.
  for (const s of ["plain", "unmodified", "fast", "exact"] as const) await timeOne(photos, s, 32);

  const subjects: Subject[] = ["plain", "unmodified", "fast", "exact"];
  const sizes = [256, 1024];
  const bySize = new Map<number, Record<Subject, number>>();
  const line = (n: number, t: Record<Subject, number>) =>
    console.log(
      `${String(n).padStart(5)} samples  plain ${s1(t.plain)}  unmodified ${s1(t.unmodified)} | fast ${s1(t.fast)} = ${(t.fast / t.plain).toFixed(2)}x plain (${(t.fast / t.unmodified).toFixed(2)}x unmodified)` +
        ` | exact ${s1(t.exact)} = ${(t.exact / t.plain).toFixed(2)}x plain (${(t.exact / t.unmodified).toFixed(2)}x unmodified)`,
    );
  for (const n of sizes) {
    const t = await interleaved(photos, subjects, n, repeats);
    bySize.set(n, t);
    line(n, t);
  }
  if (values.large) {
    const t = await interleaved(photos, subjects, 4096, 1);
    bySize.set(4096, t);
    line(4096, t);
  }
  // time = fixed + perSample * n through the 256- and 1,024-sample medians.
  const fit = (s: Subject) => {
    const a = bySize.get(256)![s],
      b = bySize.get(1024)![s];
    const perSampleMs = (b - a) / (1024 - 256);
    return { fixedCostMs: a - perSampleMs * 256, perSampleMs };
  };
  const fits = Object.fromEntries(subjects.map((s) => [s, fit(s)])) as Record<Subject, { fixedCostMs: number; perSampleMs: number }>;
  console.log("\ntime = fixed + per sample x n (fitted through 256 and 1,024 samples):");
  for (const s of subjects) {
    const f = fits[s];
    const extra = s === "fast" || s === "exact" ? `; per sample ${(f.perSampleMs / fits.plain.perSampleMs).toFixed(2)}x plain's` : "";
    console.log(
      `  ${s.padEnd(10)} fixed ${f.fixedCostMs.toFixed(0).padStart(5)} ms, per sample ${f.perSampleMs.toFixed(2).padStart(6)} ms${extra}`,
    );
  }

  const threads: Record<string, { plainMs: number; fastVsOptimizedPlain: number; exactVsOptimizedPlain: number }> = {};
  if (!values.quick) {
    console.log(
      `\nonnxruntime intra-op threads, ${threadSamples.toLocaleString("en-US")} samples, ${threadRepeats === 1 ? "one round" : `median of ${threadRepeats} rounds`}:`,
    );
    for (const k of [1, 2, ...(os.cpus().length > 2 ? [os.cpus().length] : [])]) {
      const t = await interleaved(photos, ["plain", "fast", "exact"], threadSamples, threadRepeats, k);
      threads[k] = {
        plainMs: Math.round(t.plain),
        fastVsOptimizedPlain: r3(t.fast / t.plain),
        exactVsOptimizedPlain: r3(t.exact / t.plain),
      };
      console.log(
        `  threads ${k}: plain ${s1(t.plain)}, fast ${s1(t.fast)} = ${(t.fast / t.plain).toFixed(2)}x, exact ${s1(t.exact)} = ${(t.exact / t.plain).toFixed(2)}x` +
          (k > 1 && threads[1] ? `; plain ${(threads[1].plainMs / t.plain).toFixed(2)}x faster than with 1 thread` : ""),
      );
    }
  }

  // Exact mode holds the most per batch (every captured value), so it is the stricter memory test.
  const memory = values.quick
    ? []
    : (["exact", "fast"] as const).map((mode) => {
        const small = runMemoryChild(256, mode);
        const large = runMemoryChild(memoryLarge, mode);
        const ratio = large.peakRssMb / small.peakRssMb;
        console.log(
          `${mode === "exact" ? "\n" : ""}memory    mode ${mode.padEnd(5)} ${small.samples} photos from disk: peak ${small.peakRssMb.toFixed(0)} MB (${(small.elapsedMs / 1000).toFixed(1)} s); ${large.samples}: peak ${large.peakRssMb.toFixed(0)} MB (${(large.elapsedMs / 1000).toFixed(1)} s); ratio ${ratio.toFixed(3)}`,
        );
        return { mode, small, large, ratio };
      });
  const panelFirstPaintMs = values.quick ? null : panelFirstPaint();
  if (!values.quick)
    console.log(
      `panel     first paint of the overview, 300 BN layers: ${panelFirstPaintMs === null ? "n/a" : `${panelFirstPaintMs.toFixed(1)} ms`}`,
    );
  const ext = values.quick || values["no-extension"] ? null : extensionTimings();
  if (ext) {
    console.log(
      `extension activation ${ext.activationMs.toFixed(1)} ms; open the face detector's model view until its layers are shown ${ext.openToDescribedMs.toFixed(0)} ms (describe in the inference process ${ext.describeMs.toFixed(0)} ms)`,
    );
  }
  const recal = await printRecalibration(photos, sideSamples);
  const comparison = values.quick ? null : await printComparison(photos, sideSamples, "exact");
  const at = (n: number) => bySize.get(n)!;
  const ratios = (n: number) => ({ fast: r3(at(n).fast / at(n).plain), exact: r3(at(n).exact / at(n).plain) });
  const benchS = (performance.now() - benchStarted) / 1000;
  console.log(`\nbenchmark took ${benchS.toFixed(0)} s`);
  const summary = {
    fastVsOptimizedPlain: ratios(1024).fast,
    exactVsOptimizedPlain: ratios(1024).exact,
    vsOptimizedPlain: Object.fromEntries([...bySize.keys()].map((n) => [n, ratios(n)])),
    fastVsUnmodifiedPlain: r3(at(1024).fast / at(1024).unmodified),
    exactVsUnmodifiedPlain: r3(at(1024).exact / at(1024).unmodified),
    optimizedPlainMs: Object.fromEntries([...bySize.keys()].map((n) => [n, Math.round(at(n).plain)])),
    fixedCostMs: Object.fromEntries(subjects.map((s) => [s, Math.round(fits[s].fixedCostMs)])),
    perSampleMs: Object.fromEntries(subjects.map((s) => [s, r3(fits[s].perSampleMs)])),
    threads,
    memoryRatio: memory.length ? r3(memory[0].ratio) : null,
    fastMemoryRatio: memory.length ? r3(memory[1].ratio) : null,
    peakRssMb: Object.fromEntries(
      memory.flatMap((m) => [
        [`${m.mode}_${m.small.samples}`, Math.round(m.small.peakRssMb)],
        [`${m.mode}_${m.large.samples}`, Math.round(m.large.peakRssMb)],
      ]),
    ),
    panelFirstPaintMs,
    activationMs: ext ? Number(ext.activationMs.toFixed(1)) : null,
    openModelViewMs: ext ? Math.round(ext.openToDescribedMs) : null,
    recalibrationRatio: Number(recal.ratio.toFixed(3)),
    comparisonRatio: comparison ? Number(comparison.ratio.toFixed(3)) : null,
    secondary: values.quick
      ? null
      : {
          threadSamples,
          threadRepeats,
          memorySamples: [256, memoryLarge],
          recalibrationSamples: sideSamples,
          comparisonSamples: sideSamples,
        },
    repeats,
    benchSeconds: Math.round(benchS),
  };
  console.log(JSON.stringify(summary));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
