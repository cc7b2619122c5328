import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildDemoModel } from "../core/demo/demoModel";

/** Writes the demo model to `dir` (default: a folder in the system's temp dir) and returns its path. */
export function writeDemoModel(dir?: string): string {
  const folder = dir ? path.resolve(dir) : path.join(os.tmpdir(), "bn-lens-demo");
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, "bn-lens-demo.onnx");
  fs.writeFileSync(file, buildDemoModel());
  return file;
}
