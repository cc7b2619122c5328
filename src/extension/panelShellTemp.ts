/**
 * TEMPORARY: a stand-in for src/core/webviewShell.ts's panelHtml until the webview (webview/main.ts,
 * media/panel.css) lands; delete this file then. It speaks the real protocol (src/protocol/webview.ts)
 * with a few lines of inline script under a strict nonce CSP, so the host side can be exercised end to end.
 */

/** Same options as webviewShell's panelHtml. */
export interface PanelHtmlOptions {
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
  codiconUri?: string;
  title?: string;
}

export function panelHtml(o: PanelHtmlOptions): string {
  const csp = `default-src 'none'; img-src ${o.cspSource} data:; style-src ${o.cspSource} 'nonce-${o.nonce}'; script-src 'nonce-${o.nonce}';`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="${csp}">
<title>BN Lens</title></head>
<body><div id="app" data-testid="app"><p id="status">Loading BN Lens…</p><p id="statement"></p>
<button id="run">Run</button> <button id="runData">Run with Data…</button> <button id="cancel">Cancel</button> <button id="export">Export</button>
<div id="layers"></div></div>
<script nonce="${o.nonce}">
const vscode = acquireVsCodeApi();
const $ = (id) => document.getElementById(id);
const text = (el, t) => { el.textContent = t; };
$("run").onclick = () => vscode.postMessage({ type: "runInspection", withData: false });
$("runData").onclick = () => vscode.postMessage({ type: "runInspection", withData: true });
$("cancel").onclick = () => vscode.postMessage({ type: "cancelRun" });
$("export").onclick = () => vscode.postMessage({ type: "exportReport" });
function rows(list) {
  const box = $("layers"); box.replaceChildren();
  const table = document.createElement("div"); table.dataset.testid = "overview";
  for (const r of list) { const d = document.createElement("div"); d.dataset.testid = "layer-row"; d.textContent = r; d.onclick = () => vscode.postMessage({ type: "revealNode", node: r.split(" ")[0] }); table.append(d); }
  box.append(table);
}
window.addEventListener("message", (e) => {
  const m = e.data;
  switch (m.type) {
    case "modelDescribed": text($("statement"), m.overview.model.statement + (m.trusted ? "" : " (untrusted workspace: not run)")); if (!$("layers").querySelector("[data-testid=overview]")) { text($("status"), "Not run yet."); } break;
    case "runStarted": text($("status"), "Running: " + m.description); break;
    case "runProgressed": text($("status"), m.progress.message); break;
    case "runFailed": text($("status"), m.message); break;
    case "runCancelled": text($("status"), "Cancelled."); break;
    case "modelFailed": text($("status"), m.message); break;
    case "runFinished": {
      const t0 = performance.now();
      text($("status"), (m.restored ? "Restored: " : "") + m.report.summary.layers + " layers");
      rows(m.report.rows.map((r) => r.node + " " + r.op + " " + r.channels));
      requestAnimationFrame(() => vscode.postMessage({ type: "overviewRendered", rows: m.report.rows.length, firstPaintMs: performance.now() - t0 }));
      break;
    }
  }
});
vscode.postMessage({ type: "webviewReady" });
</script></body></html>`;
}
