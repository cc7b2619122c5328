/**
 * bn-lens: the command-line face of BN Lens, on the same core and inference process as the extension.
 *
 *   bn-lens inspect MODEL [--data PATH] [--samples N] [--batch N] [--seed N]
 *                   [--input-shape NAME:D0xD1x...]... [--mean a,b,c] [--std a,b,c] [--bgr] [--json OUT]
 *   bn-lens merge REPORT.json... --json OUT
 *   bn-lens describe MODEL [--json OUT]
 *   bn-lens demo [--json OUT]
 *
 * Exit codes: 0 success; 2 bad usage or bad input (one "error:" line on stderr); 1 a bug in BN Lens.
 */
import { checkMergeable, compactJson, reportJson, type HistogramDetail } from "../core/inspect/reportJson";
import * as fs from "node:fs";
import * as path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { UserError, isUserError } from "../core/errors";
import { checkReport, mergeReports } from "../core/inspect/buildReport";
import { formatOverview, formatReport } from "./table";
import type { Report } from "../core/report";
import { VERSION } from "../core/version";
import type { InspectRequest } from "../protocol/worker";
import { InspectorClient, WorkerError } from "../runtime/client";
import { writeDemoModel } from "./demo";

const USAGE = `Usage:
  bn-lens inspect MODEL [--data PATH] [--samples N] [--batch N] [--seed N]
                  [--input-shape NAME:D0xD1x...]... [--mean a,b,c] [--std a,b,c] [--bgr]
                  [--random normal|uniform] [--mode auto|exact|fast] [--threads N] [--json OUT]
                [--histograms per-channel|layer]
  bn-lens merge REPORT.json... --json OUT
  bn-lens describe MODEL [--json OUT]
  bn-lens demo [--json OUT]

inspect   runs MODEL on the data (seeded random data when --data is absent), captures the values before
          and after every BatchNormalization layer, prints a per-layer table with warnings, and writes
          the JSON report to OUT.
merge     combines reports of disjoint shards of the data into the report of one run over all of it.
describe  shows what the model stores (BN parameters, what follows each BN) without running it.
demo      builds BN Lens's example model with planted problems and inspects it.`;

const EXIT_OK = 0;
const EXIT_BUG = 1;
const EXIT_USAGE = 2;

function usage(message: string): UserError {
  return new UserError("usage", `${message} (run "bn-lens --help" for usage)`);
}

function intOption(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min)
    throw usage(`--${name} must be a whole number of at least ${min}, not "${value}"`);
  return n;
}

function numberList(value: string | undefined, name: string): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.some((p) => p === "") || nums.some((n) => !Number.isFinite(n)))
    throw usage(`--${name} takes numbers separated by commas, like 127,127,127, not "${value}"`);
  return nums;
}

function workerPath(): string {
  return path.join(__dirname, "worker.js");
}

function writeJson(file: string, value: unknown, text = compactJson(value) + "\n"): void {
  try {
    fs.writeFileSync(file, text);
  } catch (e) {
    throw new UserError("data", `Cannot write the report to ${file}: ${(e as Error).message}.`);
  }
}

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
  const onSigint = () => {
    process.stderr.write("\nCancelling…\n");
    run.cancel();
  };
  process.once("SIGINT", onSigint);
  try {
    const report = await run.result;
    if (tty) process.stderr.write("\r\x1b[K");
    if (jsonOut) writeJson(jsonOut, report, reportJson(report, { histograms }));
    return report;
  } finally {
    process.removeListener("SIGINT", onSigint);
    client.dispose();
    if (loop) {
      loop.disable();
      const ort = Object.keys(require.cache).some((k) => k.includes("onnxruntime"));
      process.stderr.write(`debug: host event loop max delay ${(loop.max / 1e6).toFixed(1)} ms; onnxruntime loaded in host: ${ort}\n`);
    }
  }
}

async function inspectCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      data: { type: "string" },
      samples: { type: "string" },
      batch: { type: "string" },
      seed: { type: "string" },
      "input-shape": { type: "string", multiple: true },
      mean: { type: "string" },
      std: { type: "string" },
      bgr: { type: "boolean" },
      random: { type: "string" },
      mode: { type: "string" },
      threads: { type: "string" },
      json: { type: "string" },
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
  };
  if (!fs.existsSync(request.modelPath)) throw new UserError("data", `The model file ${positionals[0]} does not exist.`);
  const report = await runInspect(request, values.json, values.histograms as HistogramDetail | undefined);
  process.stdout.write(formatReport(report) + "\n");
  if (values.json) process.stdout.write(`\nReport written to ${values.json}\n`);
}

async function mergeCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: "string" } } });
  if (positionals.length === 0) throw usage("merge needs at least one report");
  if (!values.json) throw usage("merge needs --json OUT for the merged report");
  const reports = positionals.map((file) => {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new UserError(
        "data",
        `Cannot read report ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : (e as Error).message}.`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new UserError("data", `${file} is not JSON; pass reports written by "bn-lens inspect --json".`);
    }
    const report = checkReport(json, file);
    checkMergeable(report, file);
    return report;
  });
  const merged = mergeReports(reports, positionals);
  writeJson(values.json, merged);
  process.stdout.write(formatReport(merged) + `\n\nMerged ${reports.length} reports (${merged.samples} samples) into ${values.json}\n`);
}

async function describeCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: "string" } } });
  if (positionals.length !== 1) throw usage("describe takes one model file");
  const modelPath = path.resolve(positionals[0]);
  if (!fs.existsSync(modelPath)) throw new UserError("data", `The model file ${positionals[0]} does not exist.`);
  const client = new InspectorClient(workerPath());
  try {
    const overview = await client.describeModel(modelPath);
    if (values.json) writeJson(values.json, overview);
    process.stdout.write(formatOverview(overview) + "\n");
  } finally {
    client.dispose();
  }
}

async function demoCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: "string" }, out: { type: "string" } } });
  const modelPath = writeDemoModel(values.out);
  process.stdout.write(
    `Built the demo model ${modelPath}: 1x1 convolutions with four BatchNormalization layers and planted problems\n` +
      "(a channel with gamma = 0, a layer pushed into sigmoid saturation, running statistics that do not match the data).\n" +
      `Running: bn-lens inspect ${modelPath} --samples 256 --seed 1\n\n`,
  );
  const report = await runInspect({ modelPath, samples: 256, seed: 1 }, values.json);
  process.stdout.write(formatReport(report) + "\n");
  if (values.json) process.stdout.write(`\nReport written to ${values.json}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "inspect":
        await inspectCommand(rest);
        break;
      case "merge":
        await mergeCommand(rest);
        break;
      case "describe":
        await describeCommand(rest);
        break;
      case "demo":
        await demoCommand(rest);
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
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? EXIT_OK);
  throw e;
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
