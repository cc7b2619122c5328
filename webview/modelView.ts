// The model as stored, before any run: its inputs, each BN layer's learned and running parameters, what
// follows each BN, and the plain statement when BN was fused away.
import type { ModelDescription, StoredLayer } from "../src/core/inspect/modelDescription";
import { h } from "./dom";
import { bytes, count, percent, plural, range, shape } from "./format";
import { palette, setupCanvas, withAlpha } from "./theme";

const MINI_W = 72;
const MINI_H = 22;

function extent(xs: readonly number[]): [number | null, number | null] {
  if (xs.length === 0) return [null, null];
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

function rangeOf(xs: readonly number[]): string {
  const [lo, hi] = extent(xs);
  return range(lo, hi);
}

/** Mini chart: γ per channel as bars (zero line in the middle when γ has both signs). */
function drawGamma(canvas: HTMLCanvasElement, l: StoredLayer, dead: ReadonlySet<number>): void {
  const p = palette();
  const ctx = setupCanvas(canvas, MINI_W, MINI_H);
  const [lo, hi] = extent(l.gamma);
  if (lo === null || hi === null) return;
  const top = Math.max(hi, 0);
  const bot = Math.min(lo, 0);
  const span = top - bot || 1;
  const y = (v: number) => 1 + ((top - v) / span) * (MINI_H - 2);
  const slot = MINI_W / l.gamma.length;
  ctx.fillStyle = withAlpha(p.grid, 0.8);
  ctx.fillRect(0, Math.round(y(0)), MINI_W, 1);
  for (let c = 0; c < l.gamma.length; c++) {
    const g = l.gamma[c];
    ctx.fillStyle = dead.has(c) ? p.error : p.gamma;
    const y0 = y(0);
    const y1 = y(g);
    ctx.fillRect(c * slot, Math.min(y0, y1), Math.max(0.6, slot - (slot > 2 ? 0.5 : 0)), Math.max(1, Math.abs(y1 - y0)));
  }
}

/** Mini chart: running variance per channel as dots on a log scale. */
function drawVar(canvas: HTMLCanvasElement, l: StoredLayer): void {
  const p = palette();
  const ctx = setupCanvas(canvas, MINI_W, MINI_H);
  const logs = l.running.var.map((v) => Math.log10(Math.max(v, 1e-12)));
  const [lo, hi] = extent(logs);
  if (lo === null || hi === null) return;
  const span = hi - lo || 1;
  const slot = MINI_W / logs.length;
  ctx.fillStyle = p.pre;
  for (let c = 0; c < logs.length; c++) {
    const y = 2 + ((hi - logs[c]) / span) * (MINI_H - 4);
    ctx.fillRect(c * slot + slot / 2 - 1, y - 1, 2, 2);
  }
}

/** What reads a BN output that no nonlinearity follows ("Add", "Concat, Conv", or "the graph output"). */
function followers(l: StoredLayer): string {
  const c = l.activation.consumers;
  if (c.length === 0) return "the graph output";
  const shown = c.slice(0, 3).join(", ");
  return c.length > 3 ? `${shown} and ${c.length - 3} more` : shown;
}

export class ModelView {
  readonly element: HTMLElement;
  private readonly draws: (() => void)[] = [];
  private readonly io: IntersectionObserver;

  constructor(m: ModelDescription) {
    const mm = m.model;
    const scratch = document.createElement("canvas");
    // Draw each row's mini charts only when it scrolls into view.
    const pending = new Map<Element, () => void>();
    this.io = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          if (!e.isIntersecting) continue;
          pending.get(e.target)?.();
          pending.delete(e.target);
          this.io.unobserve(e.target);
        }
      },
      { rootMargin: "400px 0px" },
    );
    // The Notes column exists only when a stored value says something (γ ≈ 0 or variance ≈ 0 somewhere).
    const anyNote = m.layers.some((l) => l.deadChannels.length > 0);
    const rows = m.layers.map((l) => {
      // The core decided which channels are dead, with the user's thresholds.
      const dead = l.deadChannels;
      const deadSet = new Set(dead);
      // Drawn once on a scratch canvas and shown as images: hundreds of <img> cost the compositor
      // nothing, hundreds of canvases a layer each.
      const g = h("img", { class: "mini", alt: "", width: MINI_W, height: MINI_H });
      const v = h("img", { class: "mini", alt: "", width: MINI_W, height: MINI_H });
      const draw = () => {
        drawGamma(scratch, l, deadSet);
        g.src = scratch.toDataURL();
        drawVar(scratch, l);
        v.src = scratch.toDataURL();
      };
      this.draws.push(draw);
      const tr = h(
        "tr",
        { "data-testid": "stored-layer-row", "data-node": l.node },
        h("td", { class: "num" }, String(l.index)),
        h("td", { class: "name", title: l.node }, l.node),
        h("td", { class: "num" }, count(l.channels)),
        h("td", null, l.producer?.op ?? "input"),
        h(
          "td",
          {
            title:
              l.activation.op === "none"
                ? `No nonlinearity follows; the output goes to ${followers(l)}.`
                : `${l.activation.description}; flat where ${l.activation.flatRegion.description}`,
          },
          l.activation.op === "none" ? h("span", { class: "muted" }, `→ ${followers(l)}`) : l.activation.op,
        ),
        h("td", { class: "num" }, rangeOf(l.gamma)),
        h("td", { class: "mini", title: "γ per channel (red: γ ≈ 0)" }, g),
        h("td", { class: "num" }, rangeOf(l.beta)),
        h("td", { class: "num" }, rangeOf(l.running.mean)),
        h("td", { class: "num" }, rangeOf(l.running.var)),
        h("td", { class: "mini", title: "Running variance per channel, log scale" }, v),
        expectedCell(l),
        anyNote
          ? h(
              "td",
              { class: dead.length ? "note warn" : "note muted" },
              dead.length ? `${plural(dead.length, "channel")} with γ ≈ 0 or variance ≈ 0` : "",
            )
          : null,
      );
      pending.set(tr, draw);
      return tr;
    });
    for (const tr of pending.keys()) this.io.observe(tr);

    const th = (label: string, title: string, cls = "") => h("th", { scope: "col", title, class: cls || null }, label);
    const layersTable = m.layers.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "stored", "data-testid": "stored-layers" },
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                th("#", "Position in the graph"),
                th("BN layer", "The BatchNormalization node"),
                th("Ch", "Channels", "num"),
                th("After", "The operation feeding the BN"),
                th("Then", "The nonlinearity that follows the BN"),
                th("γ (scale)", "Range of gamma, the learned per-channel scale", "num"),
                th("γ by channel", "Gamma per channel; red bars are ≈ 0 (the channel is constant)"),
                th("β (shift)", "Range of beta, the learned per-channel shift", "num"),
                th("Running mean", "Range of the mean stored in training; BN subtracts it", "num"),
                th("Running var", "Range of the variance stored in training; BN divides by its square root", "num"),
                th("Var by channel", "Running variance per channel on a log scale"),
                th(
                  "Expected flat",
                  "Share of post-BN values training expected in the following nonlinearity's flat region: post-BN values N(β, γ²) under the stored statistics (a normal approximation), mean over channels",
                  "num",
                ),
                anyNote ? th("Notes", "What the stored values alone reveal") : null,
              ),
            ),
            h("tbody", null, ...rows),
          ),
        )
      : null;

    const probes = m.probes.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "stored", "data-testid": "probes" },
            h(
              "thead",
              null,
              h("tr", null, th("Layer", "Conv/Gemm/MatMul node"), th("Op", "Operation"), th("Then", "Nonlinearity that follows")),
            ),
            h(
              "tbody",
              null,
              ...m.probes.map((p) => h("tr", null, h("td", { class: "name" }, p.node), h("td", null, p.op), h("td", null, p.activation))),
            ),
          ),
        )
      : null;

    this.element = h(
      "section",
      { class: "model-view", "data-testid": "model-overview", "aria-label": "The model as stored" },
      h(
        "section",
        { class: "card" },
        h("h3", null, "What the model stores"),
        h("p", { class: mm.fusedAway ? "statement notice sev-info" : "statement", "data-testid": "statement" }, mm.statement),
        h(
          "p",
          { class: "facts muted" },
          [
            `${mm.producer || "unknown producer"}`,
            `opset ${mm.opset}`,
            `IR ${mm.irVersion}`,
            plural(mm.nodeCount, "node"),
            bytes(mm.sizeBytes),
          ].join(" · "),
        ),
        h("h4", null, "Inputs"),
        h(
          "ul",
          { class: "inputs", "data-testid": "inputs" },
          ...mm.inputs.map((i) => h("li", null, h("code", null, i.name), ` ${i.dtype}, ${shape(i.dims)}`)),
        ),
        h(
          "p",
          { class: "muted" },
          "Nothing has run yet: these are the values saved in the file. Run the model to compare them with what your data produces.",
        ),
      ),
      layersTable
        ? h(
            "section",
            { class: "card" },
            h("h3", null, `${plural(m.layers.length, "BatchNormalization layer")}`),
            h(
              "p",
              { class: "caption" },
              "γ and β are learned scale and shift; the running mean and variance are the statistics BN stored during training and uses at inference. " +
                "A channel with γ ≈ 0 or running variance ≈ 0 outputs a constant.",
            ),
            layersTable,
          )
        : null,
      probes
        ? h(
            "section",
            { class: "card" },
            h("h3", null, `Layers BN Lens will observe instead (${m.probes.length})`),
            h(
              "p",
              { class: "caption" },
              "Without BN nodes there are no running statistics to check; a run measures these layers' outputs and how often the nonlinearity after them is flat.",
            ),
            probes,
          )
        : null,
    );
  }

  /** Redraws the mini charts already drawn (theme change). */
  redraw(): void {
    for (const d of this.draws) d();
  }

  dispose(): void {
    this.io.disconnect();
  }
}

/** The flat share gamma and beta imply, as a table cell: "31% off", "51% saturated", the worst channel in the title. */
function expectedCell(l: StoredLayer): HTMLElement {
  const e = l.expected;
  if (l.activation.op === "none" || !e || e.flat.length === 0 || e.flat.every((f) => f === 0))
    return h("td", { class: "num muted", "data-testid": "expected-flat" }, "–");
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const off = mean(e.off),
    sat = mean(e.saturated);
  let worst = 0;
  e.flat.forEach((f, c) => (f > e.flat[worst] ? (worst = c) : undefined));
  const text = [off > 0 ? `${percent(off)} off` : "", sat > 0 ? `${percent(sat)} saturated` : ""].filter(Boolean).join(", ");
  return h(
    "td",
    {
      class: "num",
      "data-testid": "expected-flat",
      title: `Expected from γ and β alone (normal approximation); most in channel ${worst}: ${percent(e.flat[worst])}.`,
    },
    text,
  );
}
