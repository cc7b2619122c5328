/**
 * bn-lens: the command-line face of BN Lens, on the same core and inference process as the extension.
 *
 *   bn-lens inspect MODEL [--data PATH] [--samples N] [--batch N] [--seed N]
 *                   [--input-shape NAME:D0xD1x...]... [--mean a,b,c] [--std a,b,c] [--bgr] [--json OUT]
 *                   [--baseline A.json [--compare-json OUT]]
 *   bn-lens compare A.json B.json [--json OUT] [--html OUT] [--drift-warning X] [--drift-error X] [--noise-factor X] ...
 *                   [--shard i/n] [--sarif OUT] [--html OUT] [--model-explorer DIR] [--fail-on error|warning|info]
 *   bn-lens html REPORT.json|COMPARISON.json -o OUT.html
 *   bn-lens check MODEL [inspect's options] (inspect with --fail-on error by default)
 *   bn-lens merge REPORT.json... --json OUT
 *   bn-lens describe MODEL [--json OUT]
 *   bn-lens demo [--json OUT]
 *
 * Exit codes: 0 success; 2 bad usage or bad input (one "error:" line on stderr); 1 a bug in BN Lens;
 * 3 findings at or above --fail-on.
 */
import { jsonFilePieces, reportJsonPieces, type HistogramDetail } from "../core/inspect/reportJson";
import * as fs from "node:fs";
import * as path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { UserError, isUserError } from "../core/errors";
import { parseShard } from "../core/inputs/shard";
import { describeBatchDependence } from "../core/stats/batchDependence";
import { formatBatchStudy, formatModelDescription, formatReport } from "./table";
import type { Report, Severity } from "../core/report";
import { VERSION } from "../core/version";
import type { InspectRequest } from "../protocol/worker";
import { InspectorClient, WorkerError } from "../runtime/client";
import { COMPARE_THRESHOLD_OPTIONS, compareCommand, compareThresholdOptions, printComparison } from "./compareCommand";
import { demoModelPath, writeDemoModel } from "./demo";
import { checkOutputPath, writeFileAtomic } from "./output";
import { rerunWithHeapFor } from "./heapLimit";
import { mergeReportFiles } from "./mergeFiles";
import { readReportFile, readReportOrComparison, refuseInputAsOutput, refuseSameFiles } from "./reportFiles";
import { RECALIBRATE_HELP, RECALIBRATE_USAGE, recalibrateCommand } from "./recalibrateCommand";
import { SHARE_OPTIONS, gate, parseFailOn, writeComparisonHtml, writeShareOutputs } from "./shareOutputs";
import { DATA_OPTIONS, intOption, numberList, usage } from "./options";

const USAGE = `Usage:
  bn-lens inspect MODEL [--data PATH] [--samples N] [--batch N] [--seed N]
                  [--input-shape NAME:D0xD1x...]... [--mean a,b,c] [--std a,b,c] [--bgr]
                  [--random normal|uniform] [--mode auto|exact|fast] [--threads N] [--json OUT]
                  [--train-batch N] [--batch-study] [--random-is-domain]
                  [--baseline A.json [--compare-json OUT]]
                  [--shard i/n] [--sarif OUT] [--html OUT] [--model-explorer DIR] [--fail-on error|warning|info]
                  [--histograms per-channel|layer]
  bn-lens check MODEL [inspect's options]
  bn-lens compare A.json B.json [--json OUT] [--html OUT] [--drift-warning 0.1] [--drift-error 0.2] [--noise-factor 3]
                  [--flat-change-warning 0.1] [--flat-change-error 0.3]
  bn-lens merge REPORT.json... --json OUT [--batch-study] [--sarif OUT] [--html OUT] [--model-explorer DIR]
                  [--fail-on error|warning|info]
  bn-lens html REPORT.json|COMPARISON.json -o OUT.html
  bn-lens describe MODEL [--json OUT]
  bn-lens demo [--json OUT]
${RECALIBRATE_USAGE}

inspect   runs MODEL on the data (seeded random data when --data is absent), captures the values before
          and after every BatchNormalization layer, prints a per-layer table with warnings, and writes
          the JSON report to OUT.
          --train-batch N judges the training batch size against the batch-size study; --batch-study prints
          that study; --random-is-domain treats random inputs as the model's own data (models calibrated on
          random inputs, like the demo), so stale statistics are judged on them.
          With --baseline A.json it compares this run (B) with the report A of the same model instead:
          the per-layer drift table, where the shift starts, the findings; --html OUT then writes the
          comparison's page (--json still writes this run's inspection report).
compare   compares report B with baseline report A of the same model, layer by layer in graph order. A channel
          has shifted when the Jensen-Shannon distance of its pre-BN histograms reaches --drift-warning and
          --noise-factor times its noise floor; the threshold options work with inspect --baseline too.
check     inspect for CI: exits with code 3 when a finding reaches --fail-on (default error).
merge     combines reports of disjoint shards of the data into the report of one run over all of it.
html      writes a report or a comparison as one self-contained HTML page (the panel, offline; the summary
          reads without JavaScript).
describe  shows what the model stores (BN parameters, what follows each BN) without running it.
demo      builds BN Lens's example model with planted problems and inspects it.
${RECALIBRATE_HELP}

Exit codes: 0 success; 1 a bug in BN Lens; 2 bad usage or bad input; 3 findings at or above --fail-on.`;

const EXIT_OK = 0;
const EXIT_BUG = 1;
const EXIT_USAGE = 2;

function workerPath(): string {
  return path.join(__dirname, "worker.js");
}

function writeJson(file: string, value: unknown, pieces?: Iterable<string>): void {
  // Piece by piece: a report of hundreds of layers of thousands of channels is too large for one string.
  writeFileAtomic(file, pieces ?? jsonFilePieces(value));
}

/** Exit codes of a run stopped by a signal, as shells report them (128 + signal number). */
const SIGNAL_EXIT: Record<"SIGINT" | "SIGTERM", number> = { SIGINT: 130, SIGTERM: 143 };
let stoppedBy: "SIGINT" | "SIGTERM" | undefined;

async function runInspect(
  request: InspectRequest,
  jsonOut: string | undefined,
  histograms: HistogramDetail = "per-channel",
): Promise<Report> {
  // BN_LENS_DEBUG_HOST=1 reports, on stderr, how long this (host) process's event loop was ever blocked
  // during the run and whether onnxruntime was loaded here: the tests use it to check the host stays free.
  const loop = process.env.BN_LENS_DEBUG_HOST ? monitorEventLoopDelay({ resolution: 10 }) : undefined;
  loop?.enable();
  const client = new InspectorClient(workerPath());
  const tty = process.stderr.isTTY;
  const run = client.inspect(request, {
    progress: (p) => {
      if (tty && p.phase === "running") process.stderr.write(`\r${p.message} (${(p.elapsedMs / 1000).toFixed(1)} s)   `);
    },
  });
  // Ctrl-C (SIGINT to the whole process group) and SIGTERM cancel after the current batch; the inference
  // process runs in its own process group, so only this process receives them and it cancels the run.
  // A second signal stops at once.
  let forced: (() => void) | undefined;
  const forcedStop = new Promise<never>((_, reject) => {
    forced = () => reject(new UserError("cancelled", "The inspection was stopped; no report was written."));
  });
  const onSignal = (signal: "SIGINT" | "SIGTERM") => {
    if (stoppedBy) {
      client.dispose();
      forced?.();
      return;
    }
    stoppedBy = signal;
    process.stderr.write(
      `${tty ? "\r\x1b[K" : ""}Cancelling after the current batch (${signal === "SIGINT" ? "Ctrl-C" : "SIGTERM"} again stops at once)…\n`,
    );
    run.cancel();
  };
  const onInt = () => onSignal("SIGINT");
  const onTerm = () => onSignal("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    const report = await Promise.race([run.result, forcedStop]);
    if (tty) process.stderr.write("\r\x1b[K");
    // A signal that arrived while the last batch finished still cancels: nothing is written.
    if (stoppedBy) throw new UserError("cancelled", "The inspection was cancelled; no report was written.");
    if (jsonOut) writeJson(jsonOut, report, reportJsonPieces(report, { histograms }));
    return report;
  } finally {
    process.removeListener("SIGINT", onInt);
    process.removeListener("SIGTERM", onTerm);
    client.dispose();
    if (loop) {
      loop.disable();
      const ort = Object.keys(require.cache).some((k) => k.includes("onnxruntime"));
      process.stderr.write(`debug: host event loop max delay ${(loop.max / 1e6).toFixed(1)} ms; onnxruntime loaded in host: ${ort}\n`);
    }
  }
}

async function inspectCommand(args: string[], defaultFailOn?: Severity): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...DATA_OPTIONS,
      random: { type: "string" },
      mode: { type: "string" },
      json: { type: "string" },
      "train-batch": { type: "string" },
      "batch-study": { type: "boolean" },
      "random-is-domain": { type: "boolean" },
      baseline: { type: "string" },
      "compare-json": { type: "string" },
      ...COMPARE_THRESHOLD_OPTIONS,
      shard: { type: "string" },
      ...SHARE_OPTIONS,
      histograms: { type: "string" },
    },
  });
  if (positionals.length !== 1)
    throw usage(positionals.length ? `inspect takes one model, got ${positionals.length}` : "inspect needs a model file");
  if (values.random !== undefined && values.random !== "normal" && values.random !== "uniform")
    throw usage(`--random is normal or uniform, not "${values.random}"`);
  if (values.random !== undefined && values.data !== undefined) throw usage("--random and --data exclude each other");
  if (values.histograms !== undefined && values.histograms !== "per-channel" && values.histograms !== "layer")
    throw usage(`--histograms is per-channel or layer, not "${values.histograms}"`);
  if (values.mode !== undefined && !["exact", "fast", "auto"].includes(values.mode))
    throw usage(`--mode is exact, fast or auto, not "${values.mode}"`);
  const failOn = parseFailOn(values["fail-on"], defaultFailOn);
  const request: InspectRequest = {
    modelPath: path.resolve(positionals[0]),
    dataPath: values.data !== undefined ? path.resolve(values.data) : undefined,
    random: values.random as InspectRequest["random"],
    samples: intOption(values.samples, "samples", 1),
    batchSize: intOption(values.batch, "batch", 1),
    seed: intOption(values.seed, "seed", 0),
    inputShapes: values["input-shape"],
    imageMean: numberList(values.mean, "mean"),
    imageStd: numberList(values.std, "std"),
    bgr: values.bgr,
    mode: values.mode as InspectRequest["mode"],
    intraOpNumThreads: intOption(values.threads, "threads", 1),
    trainBatch: intOption(values["train-batch"], "train-batch", 1),
    randomIsDomain: values["random-is-domain"],
    shard: values.shard !== undefined ? parseShard(values.shard) : undefined,
  };
  if (values["random-is-domain"] && values.data !== undefined) throw usage("--random-is-domain applies to random data, not --data");
  if (!fs.existsSync(request.modelPath)) throw new UserError("data", `The model file ${positionals[0]} does not exist.`);
  if (values["compare-json"] !== undefined && values.baseline === undefined) throw usage("--compare-json needs --baseline A.json");
  const inspectionOnly = (["sarif", "model-explorer", "fail-on"] as const).filter((k) => values[k] !== undefined);
  if (values.baseline !== undefined && inspectionOnly.length)
    throw usage(
      `--${inspectionOnly[0]} describes an inspection, not a comparison: leave it out with --baseline (--html writes the comparison's page)`,
    );
  const compareThresholds = compareThresholdOptions(values);
  const inputs = [request.modelPath, ...(request.dataPath ? [request.dataPath] : []), ...(values.baseline ? [values.baseline] : [])];
  const jsonOut = values.json !== undefined ? checkOutputPath(values.json, "--json", inputs) : undefined;
  // Read the baseline before running, so a wrong file is refused before the inference starts.
  const baseline = values.baseline !== undefined ? readReportFile(values.baseline) : undefined;
  if (values.baseline !== undefined) {
    refuseInputAsOutput(values["compare-json"], [...inputs, ...(jsonOut ? [jsonOut] : [])], "the comparison");
    const outputs = [jsonOut, values["compare-json"]].filter((f): f is string => f !== undefined);
    refuseInputAsOutput(values.html, [...inputs, ...outputs], "the HTML report");
  }
  const report = await runInspect(request, jsonOut, values.histograms as HistogramDetail | undefined);
  if (baseline && values.baseline !== undefined) {
    const names: [string, string] = [values.baseline, "this run"];
    printComparison(
      baseline,
      report,
      names,
      [values.baseline, jsonOut],
      values["compare-json"],
      [values.baseline, ...(jsonOut ? [jsonOut] : [])],
      compareThresholds,
      values.html,
    );
    if (values.json) process.stdout.write(`Report of this run written to ${values.json}\n`);
    return EXIT_OK;
  }
  process.stdout.write(formatReport(report) + "\n");
  if (values["batch-study"]) process.stdout.write("\n" + formatBatchStudy(report) + "\n");
  else if (report.batchDependence)
    process.stdout.write(`\n${describeBatchDependence(report.batchDependence)} (--batch-study shows every output.)\n`);
  if (values.json) process.stdout.write(`\nReport written to ${values.json}\n`);
  for (const line of writeShareOutputs(report, values, () => report)) process.stdout.write(`${line}\n`);
  const verdict = gate(report, failOn);
  if (verdict.line) process.stdout.write(`${verdict.line}\n`);
  return verdict.code;
}

async function mergeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "string" }, "batch-study": { type: "boolean" }, ...SHARE_OPTIONS },
  });
  const failOn = parseFailOn(values["fail-on"], undefined);
  if (positionals.length === 0) throw usage("merge needs at least one report");
  if (values.json === undefined) throw usage("merge needs --json OUT for the merged report");
  const out = checkOutputPath(values.json, "--json", positionals);
  refuseSameFiles(positionals);
  // The merge streams layer by layer; only the HTML page, which embeds the whole merged report, reads it back whole.
  if (values.html !== undefined) {
    const rerun = rerunWithHeapFor(positionals, `Merging ${positionals.length} reports into an HTML page`);
    if (rerun !== undefined) return rerun;
  }
  const merged = mergeReportFiles(positionals, out);
  process.stdout.write(formatReport(merged) + "\n");
  if (values["batch-study"]) process.stdout.write("\n" + formatBatchStudy(merged) + "\n");
  process.stdout.write(`\nMerged ${positionals.length} reports (${merged.samples} samples) into ${values.json}\n`);
  for (const line of writeShareOutputs(merged, values, () => readReportFile(out))) process.stdout.write(`${line}\n`);
  const verdict = gate(merged, failOn);
  if (verdict.line) process.stdout.write(`${verdict.line}\n`);
  return verdict.code;
}

async function htmlCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: "string", short: "o" } } });
  if (positionals.length !== 1) throw usage("html takes one report (REPORT.json or COMPARISON.json)");
  if (!values.out) throw usage("html needs -o OUT.html");
  refuseInputAsOutput(values.out, positionals, "the HTML report");
  const read = readReportOrComparison(positionals[0]);
  if ("comparison" in read) process.stdout.write(`${writeComparisonHtml(read.comparison, values.out, positionals)}\n`);
  else for (const line of writeShareOutputs(read.report, { html: values.out }, () => read.report)) process.stdout.write(`${line}\n`);
}

async function describeCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: "string" } } });
  if (positionals.length !== 1) throw usage("describe takes one model file");
  const modelPath = path.resolve(positionals[0]);
  if (!fs.existsSync(modelPath)) throw new UserError("data", `The model file ${positionals[0]} does not exist.`);
  const jsonOut = values.json !== undefined ? checkOutputPath(values.json, "--json", [modelPath]) : undefined;
  const client = new InspectorClient(workerPath());
  try {
    const overview = await client.describeModel(modelPath);
    if (jsonOut) writeJson(jsonOut, overview);
    process.stdout.write(formatModelDescription(overview) + "\n");
  } finally {
    client.dispose();
  }
}

async function demoCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: "string" }, out: { type: "string" } } });
  const jsonOut = values.json !== undefined ? checkOutputPath(values.json, "--json", [demoModelPath(values.out)]) : undefined;
  const modelPath = writeDemoModel(values.out);
  process.stdout.write(
    `Built the demo model ${modelPath}: 1x1 convolutions with four BatchNormalization layers and planted problems\n` +
      "(a channel with gamma = 0, a layer pushed into sigmoid saturation, running statistics that do not match the data).\n" +
      `Running: bn-lens inspect ${modelPath} --samples 256 --seed 1 --random-is-domain\n\n`,
  );
  // The demo model's statistics were calibrated on standard normal inputs: for it, random inputs are its data.
  const report = await runInspect({ modelPath, samples: 256, seed: 1, randomIsDomain: true }, jsonOut);
  process.stdout.write(formatReport(report) + "\n");
  if (values.json) process.stdout.write(`\nReport written to ${values.json}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "inspect":
        return await inspectCommand(rest);
      case "check":
        return await inspectCommand(rest, "error");
      case "merge":
        return await mergeCommand(rest);
      case "compare":
        compareCommand(rest);
        break;
      case "describe":
        await describeCommand(rest);
        break;
      case "html":
        await htmlCommand(rest);
        break;
      case "demo":
        await demoCommand(rest);
        break;
      case "recalibrate":
        await recalibrateCommand(rest, workerPath());
        break;
      case "-h":
      case "--help":
      case "help":
        process.stdout.write(USAGE + "\n");
        break;
      case "--version":
      case "-v":
        process.stdout.write(`${VERSION}\n`);
        break;
      case undefined:
        process.stderr.write(USAGE + "\n");
        return EXIT_USAGE;
      default:
        throw usage(`unknown command "${command}"`);
    }
    return EXIT_OK;
  } catch (e) {
    return reportError(e);
  }
}

function reportError(e: unknown): number {
  const line = (msg: string) => msg.replace(/\s*\n\s*/g, " ").trim();
  if (stoppedBy && (e instanceof WorkerError || isUserError(e)) && e.kind === "cancelled") {
    process.stderr.write(`error: ${line(e.message)}\n`);
    return SIGNAL_EXIT[stoppedBy];
  }
  if (e instanceof WorkerError) {
    if (e.kind === "bug") {
      process.stderr.write(`bn-lens: internal error: ${line(e.message)}\n${e.info.detail ?? ""}\n`);
      return EXIT_BUG;
    }
    process.stderr.write(`error: ${line(e.message)}\n`);
    return EXIT_USAGE;
  }
  if (isUserError(e)) {
    process.stderr.write(`error: ${line(e.message)}\n`);
    return EXIT_USAGE;
  }
  // parseArgs reports unknown or malformed options with these codes.
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`error: ${line((e as Error).message)} (run "bn-lens --help" for usage)\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`bn-lens: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
  return EXIT_BUG;
}

// A reader that stops early (`bn-lens inspect … | head`) closes the pipe: stop quietly, as Unix tools do.
// Any other failure to write stdout (a full disk, `> /dev/full`) gets one sentence on stderr and exit 2.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? EXIT_OK);
  const reason = e.code === "ENOSPC" ? "no space left on the device" : e.message;
  try {
    process.stderr.write(
      `error: Cannot write the output to stdout: ${reason} (${e.code ?? "error"}); any --json report was still written.\n`,
    );
  } catch {
    // stderr is gone too: nothing left to tell.
  }
  process.exit(EXIT_USAGE);
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
