/**
 * Every file BN Lens writes goes through here: `checkOutputPath` before any work starts (so a long run
 * never ends in "cannot write"), `writeFileAtomic` at the end (so a crash, a full disk or two concurrent
 * runs never leave a torn file, and an input is never overwritten; src/node/writeFileAtomic.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "../core/errors";

// Files a report never replaces, even when named explicitly: models, their external data, and data.
const PROTECTED_EXTENSIONS = /\.(onnx|ort|pb|npy|npz|data|bin|jpe?g|png|webp|bmp|gif|tiff?)$/i;

/** The real path of a file that may not exist yet: its folder's real path joined with its name. */
function realTarget(file: string): string {
  const abs = path.resolve(file);
  try {
    return fs.realpathSync(abs);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

function isInside(child: string, folder: string): boolean {
  const rel = path.relative(folder, child);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

/**
 * Refuses an output path that is empty, a folder, in a folder that does not exist or cannot be written,
 * or that would overwrite one of `inputs` (files, or folders whose existing files are all inputs) or
 * any model or data file. `option` names the flag for the sentence ("--json"). Returns the absolute path.
 */
export function checkOutputPath(file: string | undefined, option: string, inputs: readonly string[]): string {
  if (file === undefined || file.trim() === "") {
    throw new UserError("usage", `${option} needs a file name for the report, like ${option} report.json; it was given an empty string.`);
  }
  const abs = path.resolve(file);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(abs);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) {
    throw new UserError("usage", `${option} ${file} is a folder; give a file name inside it, like ${path.join(file, "report.json")}.`);
  }
  const target = realTarget(abs);
  for (const input of inputs) {
    const real = realTarget(input);
    let inputIsDir = false;
    try {
      inputIsDir = fs.statSync(real).isDirectory();
    } catch {
      // A missing input is reported by whoever reads it.
    }
    if (target === real || (inputIsDir && stat && isInside(target, real))) {
      throw new UserError(
        "usage",
        `${option} ${file} would overwrite ${target === real ? "" : "a file inside "}the input ${input}; BN Lens never writes over its inputs, so choose another file name.`,
      );
    }
  }
  if (stat && PROTECTED_EXTENSIONS.test(abs)) {
    throw new UserError(
      "usage",
      `${option} ${file} is an existing model or data file (${path.extname(abs)}); BN Lens writes reports as JSON and never over such files, so choose a .json file name.`,
    );
  }
  const dir = path.dirname(abs);
  let dirStat: fs.Stats;
  try {
    dirStat = fs.statSync(dir);
  } catch {
    throw new UserError("usage", `The folder ${dir} for ${option} does not exist; create it first or choose another path.`);
  }
  if (!dirStat.isDirectory())
    throw new UserError("usage", `${dir} (the folder for ${option}) is a file, not a folder; choose another path.`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    if (stat) fs.accessSync(abs, fs.constants.W_OK);
  } catch {
    throw new UserError(
      "usage",
      `BN Lens cannot write to ${stat ? abs : `the folder ${dir}`} (permission denied); choose a path you can write to.`,
    );
  }
  return abs;
}

// The writer itself is shared with the extension host's Export Report.
export { writeFileAtomic } from "../node/writeFileAtomic";
