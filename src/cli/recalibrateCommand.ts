/**
 * `bn-lens recalibrate MODEL --data PATH [--out NEW.onnx] [--force] [--json REPORT] [--layers A,B*]
 *  [--blend a] [--to-inference] [--max-passes N] [--min-count N] [inspect's data and shape options]`
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { UserError } from "../core/errors";
import type { RecalibrationJson } from "../core/recalibrate/recalibration";
import { formatRecalibration } from "./recalibrationTable";
import type { RecalibrateRequest } from "../protocol/worker";
import { InspectorClient } from "../runtime/client";
import { DATA_OPTIONS, intOption as int, numberList as numbers, usage } from "./options";

/** Usage lines of the command, for the CLI's help. */
export const RECALIBRATE_USAGE = `  bn-lens recalibrate MODEL --data PATH [--out NEW.onnx] [--force] [--json REPORT]
                  [--layers NAME|GLOB,...] [--blend a] [--to-inference] [--max-passes N] [--min-count N]
                  [--samples N] [--batch N] [--input-shape NAME:D0xD1x...]... [--mean a,b,c] [--std a,b,c] [--bgr]`;

/** What the help says about the command. */
export const RECALIBRATE_HELP = `recalibrate  re-estimates every BN layer's running mean and variance on the data (exactly, in inference
          mode), writes a new model (default <name>.recalibrated.onnx next to MODEL), checks it on the same
          data and prints before/after per layer and how much the model's outputs changed.`;

/** Parses the command line into a request and the JSON output path. */
export function parseRecalibrateArgs(args: string[]): { request: RecalibrateRequest; json: string | undefined } {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      force: { type: "boolean" },
      json: { type: "string" },
      layers: { type: "string", multiple: true },
      blend: { type: "string" },
      "to-inference": { type: "boolean" },
      "max-passes": { type: "string" },
      "min-count": { type: "string" },
      ...DATA_OPTIONS,
    },
  });
  if (positionals.length !== 1)
    throw usage(positionals.length ? `recalibrate takes one model, got ${positionals.length}` : "recalibrate needs a model file");
  if (values.data === undefined) {
    throw usage(
      "recalibrate needs --data PATH: the statistics are re-estimated on your data (random data would only teach the model noise)",
    );
  }
  let blend: number | undefined;
  if (values.blend !== undefined) {
    blend = Number(values.blend);
    if (!values.blend.trim() || !(blend > 0 && blend <= 1)) throw usage(`--blend takes a number in (0, 1], not "${values.blend}"`);
  }
  const request: RecalibrateRequest = {
    modelPath: path.resolve(positionals[0]),
    dataPath: path.resolve(values.data),
    outPath: values.out !== undefined ? path.resolve(values.out) : undefined,
    force: values.force,
    layers: values.layers?.flatMap((s) => s.split(",").map((x) => x.trim())).filter(Boolean),
    blend,
    toInference: values["to-inference"],
    maxPasses: int(values["max-passes"], "max-passes", 2),
    minCount: int(values["min-count"], "min-count", 1),
    samples: int(values.samples, "samples", 1),
    batchSize: int(values.batch, "batch", 1),
    seed: int(values.seed, "seed", 0),
    inputShapes: values["input-shape"],
    imageMean: numbers(values.mean, "mean"),
    imageStd: numbers(values.std, "std"),
    bgr: values.bgr,
    intraOpNumThreads: int(values.threads, "threads", 1),
  };
  if (!fs.existsSync(request.modelPath)) throw new UserError("data", `The model file ${positionals[0]} does not exist.`);
  return { request, json: values.json };
}

/** Runs `bn-lens recalibrate` in the inference process and prints the result. */
export async function recalibrateCommand(args: string[], workerPath: string): Promise<RecalibrationJson> {
  const { request, json } = parseRecalibrateArgs(args);
  const client = new InspectorClient(workerPath);
  const tty = process.stderr.isTTY;
  const run = client.recalibrate(request, {
    progress: (p) => {
      if (tty) process.stderr.write(`\r\x1b[K${p.message} (${(p.elapsedMs / 1000).toFixed(1)} s)`);
    },
    log: (line) => {
      if (/^Pass \d+:/.test(line)) process.stderr.write(`${tty ? "\r\x1b[K" : ""}${line}\n`);
    },
  });
  const onSigint = () => {
    process.stderr.write("\nCancelling…\n");
    run.cancel();
  };
  process.once("SIGINT", onSigint);
  try {
    const result = await run.result;
    if (tty) process.stderr.write("\r\x1b[K");
    if (json) {
      try {
        fs.writeFileSync(json, JSON.stringify(result, null, 1));
      } catch (e) {
        throw new UserError("data", `Cannot write the report to ${json}: ${(e as Error).message}.`);
      }
    }
    process.stdout.write(formatRecalibration(result) + "\n");
    if (json) process.stdout.write(`Report written to ${json}\n`);
    return result;
  } finally {
    process.removeListener("SIGINT", onSigint);
    client.dispose();
  }
}
