/**
 * "Inspect Model with Data...": which data, and for images how pixels are normalised. The answer is a
 * DataChoice, remembered per model in workspaceState and reused by Re-run.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { IMAGE_PRESETS, parseNumberList } from "../core/inputs/presets";
import type { Prompts } from "./prompts";
import { imageSettings } from "./settings";

/** Data and preprocessing for one model. */
export interface DataChoice {
  /** File or folder; absent for seeded random data. */
  dataPath?: string;
  /** Image preprocessing in pixel units, when the data is images. */
  imageMean?: number[];
  imageStd?: number[];
  bgr?: boolean;
  /** How the preprocessing was chosen, for the log ("(p − 127) / 128", "custom"...). */
  preprocessing?: string;
  /** "NAME:D0xD1x..." shapes for symbolic dims, as answered when the engine asked. */
  inputShapes?: string[];
}

const IMAGE_EXTENSIONS = new Set([".jpg", ".jpeg", ".png"]);
const DATA_EXTENSIONS = ["npy", "npz", "pb", "jpg", "jpeg", "png"];

/** True when the path is an image or a folder holding images (not ONNX test data). */
export async function isImageData(dataPath: string): Promise<boolean> {
  const uri = vscode.Uri.file(dataPath);
  try {
    const stat = await vscode.workspace.fs.stat(uri);
    if (stat.type & vscode.FileType.Directory) {
      const entries = await vscode.workspace.fs.readDirectory(uri);
      if (entries.some(([name, type]) => type & vscode.FileType.Directory && name.startsWith("test_data_set_"))) return false;
      return entries.some(([name, type]) => type & vscode.FileType.File && IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase()));
    }
  } catch {
    return false; // the engine names a missing or unreadable path in its own words
  }
  return IMAGE_EXTENSIONS.has(path.extname(dataPath).toLowerCase());
}

type SourceItem = vscode.QuickPickItem & { source: "random" | "file" | "folder" | "last" };

/** Asks for the data (and image preprocessing); undefined when the user cancels. */
export async function askData(prompts: Prompts, modelUri: vscode.Uri, previous: DataChoice | undefined): Promise<DataChoice | undefined> {
  const items: SourceItem[] = [];
  if (previous?.dataPath)
    items.push({
      source: "last",
      label: `$(history) ${await describeData(previous.dataPath)}`,
      description: "last used",
      detail: previous.dataPath,
    });
  // "with Data..." means the user's data: the folder and file come first, random data last (never preselected).
  items.push(
    { source: "folder", label: "$(folder) A folder…", detail: "Images (.jpg, .png) or ONNX test data (test_data_set_* folders)" },
    {
      source: "file",
      label: "$(file) A data file…",
      detail: ".npy or .npz arrays (samples along the first axis), an ONNX TensorProto .pb, or one image",
    },
    {
      source: "random",
      label: "$(symbol-constant) Random data instead",
      detail: "Seeded random values (bnLens.seed, bnLens.sampleLimit, bnLens.randomDistribution)",
    },
  );
  const picked = await prompts.quickPick(items, {
    id: "dataSource",
    title: `BN Lens: data for ${path.basename(modelUri.fsPath)}`,
    placeHolder: "Run the model on which data?",
  });
  if (!picked) return undefined;
  if (picked.source === "random") return { inputShapes: previous?.inputShapes };

  let dataPath: string;
  if (picked.source === "last" && previous?.dataPath) {
    dataPath = previous.dataPath;
  } else {
    const folder = picked.source === "folder";
    const start = previous?.dataPath ? vscode.Uri.file(path.dirname(previous.dataPath)) : vscode.Uri.file(path.dirname(modelUri.fsPath));
    const uris = await prompts.openDialog({
      canSelectFiles: !folder,
      canSelectFolders: folder,
      canSelectMany: false,
      defaultUri: start,
      openLabel: "Use This Data",
      title: folder ? "A folder of images or test_data_set_* folders" : "A data file",
      ...(folder ? {} : { filters: { "Data (.npy, .npz, .pb, images)": DATA_EXTENSIONS, "All files": ["*"] } }),
    });
    if (!uris?.length) return undefined;
    dataPath = uris[0].fsPath;
  }
  const choice: DataChoice = { dataPath, inputShapes: previous?.inputShapes };
  if (!(await isImageData(dataPath))) return choice;
  const pre = await askPreprocessing(prompts, modelUri, previous, await describeData(dataPath));
  return pre ? { ...choice, ...pre } : undefined;
}

type PresetItem = vscode.QuickPickItem & { mean?: number[]; std?: number[]; custom?: boolean };

/** Image preprocessing: from bnLens.image.* unless that says "ask", else a QuickPick of presets. */
export async function askPreprocessing(
  prompts: Prompts,
  modelUri: vscode.Uri,
  previous: DataChoice | undefined,
  /** What was picked, in words ("16 images in photos"), so the question says what it applies to. */
  what?: string,
): Promise<Pick<DataChoice, "imageMean" | "imageStd" | "bgr" | "preprocessing"> | undefined> {
  const fromSettings = imageSettings(modelUri);
  if (fromSettings.preset !== "ask") {
    return {
      imageMean: fromSettings.mean,
      imageStd: fromSettings.std,
      bgr: fromSettings.bgr,
      preprocessing: `${fromSettings.preset} (from settings)`,
    };
  }
  const items: PresetItem[] = IMAGE_PRESETS.map((p) => ({ label: p.label, detail: p.detail, mean: p.mean, std: p.std }));
  items.push({ label: "Custom…", detail: "Type the mean and std in pixel units", custom: true });
  if (previous?.preprocessing) {
    const i = items.findIndex((x) => x.label === previous.preprocessing);
    if (i > 0) items.unshift(...items.splice(i, 1));
    if (i >= 0) items[0].description = "last used";
  }
  const picked = await prompts.quickPick(items, {
    id: "preprocessing",
    title: what ? `BN Lens: ${what}: image preprocessing` : "BN Lens: image preprocessing",
    placeHolder: "How were pixels p (0..255) normalised in training? input = (p − mean) / std",
  });
  if (!picked) return undefined;
  if (!picked.custom) return { imageMean: picked.mean, imageStd: picked.std, bgr: fromSettings.bgr, preprocessing: picked.label };
  const mean = await prompts.inputBox({
    id: "imageMean",
    title: "BN Lens: image mean (pixel units)",
    prompt: "One number, or one per channel separated by commas",
    value: (previous?.imageMean ?? [127, 127, 127]).join(", "),
    validateInput: (t) => (parseNumberList(t) ? undefined : "Numbers separated by commas, e.g. 123.675, 116.28, 103.53"),
  });
  if (mean === undefined) return undefined;
  const std = await prompts.inputBox({
    id: "imageStd",
    title: "BN Lens: image std (pixel units)",
    prompt: "One positive number, or one per channel separated by commas",
    value: (previous?.imageStd ?? [128, 128, 128]).join(", "),
    validateInput: (t) => (parseNumberList(t, true) ? undefined : "Positive numbers separated by commas, e.g. 58.395, 57.12, 57.375"),
  });
  if (std === undefined) return undefined;
  return { imageMean: parseNumberList(mean), imageStd: parseNumberList(std, true), bgr: fromSettings.bgr, preprocessing: "Custom…" };
}

/** What a data path holds, in words: "16 images in photos", "3 ONNX test data sets in cases", "batch.npy". */
export async function describeData(dataPath: string): Promise<string> {
  const name = path.basename(dataPath);
  try {
    const stat = await vscode.workspace.fs.stat(vscode.Uri.file(dataPath));
    if (!(stat.type & vscode.FileType.Directory)) return name;
    const entries = await vscode.workspace.fs.readDirectory(vscode.Uri.file(dataPath));
    const sets = entries.filter(([n, t]) => t & vscode.FileType.Directory && n.startsWith("test_data_set_")).length;
    if (sets) return `${sets} ONNX test data set${sets === 1 ? "" : "s"} in ${name}`;
    const images = entries.filter(([n, t]) => t & vscode.FileType.File && IMAGE_EXTENSIONS.has(path.extname(n).toLowerCase())).length;
    if (images) return `${images} image${images === 1 ? "" : "s"} in ${name}`;
    const arrays = entries.filter(([n, t]) => t & vscode.FileType.File && /\.(npy|npz|pb)$/i.test(n)).length;
    return arrays ? `${arrays} data file${arrays === 1 ? "" : "s"} in ${name}` : `the folder ${name}`;
  } catch {
    return name;
  }
}

/** A one-line description of the data for the log and the panel. */
export function describeChoice(choice: DataChoice, samples: number | undefined, random: string | undefined): string {
  const parts: string[] = [];
  if (choice.dataPath) {
    parts.push(choice.dataPath);
    if (choice.imageMean)
      parts.push(`images as (p − [${choice.imageMean.join(", ")}]) / [${choice.imageStd?.join(", ")}]${choice.bgr ? ", BGR" : ""}`);
    if (samples) parts.push(`at most ${samples} samples`);
  } else {
    parts.push(`random ${random ?? "normal"} data, ${samples ?? 64} samples`);
  }
  if (choice.inputShapes?.length) parts.push(`shapes ${choice.inputShapes.join(", ")}`);
  return parts.join("; ");
}
