/**
 * "Export Report" as HTML: the standalone page of src/core/share/htmlReport.ts, built from the panel
 * bundle the extension ships (dist/webview.js, dist/standalone.js, media/panel.css). The inference process
 * builds it from the report it holds; the extension host only for a report it has itself.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { Report } from "../core/report";
import type { BeforeAfter } from "../core/recalibrate/beforeAfter";
import { reportHtml } from "../core/share/htmlReport";

/** The standalone HTML page of a report (with a recalibration's before/after); `extensionDir` is the extension's install folder. */
export function standaloneHtml(report: Report, extensionDir: string, recalibration?: BeforeAfter): string {
  const read = (...p: string[]) => fs.readFileSync(path.join(extensionDir, ...p), "utf8");
  return reportHtml({
    report,
    recalibration,
    panelScript: read("dist", "webview.js"),
    hostScript: read("dist", "standalone.js"),
    panelCss: read("media", "panel.css"),
    nonce: randomBytes(18).toString("base64"),
    gzip: (data) => zlib.gzipSync(data, { level: 9 }),
  });
}
