// The panel's pure parts in plain Node: number formats, sorting and filtering rows, and the display
// geometry of histograms (ranges, re-binning, symmetric-log bars), checked against hand-computed values.
import * as assert from "node:assert/strict";
import type { LayerRow } from "../../src/protocol/webview";
import type { WarningJson } from "../../src/core/report";
import { BUCKETS_PER_OCTAVE, ZERO_BUCKET, bucketOf, bucketRange } from "../../src/core/stats/histogram";
import { channelList, count, duration, num, percent, ratio, shape, sigma } from "../../webview/format";
import { answers, badges, deadChannels, level, rowMatches, rowSeverity, ruleExplain, sortRows, visibleRows } from "../../webview/rows";
import { escapeHtml, panelCsp, panelHtml } from "../../src/extension/webviewShell";
import {
  clipIntervals,
  linearShares,
  niceTicks,
  quantileRange,
  symlog,
  symlogBars,
  symlogThreshold,
  unionRange,
} from "../../webview/histogramView";

describe("panel number formats", () => {
  it("shows units and sensible precision", () => {
    assert.equal(sigma(-2.504473), "−2.50σ");
    assert.equal(sigma(0.00963), "0.01σ");
    assert.equal(sigma(-0.001), "0.00σ"); // no "−0.00σ"
    assert.equal(sigma(12.34), "12.3σ");
    assert.equal(sigma(null), "–");
    assert.equal(ratio(20.27531), "20.3×");
    assert.equal(ratio(1.0312), "1.03×");
    assert.equal(ratio(1234.5), "1,235×");
    assert.equal(percent(0.817535), "81.8%");
    assert.equal(percent(1), "100%");
    assert.equal(percent(0.0004), "<0.1%");
    assert.equal(percent(0.99996), ">99.9%");
    assert.equal(percent(0), "0%");
    assert.equal(num(0.000123), "1.23e-4");
    assert.equal(num(-0.0448), "−0.0448");
    assert.equal(num(131072), "1.31e+5");
    assert.equal(num(2), "2");
    assert.equal(count(1228800), "1,228,800");
    assert.equal(duration(850), "850 ms");
    assert.equal(duration(3150), "3.1 s");
    assert.equal(duration(125_000), "2 min 5 s");
    assert.equal(shape([1, 3, 240, 320]), "1 × 3 × 240 × 320");
    assert.equal(shape(["batch", 3, null]), "batch × 3 × ?");
    assert.equal(channelList([0, 1, 3, 4, 5, 6, 7, 8, 9, 10], 3), "0, 1, 3 and 7 more");
  });
});

function row(over: Partial<LayerRow> & { node: string; index: number }): LayerRow {
  return {
    kind: "bn",
    op: "Conv",
    channels: 8,
    activation: { op: "Relu", description: "ReLU", flatRegion: { intervals: [[null, 0]], description: "x ≤ 0", slopeFraction: 0.02 } },
    post: { first: ZERO_BUCKET, counts: [1] },
    min: 0,
    max: 0,
    saturation: { kind: "rectifier", layerFraction: 0.5 },
    expectedFlat: null,
    summary: { worstZ: null, worstVarRatio: null, worstSaturation: null, deadChannels: [], exceed: {}, severity: null },
    warnings: [],
    ...over,
  };
}

const warn = (rule: WarningJson["rule"], severity: WarningJson["severity"]): WarningJson => ({
  rule,
  severity,
  message: `${rule} message`,
});

describe("overview rows: severity, sorting, filtering, badges", () => {
  const sum = (z: number | null, vr: number | null, severity: NonNullable<LayerRow["summary"]>["severity"]) => ({
    worstZ: z === null ? null : { channel: 0, value: z },
    worstVarRatio: vr === null ? null : { channel: 1, value: vr },
    worstSaturation: null,
    deadChannels: [],
    exceed: {},
    severity,
  });
  const rows = [
    row({ node: "a", index: 0, summary: sum(0.5, 1.1, null), saturation: { kind: "rectifier", layerFraction: 0.4 } }),
    row({
      node: "b",
      index: 1,
      summary: sum(-3.2, 1.5, "warning"),
      warnings: [warn("mean-shift", "warning")],
      saturation: { kind: "saturating", layerFraction: 0.9 },
    }),
    row({
      node: "c",
      index: 2,
      summary: sum(1.2, 12, "error"),
      warnings: [warn("mean-shift", "warning"), warn("variance-ratio", "error")],
      saturation: { kind: "none", layerFraction: null },
    }),
    row({
      kind: "activation",
      node: "conv",
      index: 0,
      summary: null,
      warnings: [warn("low-count", "info")],
      saturation: { kind: "rectifier", layerFraction: 0.1 },
    }),
  ];
  const names = (rs: LayerRow[]) => rs.map((r) => r.node);

  it("sorts by |z| (sign ignored), variance ratio, flat share and severity, nulls last either way", () => {
    assert.deepEqual(names(sortRows(rows, "order", "asc")), ["a", "b", "c", "conv"]);
    assert.deepEqual(names(sortRows(rows, "z", "desc")), ["b", "c", "a", "conv"]);
    assert.deepEqual(names(sortRows(rows, "z", "asc")), ["a", "c", "b", "conv"]);
    assert.deepEqual(names(sortRows(rows, "varRatio", "desc")), ["c", "b", "a", "conv"]);
    assert.deepEqual(names(sortRows(rows, "saturation", "desc")), ["b", "a", "conv", "c"]);
    assert.deepEqual(names(sortRows(rows, "severity", "desc")), ["c", "b", "conv", "a"]);
  });

  it("filters by severity and by name or nonlinearity", () => {
    assert.equal(rowSeverity(rows[3]), "info");
    const f = (filter: Parameters<typeof rowMatches>[1], search = "") => names(rows.filter((r) => rowMatches(r, filter, search)));
    assert.deepEqual(f("error"), ["c"]);
    assert.deepEqual(f("warning"), ["b", "c"]);
    assert.deepEqual(f("any"), ["b", "c", "conv"]);
    assert.deepEqual(f("ok"), ["a"]);
    assert.deepEqual(f("all", "CON"), ["conv"]);
    assert.deepEqual(f("all", "relu"), ["a", "b", "c", "conv"]);
    assert.deepEqual(names(visibleRows(rows, { sort: "z", dir: "desc", filter: "warning", search: "" })), ["b", "c"]);
  });

  it("answers the three questions: stale statistics, dead channels, saturated or mostly-off nonlinearity", () => {
    const withDead = rows.map((r) =>
      r.node === "a" ? { ...r, summary: { ...r.summary!, deadChannels: [3, 5] }, warnings: [warn("rectifier-off", "warning")] } : r,
    );
    const sat = [...withDead, row({ node: "s", index: 3, warnings: [warn("saturation", "error")] })];
    const a = answers(sat);
    assert.equal(a.hasStored, true);
    assert.deepEqual(names(a.stale), ["b", "c"]);
    assert.deepEqual(
      a.dead.map((d) => [d.row.node, d.channels]),
      [["a", 2]],
    );
    assert.deepEqual(names(a.saturated), ["s"]);
    assert.deepEqual(names(a.mostlyOff), ["a"]);
    assert.equal(answers(rows.filter((r) => r.kind === "activation")).hasStored, false);
  });

  it("gives one badge per rule, worst first", () => {
    const bs = badges([warn("mean-shift", "warning"), warn("variance-ratio", "error"), warn("mean-shift", "warning")]);
    assert.deepEqual(
      bs.map((b) => [b.label, b.severity]),
      [
        ["stale variance", "error"],
        ["stale mean", "warning"],
      ],
    );
  });

  it("per-channel badges count their channels, so 'mostly off' never reads as the layer's flat share", () => {
    const off: WarningJson = { ...warn("rectifier-off", "warning"), channels: [3, 7] };
    const dead: WarningJson = { ...warn("dead-channel", "warning"), channels: [1, 2, 5] };
    assert.deepEqual(
      badges([off, dead]).map((b) => b.label),
      ["2 ch mostly off", "3 dead ch"],
    );
  });

  it("gives one dead-channel answer for fused layers: the finding's channels feed the column and the summary", () => {
    const fusedRow = row({
      node: "conv1",
      index: 0,
      kind: "activation",
      summary: null,
      warnings: [{ ...warn("dead-channel", "warning"), channel: 2, channels: [2, 5] }],
    });
    const bnRow = row({ node: "bn1", index: 0 });
    bnRow.summary!.deadChannels = [4];
    assert.deepEqual(deadChannels(fusedRow), [2, 5]);
    assert.deepEqual(deadChannels(bnRow), [4]);
    assert.deepEqual(
      answers([fusedRow]).dead.map((d) => [d.row.node, d.channels]),
      [["conv1", 2]],
    );
    assert.doesNotMatch(ruleExplain("dead-channel", "activation")!, /gamma|variance/);
    assert.match(ruleExplain("dead-channel", "bn")!, /gamma/);
  });

  it("colours a value exactly at a threshold as crossing it, as the rules do (|z| ≥ 1, r ≥ 2, share ≥ 25%)", () => {
    assert.equal(level(1, { warning: 1, error: 3 }), "warn");
    assert.equal(level(0.999999, { warning: 1, error: 3 }), "");
    assert.equal(level(3, { warning: 1, error: 3 }), "err");
    assert.equal(level(2, { warning: 2, error: 10 }), "warn");
    assert.equal(level(0.25, { warning: 0.25, error: 0.75 }), "warn");
  });
});

describe("histogram display geometry", () => {
  // 1000 values in [1, 1.25) and 1000 in [2, 2.5): two quarter-octave buckets one octave apart.
  const b1 = bucketOf(1.1);
  const b2 = bucketOf(2.2);
  const h = { first: b1, counts: Array.from({ length: b2 - b1 + 1 }, (_, k) => (k === 0 || k === b2 - b1 ? 1000 : 0)) };

  it("finds the central range to bucket resolution, ignoring a rare outlier", () => {
    assert.equal(b2 - b1, BUCKETS_PER_OCTAVE);
    assert.deepEqual(quantileRange(h), [1, 2.5]);
    const withOutlier = { first: h.first, counts: [...h.counts, ...new Array(40).fill(0), 1] };
    assert.deepEqual(quantileRange(withOutlier), [1, 2.5]);
    assert.equal(quantileRange({ first: 0, counts: [] }), null);
    const [lo, hi] = unionRange([
      [1, 2.5],
      [-1, 0],
    ]);
    assert.ok(Math.abs(lo - (-1 - 0.14)) < 1e-12 && Math.abs(hi - (2.5 + 0.14)) < 1e-12);
  });

  it("re-bins onto equal-width bins as shares that sum to 1", () => {
    // Over [1, 3) in 8 bins of 0.25: bucket [1, 1.25) fills bin 0; bucket [2, 2.5) spreads over bins 4 and 5.
    const s = linearShares(h, 1, 3, 8);
    assert.deepEqual(Array.from(s), [0.5, 0, 0, 0, 0.25, 0.25, 0, 0]);
  });

  it("draws stored buckets as symmetric-log bars, pooling those within ±c", () => {
    const ax = symlog(0.5);
    assert.ok(Math.abs(ax.from(ax.to(-3.7)) + 3.7) < 1e-12);
    assert.equal(ax.to(0.5), 1);
    const mixed = { first: bucketOf(-0.3), counts: new Array(bucketOf(0.3) - bucketOf(-0.3) + 1).fill(0) };
    mixed.counts[0] = 2;
    mixed.counts[mixed.counts.length - 1] = 2;
    const bars = symlogBars({ first: mixed.first, counts: [...mixed.counts] }, 0.5);
    assert.deepEqual(bars, [{ lo: -0.5, hi: 0.5, share: 1 }]);
    const apart = symlogBars(h, 0.5);
    assert.deepEqual(
      apart.map((b) => [b.lo, b.hi, b.share]),
      [
        [...bucketRange(b1), 0.5],
        [...bucketRange(b2), 0.5],
      ],
    );
    // 5% of |x| reach at least 1 here, so the threshold is 1 (a power of two at or below it).
    assert.equal(symlogThreshold([h]), 1);
  });

  it("picks round ticks and clips the flat region to the axis", () => {
    assert.deepEqual(niceTicks(-1.2, 3.4, 5), [-1, 0, 1, 2, 3]);
    assert.deepEqual(niceTicks(0, 0.07, 4), [0, 0.02, 0.04, 0.06]);
    assert.deepEqual(
      clipIntervals(
        [
          [null, -5],
          [5, null],
        ],
        -3,
        8,
      ),
      [[5, 8]],
    );
    assert.deepEqual(clipIntervals([[null, 0]], -2, 2), [[-2, 0]]);
  });
});

describe("panel HTML shell", () => {
  const nonce = "AbCdEf0123456789+/==";
  const html = panelHtml({
    cspSource: "https://file+.vscode-resource.vscode-cdn.net",
    nonce,
    scriptUri: "https://x/dist/webview.js?a=1&b=2",
    styleUri: "https://x/media/panel.css",
  });

  it("allows only local resources and the nonce'd script, never inline styles or eval", () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
    assert.equal(csp, panelCsp("https://file+.vscode-resource.vscode-cdn.net", nonce));
    assert.equal(
      csp,
      "default-src 'none'; img-src https://file+.vscode-resource.vscode-cdn.net data:; " +
        `style-src https://file+.vscode-resource.vscode-cdn.net 'nonce-${nonce}'; font-src https://file+.vscode-resource.vscode-cdn.net; script-src 'nonce-${nonce}';`,
    );
    assert.doesNotMatch(html, /unsafe-(inline|eval)/);
    assert.doesNotMatch(html, /style="/);
    // Every script carries the nonce; the only script is the bundle.
    assert.deepEqual(html.match(/<script[^>]*>/g), [`<script nonce="${nonce}" src="https://x/dist/webview.js?a=1&amp;b=2">`]);
    assert.match(html, /<link rel="stylesheet" nonce="[^"]+" href="https:\/\/x\/media\/panel.css">/);
    assert.match(html, /<div id="app"/);
  });

  it("escapes what it interpolates and refuses a weak nonce", () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;");
    assert.match(panelHtml({ cspSource: "s", nonce, scriptUri: "a", styleUri: "b", title: "<b>" }), /<title>&lt;b&gt;<\/title>/);
    assert.throws(() => panelHtml({ cspSource: "s", nonce: "short", scriptUri: "a", styleUri: "b" }), /nonce/);
    assert.throws(() => panelHtml({ cspSource: "s", nonce: `${nonce}"><script>`, scriptUri: "a", styleUri: "b" }), /nonce/);
  });
});
