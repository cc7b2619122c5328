import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildDemoModel } from "../core/demo/demoModel";
import { writeFileAtomic } from "./output";

/** Where the demo model goes: `dir`, or a folder in the system's temp dir. */
export function demoModelPath(dir?: string): string {
  return path.join(dir ? path.resolve(dir) : path.join(os.tmpdir(), "bn-lens-demo"), "bn-lens-demo.onnx");
}

/** Writes the demo model (atomically) and returns its path. */
export function writeDemoModel(dir?: string): string {
  const file = demoModelPath(dir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, buildDemoModel(), "the demo model");
  return file;
}
