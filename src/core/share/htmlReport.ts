/**
 * The standalone HTML report: one self-contained file with the panel's own code (dist/webview.js), its CSS,
 * the report embedded (gzip, base64), a summary rendered here so the page reads without JavaScript, a
 * strict CSP (nothing but the page's own nonce'd scripts and styles, no network), and VS Code's light or
 * dark colours by the reader's prefers-color-scheme. Pure: the caller passes the bundles' text and a nonce.
 */
import { gzipSync, strToU8 } from "fflate";
import type { BeforeAfter } from "../recalibrate/beforeAfter";
import type { Report, Severity } from "../report";

/** What the page is built from. */
export interface HtmlReportOptions {
  report: Report;
  /** When the report checks a recalibration: its before/after, shown by the panel as in VS Code. */
  recalibration?: BeforeAfter;
  /** dist/webview.js: the panel, unchanged. */
  panelScript: string;
  /** dist/standalone.js: answers the panel's requests from the embedded report instead of VS Code. */
  hostScript: string;
  /** media/panel.css. */
  panelCss: string;
  /** A random string of at least 16 base64 or hex characters, new for every file. */
  nonce: string;
  /** gzip compressor (default fflate's; Node's zlib at level 9 is about 20% smaller and 5x faster). */
  gzip?: (data: Uint8Array) => Uint8Array;
}

/** The key of a recalibration's before/after next to the embedded report (read by webview/standalone.ts). */
export const RECALIBRATION_KEY = "bnLensRecalibration";

/** The id of the element that holds the embedded report (read by webview/standalone.ts). */
export const REPORT_DATA_ID = "bn-lens-report";

// VS Code's Dark Modern and Light Modern values of the theme variables the panel reads.
const DARK = [
  "--vscode-foreground:#cccccc;",
  "--vscode-descriptionForeground:#9d9d9d;",
  "--vscode-editor-background:#1f1f1f;",
  "--vscode-editorWidget-background:#202020;",
  "--vscode-editorWidget-border:#313131;",
  "--vscode-focusBorder:#0078d4;",
  "--vscode-charts-blue:#3794ff;",
  "--vscode-charts-orange:#d18616;",
  "--vscode-charts-red:#f14c4c;",
  "--vscode-charts-green:#89d185;",
  "--vscode-charts-purple:#b180d7;",
  "--vscode-charts-yellow:#cca700;",
  "--vscode-editorError-foreground:#f14c4c;",
  "--vscode-editorWarning-foreground:#cca700;",
  "--vscode-editorInfo-foreground:#3794ff;",
  "--vscode-textLink-foreground:#4daafc;",
  "--vscode-button-background:#0078d4;",
  "--vscode-button-foreground:#ffffff;",
  "--vscode-button-hoverBackground:#026ec1;",
  "--vscode-button-secondaryBackground:#313131;",
  "--vscode-button-secondaryForeground:#cccccc;",
  "--vscode-button-secondaryHoverBackground:#3c3c3c;",
  "--vscode-settings-textInputBackground:#313131;",
  "--vscode-settings-textInputForeground:#cccccc;",
  "--vscode-settings-textInputBorder:#3c3c3c;",
  "--vscode-settings-dropdownBackground:#313131;",
  "--vscode-settings-dropdownForeground:#cccccc;",
  "--vscode-settings-dropdownBorder:#3c3c3c;",
  "--vscode-settings-dropdownListBorder:#454545;",
  "--vscode-list-hoverBackground:#2a2d2e;",
  "--vscode-list-activeSelectionBackground:#04395e;",
  "--vscode-list-inactiveSelectionBackground:#37373d;",
  "--vscode-list-focusBackground:#04395e;",
  "--vscode-progressBar-background:#0078d4;",
  "--vscode-inputValidation-errorBackground:#5a1d1d;",
  "--vscode-inputValidation-errorBorder:#be1100;",
  "--vscode-font-family:system-ui, 'Segoe UI', 'Ubuntu', sans-serif;",
  "--vscode-font-size:13px;",
  "--vscode-editor-font-family:'DejaVu Sans Mono', monospace;",
].join("");
const LIGHT = [
  "--vscode-foreground:#3b3b3b;",
  "--vscode-descriptionForeground:#717171;",
  "--vscode-editor-background:#ffffff;",
  "--vscode-editorWidget-background:#f8f8f8;",
  "--vscode-editorWidget-border:#c8c8c8;",
  "--vscode-focusBorder:#005fb8;",
  "--vscode-charts-blue:#1a85ff;",
  "--vscode-charts-orange:#d18616;",
  "--vscode-charts-red:#e51400;",
  "--vscode-charts-green:#388a34;",
  "--vscode-charts-purple:#652d90;",
  "--vscode-charts-yellow:#bf8803;",
  "--vscode-editorError-foreground:#e51400;",
  "--vscode-editorWarning-foreground:#bf8803;",
  "--vscode-editorInfo-foreground:#1a85ff;",
  "--vscode-textLink-foreground:#005fb8;",
  "--vscode-button-background:#005fb8;",
  "--vscode-button-foreground:#ffffff;",
  "--vscode-button-hoverBackground:#0258a8;",
  "--vscode-button-secondaryBackground:#e5e5e5;",
  "--vscode-button-secondaryForeground:#3b3b3b;",
  "--vscode-button-secondaryHoverBackground:#cccccc;",
  "--vscode-settings-textInputBackground:#ffffff;",
  "--vscode-settings-textInputForeground:#3b3b3b;",
  "--vscode-settings-textInputBorder:#cecece;",
  "--vscode-settings-dropdownBackground:#ffffff;",
  "--vscode-settings-dropdownForeground:#3b3b3b;",
  "--vscode-settings-dropdownBorder:#cecece;",
  "--vscode-settings-dropdownListBorder:#c8c8c8;",
  "--vscode-list-hoverBackground:#f2f2f2;",
  "--vscode-list-activeSelectionBackground:#e8e8e8;",
  "--vscode-list-inactiveSelectionBackground:#e4e6f1;",
  "--vscode-list-focusBackground:#d6ebff;",
  "--vscode-progressBar-background:#005fb8;",
  "--vscode-inputValidation-errorBackground:#f2dede;",
  "--vscode-inputValidation-errorBorder:#be1100;",
  "--vscode-font-family:system-ui, 'Segoe UI', 'Ubuntu', sans-serif;",
  "--vscode-font-size:13px;",
  "--vscode-editor-font-family:'DejaVu Sans Mono', monospace;",
].join("");

const PAGE_CSS = `:root{${DARK}color-scheme:dark}
@media (prefers-color-scheme: light){:root{${LIGHT}color-scheme:light}}
html,body{background:var(--vscode-editor-background);color:var(--vscode-foreground);font-family:var(--vscode-font-family);font-size:var(--vscode-font-size);margin:0}
.static-summary{padding:12px 20px;max-width:1200px}
.static-summary h1{font-size:1.4em;margin:0 0 4px}
.static-summary h2{font-size:1.1em;margin:18px 0 6px}
.static-summary dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
.static-summary dt{color:var(--vscode-descriptionForeground)}
.static-summary dd{margin:0;overflow-wrap:anywhere}
.static-summary table{border-collapse:collapse;font-variant-numeric:tabular-nums}
.static-summary th,.static-summary td{padding:2px 8px;border-bottom:1px solid var(--vscode-editorWidget-border);text-align:left;vertical-align:top}
.static-summary td.num,.static-summary th.num{text-align:right}
.static-summary .sev-error{color:var(--vscode-editorError-foreground)}
.static-summary .sev-warning{color:var(--vscode-editorWarning-foreground)}
.static-summary .sev-info{color:var(--vscode-editorInfo-foreground)}
.static-summary .muted{color:var(--vscode-descriptionForeground)}
.static-summary tr.shift-start td{font-weight:600}
.standalone [data-testid="run-random"],.standalone [data-testid="run-data"],.standalone [data-testid="rerun"],.standalone [data-testid="compare-data"],.standalone [data-testid="show-node"],.standalone [data-testid="compare-back"],.standalone [data-testid="recalibrate-action"]{display:none}`;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };

/** Escapes text for a text node or a double-quoted attribute value (' needs no escape there: CSP keywords stay readable). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ESCAPES[c]);
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 (RFC 4648), written out because core has no Buffer. */
export function base64(bytes: Uint8Array): string {
  const out: string[] = [];
  let chunk = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i];
    const b = i + 1 < bytes.length ? bytes[i + 1] : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2] : 0;
    chunk +=
      B64[a >> 2] +
      B64[((a & 3) << 4) | (b >> 4)] +
      (i + 1 < bytes.length ? B64[((b & 15) << 2) | (c >> 6)] : "=") +
      (i + 2 < bytes.length ? B64[c & 63] : "=");
    if (chunk.length >= 8192) {
      out.push(chunk);
      chunk = "";
    }
  }
  out.push(chunk);
  return out.join("");
}

// Inline scripts end at the first "</script" whatever the JavaScript means; "<\/" is the same string to JavaScript.
function inlineScript(js: string): string {
  return js
    .replace(/<\/(script)/gi, "<\\/$1")
    .replace(/<!--/g, "<\\!--")
    .replace(/\/\/# sourceMappingURL=\S+\s*$/, "");
}

/** A number with `digits` significant digits for the summary ("–" when missing). */
export function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}

/** A share as a percentage for the summary ("–" when missing). */
export function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)}%`;
}

const SEVERITY_WORD: Record<Severity, string> = { error: "error", warning: "warning", info: "info" };

/** The summary table, rendered here: model, data, every layer and every finding, readable without JavaScript. */
export function summaryHtml(r: Report): string {
  const e = escapeHtml;
  const m = r.model;
  const facts: [string, string][] = [
    [
      "Model",
      `${m.name} (opset ${m.opset}, ${m.nodeCount} nodes${m.producer ? `, ${m.producer}` : ""}, ${m.sizeBytes.toLocaleString("en")} bytes)`,
    ],
    ["Path", m.path],
    ["sha256", m.sha256],
    ["Found", m.statement],
    ["Data", r.data.description],
    [
      "Samples",
      `${r.samples}, batch ${r.run.batchSize}, ${(r.run.elapsedMs / 1000).toFixed(1)} s${r.run.runs > 1 ? `, merged from ${r.run.runs} runs` : ""}; statistics: ${r.run.precision.mode}`,
    ],
    ["Findings", `${r.summary.warnings.error} errors, ${r.summary.warnings.warning} warnings, ${r.summary.warnings.info} info`],
    ["Made", `${r.createdAt} by BN Lens ${r.generator.version}, onnxruntime ${r.generator.onnxruntime}`],
  ];
  for (const n of m.notes) facts.push(["Note", n]);
  const dl = facts.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join("");
  let table: string;
  if (r.layers.length) {
    const rows = r.layers
      .map((l) => {
        const s = l.summary;
        const sev = s.severity;
        return (
          `<tr><td class="num">${l.index}</td><td>${e(l.node)}</td><td class="num">${l.channels}</td><td>${e(l.activation.op)}</td>` +
          `<td class="num">${s.worstZ ? `${num(Math.abs(s.worstZ.value))} <span class="muted">c${s.worstZ.channel}</span>` : "–"}</td>` +
          `<td class="num">${s.worstVarRatio ? `${num(s.worstVarRatio.value)} <span class="muted">c${s.worstVarRatio.channel}</span>` : "–"}</td>` +
          `<td class="num">${pct(l.saturation.layerFraction)}</td><td class="num">${s.deadChannels.length}</td>` +
          `<td${sev ? ` class="sev-${sev}"` : ""}>${sev ? SEVERITY_WORD[sev] : ""}</td></tr>`
        );
      })
      .join("\n");
    table =
      `<table data-testid="summary-layers"><thead><tr><th class="num">#</th><th>BN layer</th><th class="num">ch</th><th>then</th>` +
      `<th class="num">max |z|</th><th class="num">max var ratio</th><th class="num">in flat</th><th class="num">dead</th><th>severity</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
  } else {
    const rows = r.activations
      .map((a) => {
        const sev = a.warnings.reduce<Severity | null>(
          (w, x) =>
            w === "error" || x.severity === "error" ? "error" : w === "warning" || x.severity === "warning" ? "warning" : x.severity,
          null,
        );
        return `<tr><td class="num">${a.index}</td><td>${e(a.node)}</td><td>${e(a.op)}</td><td class="num">${a.channels}</td><td>${e(a.activation.op)}</td><td class="num">${pct(a.saturation.layerFraction)}</td><td${sev ? ` class="sev-${sev}"` : ""}>${sev ?? ""}</td></tr>`;
      })
      .join("\n");
    table = `<table data-testid="summary-layers"><thead><tr><th class="num">#</th><th>layer</th><th>op</th><th class="num">ch</th><th>then</th><th class="num">in flat</th><th>severity</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
  }
  const findings = [...r.warnings, ...r.layers.flatMap((l) => l.warnings), ...r.activations.flatMap((a) => a.warnings)];
  const list = findings.length
    ? `<table data-testid="summary-findings"><thead><tr><th>severity</th><th>layer</th><th>rule</th><th>finding</th></tr></thead><tbody>\n${findings
        .map(
          (w) =>
            `<tr><td class="sev-${w.severity}">${SEVERITY_WORD[w.severity]}</td><td>${e(w.layer ?? "(model)")}</td><td>${e(w.rule)}</td><td>${e(w.message)}</td></tr>`,
        )
        .join("\n")}\n</tbody></table>`
    : "<p>No findings.</p>";
  return (
    `<section class="static-summary" id="static-summary" data-testid="static-summary">\n<h1>BN Lens report: ${e(m.name)}</h1>\n<dl>${dl}</dl>\n` +
    `<h2>${r.layers.length ? "BatchNormalization layers" : "Activation layers (BN was fused away)"}</h2>\n${table}\n<h2>Findings</h2>\n${list}\n</section>`
  );
}

/** What every standalone page is built from: the bundles, the summary and the embedded document. */
export interface StandalonePageOptions extends Omit<HtmlReportOptions, "report"> {
  /** The page title (after "BN Lens: "). */
  title: string;
  /** The BN Lens version that made the embedded document. */
  version: string;
  /** The summary rendered without JavaScript (hidden by the host once the panel runs). */
  summary: string;
  /** The embedded document (an inspection report or a comparison), as the host reads it. */
  payload: unknown;
}

/** The whole page of an inspection report. */
export function reportHtml(o: HtmlReportOptions): string {
  const { report, recalibration, ...rest } = o;
  return standalonePage({
    ...rest,
    title: report.model.name,
    version: report.generator.version,
    summary: summaryHtml(report),
    // The before/after rides next to the report under its own key; "Export report…" saves the report alone.
    payload: recalibration ? { ...report, [RECALIBRATION_KEY]: recalibration } : report,
  });
}

/** A standalone page around any document the standalone host understands. */
export function standalonePage(o: StandalonePageOptions): string {
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(o.nonce)) throw new Error("reportHtml needs a nonce of at least 16 base64 or hex characters");
  const n = escapeHtml(o.nonce);
  const csp = [
    "default-src 'none'",
    "img-src data: blob:",
    `style-src 'nonce-${o.nonce}'`,
    `script-src 'nonce-${o.nonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  const json = strToU8(JSON.stringify(o.payload));
  const data = base64(o.gzip ? o.gzip(json) : gzipSync(json, { level: 9 }));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="BN Lens ${escapeHtml(o.version)}">
<title>BN Lens: ${escapeHtml(o.title)}</title>
<style nonce="${n}">${PAGE_CSS}</style>
<style nonce="${n}">${o.panelCss.replace(/<\/(style)/gi, "<\\/$1")}</style>
</head>
<body>
${o.summary}
<div id="app" data-testid="app"></div>
<script nonce="${n}" type="application/gzip+base64" id="${REPORT_DATA_ID}">${data}</script>
<script nonce="${n}">${inlineScript(o.hostScript)}</script>
<script nonce="${n}">${inlineScript(o.panelScript)}</script>
</body>
</html>
`;
}
