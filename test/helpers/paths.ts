import * as fs from "node:fs";
import * as path from "node:path";

/** The project root: bundles live at different depths under out/, so walk up to BN Lens's package.json. */
export const ROOT = ((): string => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "bn-lens") return dir;
    if (path.dirname(dir) === dir) throw new Error(`no bn-lens package.json above ${__dirname}`);
  }
})();
/** The read-only shared folder with real models and data (never copied into the repo). */
export const SHARED = path.resolve(ROOT, "..", "shared");
export const MODELS = path.join(SHARED, "models");
export const FACE_DETECTOR = path.join(MODELS, "face-detector-rfb-320", "version-RFB-320.onnx");
export const FACE_IMAGES = path.join(SHARED, "data", "face-images");
export const ONNX_BN_TESTS = path.join(MODELS, "onnx-backend-batchnorm");
export const PADDLE_CLS = path.join(ROOT, "node_modules", "@gutenye", "ocr-models", "assets", "ch_ppocr_mobile_v2.0_cls_infer.onnx");
