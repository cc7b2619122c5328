/**
 * The standalone HTML page of a comparison (bn-lens compare --html, inspect --baseline --html, bn-lens html
 * COMPARISON.json): the same page as an inspection's (htmlReport.ts), with the comparison embedded, which
 * the standalone host hands to the panel's comparison mode, and a summary readable without JavaScript:
 * model, A and B, where the shift starts, the per-layer drift table in graph order and the findings.
 */
import type { ComparedSideJson, ComparisonReport } from "../compare/comparisonReport";
import { escapeHtml, num, pct, standalonePage, type HtmlReportOptions } from "./htmlReport";

/** What the comparison page is built from. */
export interface ComparisonHtmlOptions extends Omit<HtmlReportOptions, "report"> {
  comparison: ComparisonReport;
}

function side(s: ComparedSideJson): string {
  return `${s.data.description} · ${s.samples} samples · ${s.precision.mode}${s.reportPath ? ` · ${s.reportPath}` : ""} · ${s.createdAt}`;
}

/** The comparison's summary, rendered here: model, A and B, the shift's start, every layer and every finding. */
export function comparisonSummaryHtml(c: ComparisonReport): string {
  const e = escapeHtml;
  const f = c.summary.findings;
  const start = c.shiftStart;
  const facts: [string, string][] = [
    ["Model", `${c.model.name} (${c.model.bnCount} BN layers${c.model.fusedAway ? ", BN fused away" : ""})`],
    ["Path", c.model.path],
    ["sha256", c.model.sha256],
    ["A (baseline)", side(c.a)],
    ["B", side(c.b)],
    [
      "Thresholds",
      `Jensen-Shannon distance ${c.thresholds.jsDistance.warning} (warning), ${c.thresholds.jsDistance.error} (error), and ${c.thresholds.noiseFactor}× the noise floor`,
    ],
    ["Findings", `${f.error} errors, ${f.warning} warnings, ${f.info} info`],
    ["Made", `${c.createdAt} by BN Lens ${c.generator.version}`],
  ];
  const dl = facts.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join("");
  const lead = start
    ? `<p data-testid="summary-shift-start"><strong>The shift starts at layer ${start.index} (${e(start.node)})</strong>: Jensen-Shannon distance ${num(start.score)}; ${c.summary.drifting} of ${c.summary.layers} layers drift.</p>`
    : `<p data-testid="summary-shift-start"><strong>No drift</strong>: no layer crosses the threshold.</p>`;
  const rows = c.layers
    .map((l) => {
      const sev = l.severity;
      const worst = l.worst
        .slice(0, 3)
        .map((w) => `c${w.channel} ${num(w.js)}`)
        .join(", ");
      const mark = start && start.index === l.index ? ' class="shift-start"' : "";
      return (
        `<tr${mark}><td class="num">${l.index}</td><td>${e(l.node)}</td><td class="num">${l.channels}</td>` +
        `<td class="num">${num(l.pre.score)}</td><td class="num">${num(l.pre.scoreNoiseFloor)}</td><td class="num">${num(l.pre.pooledJs)}</td>` +
        `<td class="num">${l.shiftedChannels.length}</td><td>${e(worst || "–")}</td>` +
        `<td class="num">${pct(l.a.layerFlatShare)} → ${pct(l.b.layerFlatShare)}</td><td class="num">${l.newDead.length}</td>` +
        `<td${sev ? ` class="sev-${sev}"` : ""}>${sev ?? (l.drifting ? "drifts" : "")}</td></tr>`
      );
    })
    .join("\n");
  const table =
    `<table data-testid="summary-layers"><thead><tr><th class="num">#</th><th>${c.model.fusedAway ? "layer" : "BN layer"}</th><th class="num">ch</th>` +
    `<th class="num">drift (max JS)</th><th class="num">noise floor</th><th class="num">pooled JS</th><th class="num">shifted ch</th><th>worst channels (JS)</th>` +
    `<th class="num">in flat A → B</th><th class="num">new dead</th><th>severity</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
  const findings = c.layers.flatMap((l) => l.findings);
  const list = findings.length
    ? `<table data-testid="summary-findings"><thead><tr><th>severity</th><th>layer</th><th>rule</th><th>finding</th></tr></thead><tbody>\n${findings
        .map(
          (w) =>
            `<tr><td class="sev-${w.severity}">${w.severity}</td><td>${e(w.layer)}</td><td>${e(w.rule)}</td><td>${e(w.message)}</td></tr>`,
        )
        .join("\n")}\n</tbody></table>`
    : "<p>No findings.</p>";
  return (
    `<section class="static-summary" id="static-summary" data-testid="static-summary">\n<h1>BN Lens comparison: ${e(c.model.name)}</h1>\n<dl>${dl}</dl>\n${lead}\n` +
    `<h2>Drift per layer, in graph order</h2>\n${table}\n<h2>Findings</h2>\n${list}\n</section>`
  );
}

/** The whole page of a comparison. */
export function comparisonHtml(o: ComparisonHtmlOptions): string {
  const { comparison, ...rest } = o;
  return standalonePage({
    ...rest,
    title: `comparison of ${comparison.model.name}`,
    version: comparison.generator.version,
    summary: comparisonSummaryHtml(comparison),
    payload: comparison,
  });
}
