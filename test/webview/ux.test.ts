// The panel at the places where a new user got lost (issue "The panel and commands as a user meets them"):
// Re-run as the primary action after a run on data, a fused-BN model in its own words, narrow editors,
// the shape question, an unreadable model, the detail view's numbering, readout, hover and keyboard, restored
// reports and the notes about what BN Lens changed. Real reports from the CLI; screenshots in
// test-results/webview/ux-*.png at full and narrow width, light and dark.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { compactReport } from "../../src/core/inspect/panelData";
import type { ModelDescription } from "../../src/core/inspect/modelDescription";
import type { Report } from "../../src/core/report";
import type { WebviewToHost } from "../../src/protocol/webview";
import { webviewHandlers, webviewServer } from "../../src/extension/webviewHandlers";
import { layerIntervals } from "../../src/core/stats/channelIntervals";
import { fusedModelBytes } from "../helpers/fusedModel";
import { recalData, recalModelBytes } from "../helpers/recalModels";
import { FACE_DETECTOR, FACE_IMAGES, ROOT } from "../helpers/paths";
import { launchBrowser, Panel, type ThemeName } from "./harness";

const CLI = path.join(ROOT, "dist", "cli.js");

function cli(...args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, `bn-lens ${args.join(" ")}: ${r.stderr}`);
}

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T;

/** Answers getLayer from the full report with the host's own handlers. */
function answering(get: () => Report | null) {
  const handlers = webviewHandlers(() => get() ?? undefined);
  return (m: WebviewToHost, panel: Panel): void => {
    if (m.type === "getLayer" || m.type === "cancel") void webviewServer(handlers, (reply) => void panel.send(reply)).handle(m);
  };
}

/** Whether an element is shown (not display:none, not visibility:hidden, has a size). */
async function visible(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((sel) => {
    const el = document.querySelector<HTMLElement>(sel);
    if (!el) return false;
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return cs.visibility !== "hidden" && cs.display !== "none" && r.width > 1 && r.height > 0;
  }, selector);
}

describe("BN Lens panel: the places a new user got lost", function () {
  this.timeout(240_000);
  let tmp: string;
  let face: Report;
  let faceModel: ModelDescription;
  let fused: Report;
  let training: Report;
  let browser: { browser: BrowserContext; close(): Promise<void> };
  let report: Report | null = null;
  const panels: Panel[] = [];

  async function open(o: { width?: number; height?: number; theme?: ThemeName } = {}): Promise<Panel> {
    const p = await Panel.open(browser.browser, { ...o, onMessage: answering(() => report) });
    panels.push(p);
    return p;
  }

  async function finish(panel: Panel, r: Report, restored = false): Promise<void> {
    report = r;
    await panel.clearPosted();
    await panel.send({ type: "runFinished", report: compactReport(r), restored });
    await panel.waitForPosted("overviewRendered");
  }

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-ux-"));
    cli("inspect", FACE_DETECTOR, "--data", FACE_IMAGES, "--mean", "127", "--std", "128", "--json", path.join(tmp, "face.json"));
    face = readJson<Report>(path.join(tmp, "face.json"));
    cli("describe", FACE_DETECTOR, "--json", path.join(tmp, "overview.json"));
    faceModel = readJson<ModelDescription>(path.join(tmp, "overview.json"));
    fs.writeFileSync(path.join(tmp, "fused.onnx"), fusedModelBytes());
    cli("inspect", path.join(tmp, "fused.onnx"), "--samples", "32", "--json", path.join(tmp, "fused.json"));
    fused = readJson<Report>(path.join(tmp, "fused.json"));
    fs.writeFileSync(path.join(tmp, "train-mode.onnx"), recalModelBytes({ trainingMode: true }));
    fs.writeFileSync(path.join(tmp, "train-mode.npy"), recalData(32));
    cli(
      "inspect",
      path.join(tmp, "train-mode.onnx"),
      "--data",
      path.join(tmp, "train-mode.npy"),
      "--train-batch",
      "4",
      "--json",
      path.join(tmp, "train-mode.json"),
    );
    training = readJson<Report>(path.join(tmp, "train-mode.json"));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const p of panels.splice(0)) {
      assert.deepEqual(await p.cspViolations(), []);
      assert.deepEqual(p.errors, [], "no page or console errors");
      await p.close();
    }
  });

  it("after a run on data, Re-run repeats it in one click; random data is a secondary choice", async () => {
    for (const theme of ["dark", "light"] as const) {
      const panel = await open({ theme, width: 1440 - 300 });
      await panel.send({ type: "modelDescribed", overview: faceModel, trusted: true });
      // Before any run, choosing data comes first.
      assert.equal(await panel.page.getByTestId("run-data").getAttribute("secondary"), null);
      assert.equal(await panel.page.getByTestId("run-random").getAttribute("secondary"), "");
      await finish(panel, face);
      await panel.send({ type: "rerunOffered", rerun: { withData: true, description: "16 images in face-images, (p − 127) / 128" } });
      const rerun = panel.page.getByTestId("rerun");
      assert.equal(await rerun.innerText(), "Re-run on 16 images in face-images, (p − 127) / 128");
      assert.equal(await rerun.getAttribute("secondary"), null, "Re-run is the primary button");
      assert.equal(await panel.page.getByTestId("run-random").getAttribute("secondary"), "", "random data is secondary");
      assert.equal(await panel.page.getByTestId("run-data").innerText(), "Run on other data…");
      await rerun.click();
      await panel.waitForPosted("rerunInspection");
      await panel.screenshot(`ux-rerun-${theme}`);
    }
  });

  it("a fused-BN model: activation columns and words only, one answer about dead channels", async () => {
    assert.equal(fused.layers.length, 0);
    assert.equal(fused.activations.length, 2);
    for (const theme of ["dark", "light"] as const) {
      const panel = await open({ theme, width: 1140 });
      await finish(panel, fused);
      const { page } = panel;
      assert.equal(await visible(page, ".vlist-header .c-z"), false, "no |z| column without stored statistics");
      assert.equal(await visible(page, ".vlist-header .c-vr"), false, "no variance-ratio column");
      assert.equal(await page.locator(".vlist-header .c-hist").innerText(), "Output values");
      const legend = await page.getByTestId("overview-legend").innerText();
      assert.doesNotMatch(legend, /entering BN|leaving BN/);
      // Channels 2 and 5 of both convolutions have a bias of -1000: ReLU never passes anything.
      const answers = await page.getByTestId("answers").innerText();
      assert.match(answers, /Dead channels\?\s*▲\s*4 channels in 2 layers/);
      const deadCells = await page.locator('[data-testid="layer-row"] .c-dead').allInnerTexts();
      assert.deepEqual(deadCells, ["2", "2"]);
      const badgeTitles = await page
        .locator('[data-testid="layer-row"] .c-find .badge')
        .evaluateAll((els) => els.map((e) => e.getAttribute("title") ?? ""));
      for (const t of badgeTitles) assert.doesNotMatch(t, /gamma|running var|post-BN|after this BN/, t);
      const badgeTexts = await page.locator('[data-testid="layer-row"] .c-find .badge').allInnerTexts();
      assert.ok(
        badgeTexts.some((t) => /2 dead ch/.test(t)),
        badgeTexts.join(" | "),
      );
      await panel.screenshot(`ux-fused-${theme}`);
      // The detail explains a dead channel without gamma or running variance.
      await page.locator('[data-testid="layer-row"]').first().click();
      await page.getByTestId("findings").waitFor();
      const explain = await page.locator('[data-rule="dead-channel"] details p').textContent();
      assert.doesNotMatch(explain ?? "", /gamma|stored variance/);
      await panel.screenshot(`ux-fused-detail-${theme}`);
    }
  });

  for (const width of [1000 - 300, 1000]) {
    it(`a narrow editor (${width} px): the layer name stays, less important columns drop first, findings never; the summary folds`, async () => {
      for (const theme of ["dark", "light"] as const) {
        const panel = await open({ theme, width, height: 700 });
        await finish(panel, face);
        const { page } = panel;
        const list = page.getByTestId("layer-list");
        const overflow = await list.evaluate((el) => el.scrollWidth - el.clientWidth);
        assert.ok(overflow <= 1, `no sideways scroll in the table (${overflow} px)`);
        assert.equal(await visible(page, '[data-testid="layer-row"] .c-layer'), true);
        assert.equal(await visible(page, '[data-testid="layer-row"] .c-find'), true);
        assert.equal(await visible(page, ".vlist-header .c-ch"), false, "the channel count goes first");
        const findW = await page
          .locator('[data-testid="layer-row"] .c-find')
          .first()
          .evaluate((el) => el.getBoundingClientRect().width);
        assert.ok(findW >= 140, `findings column ${findW} px`);
        const nameW = await page
          .locator('[data-testid="layer-row"] .c-layer')
          .first()
          .evaluate((el) => el.getBoundingClientRect().width);
        assert.ok(nameW >= 140, `layer column ${nameW} px`);
        // The second line carries what the dropped columns said.
        assert.match(await page.locator('[data-testid="layer-row"] .c-layer .sub').first().innerText(), /Conv → BN → Relu · 16 ch/);
        const before = await list.evaluate((el) => el.clientHeight);
        await page.getByTestId("summary").click();
        assert.equal(await page.getByTestId("answers").isVisible(), false);
        const after = await list.evaluate((el) => el.clientHeight);
        assert.ok(after > before + 30, `the table gets the height (${before} → ${after} px)`);
        await page.getByTestId("summary").click();
        await panel.screenshot(`ux-narrow-${width}-${theme}`);
      }
    });
  }

  it("the model table at 1440 px: no cut columns, no empty Notes column, the header stays, 'Then' says what follows", async () => {
    for (const theme of ["dark", "light"] as const) {
      const panel = await open({ theme, width: 1440 - 300, height: 800 });
      await panel.send({ type: "modelDescribed", overview: faceModel, trusted: true });
      const { page } = panel;
      await page.getByTestId("stored-layers").waitFor();
      const heads = await page.locator('[data-testid="stored-layers"] thead th').allInnerTexts();
      assert.ok(!heads.includes("Notes"), `no Notes column when no stored value is remarkable: ${heads.join(", ")}`);
      const wrap = page.locator(".model-view .table-wrap");
      await panel.screenshot(`ux-model-table-${theme}`);
      const overflowPx = await wrap.evaluate((el) => el.scrollWidth - el.clientWidth);
      assert.ok(overflowPx <= 1, `no cut columns (the table is ${overflowPx} px wider than its card)`);
      const row40 = await page.locator('[data-testid="stored-layer-row"][data-node="BatchNormalization_40"]').innerText();
      assert.match(row40, /→ Conv/);
      await wrap.evaluate((el) => el.scrollBy(0, 400));
      const head = await page
        .locator('[data-testid="stored-layers"] thead th')
        .first()
        .evaluate((el) => {
          const w = el.closest(".table-wrap")!.getBoundingClientRect();
          return el.getBoundingClientRect().top - w.top;
        });
      assert.ok(Math.abs(head) <= 1, `the header stays at the top of the table (${head})`);
      await panel.screenshot(`ux-model-table-${theme}`);
    }
  });

  it("the shape question waits without a running card, and the run's summary shows the shape used", async () => {
    const panel = await open({ width: 1140 });
    await panel.send({ type: "modelDescribed", overview: faceModel, trusted: true });
    await panel.send({
      type: "shapeAsked",
      question:
        "Input x has dims the data does not fix: type its height (p2o.DynamicDimension.1) and width (p2o.DynamicDimension.2), e.g. x:Nx3x640x640.",
    });
    const { page } = panel;
    await page.getByTestId("shape-question").waitFor();
    assert.equal(await page.getByTestId("running").count(), 0, "no 'Running the model' card while asking");
    assert.match(await page.getByTestId("shape-question-text").innerText(), /height \(p2o\.DynamicDimension\.1\)/);
    await panel.screenshot("ux-shape-question");
    // A report of a model with open dims says which shape it ran.
    const open2: Report = {
      ...face,
      model: { ...face.model, inputs: face.model.inputs.map((i) => ({ ...i, declared: ["N", 3, "h", "w"] })) },
    };
    await finish(panel, open2);
    assert.match(await page.getByTestId("subtitle").innerText(), /input N × 3 × 240 × 320/);
  });

  it("a model that cannot be read keeps its name, its advice and offers no retry", async () => {
    for (const theme of ["dark", "light"] as const) {
      const panel = await open({ theme, width: 1140 });
      const { page } = panel;
      const message = "truncated.onnx is not a complete ONNX model: the file ends inside a field (byte 4096 of 4096). Download it again.";
      await panel.send({ type: "modelFailed", message, name: "truncated.onnx" });
      await panel.send({ type: "runStarted", description: "64 random samples" });
      await panel.send({ type: "runFailed", kind: "model", message });
      await page.getByTestId("error").waitFor();
      assert.equal(await page.getByTestId("title").innerText(), "BN Lens truncated.onnx");
      assert.equal(await page.getByTestId("error-message").innerText(), message);
      assert.equal(await page.getByTestId("retry").count(), 0);
      assert.equal(await page.locator("vscode-button").count(), 0, "nothing to click that cannot work");
      await panel.screenshot(`ux-unreadable-${theme}`);
    }
  });

  it("the detail: one numbering, readout in view over every chart, hover marks the bin, own-peak heights, Tab reaches every control", async () => {
    for (const theme of ["dark", "light"] as const) {
      const panel = await open({ theme, width: 1140, height: 800 });
      await finish(panel, face);
      const { page } = panel;
      await page.locator('[data-testid="layer-row"][data-node="BatchNormalization_28"]').click();
      await page.getByTestId("channel-readout").waitFor();
      const text = await page.getByTestId("layer-detail").innerText();
      assert.doesNotMatch(text, /Layer \d+ of \d+ in the current order/);
      const row = face.layers.find((l) => l.node === "BatchNormalization_28")!;
      assert.match(text, new RegExp(`BN layer #${row.index} of 35`));
      // Hovering the last per-channel chart keeps the readout on screen.
      const charts = page.locator(".channel-charts canvas");
      const last = charts.last();
      await last.scrollIntoViewIfNeeded();
      const box = (await last.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
      const ro = (await page.getByTestId("channel-readout").boundingBox())!;
      assert.ok(ro.y >= -1 && ro.y + ro.height <= 800, `readout in view at y=${ro.y}`);
      assert.match(await page.getByTestId("channel-readout").innerText(), /Channel \d+/);
      await panel.screenshot(`ux-detail-readout-${theme}`);
      // The histogram hover marks its bin.
      const hist = page.getByTestId("histogram");
      await hist.scrollIntoViewIfNeeded();
      const hb = (await hist.boundingBox())!;
      await page.mouse.move(hb.x + hb.width * 0.5, hb.y + hb.height / 2);
      assert.notEqual(await hist.getAttribute("data-marked"), "");
      assert.match(await page.getByTestId("hist-readout").innerText(), /to .*: before BN .*%, after BN .*% of values/);
      await panel.screenshot(`ux-detail-hover-${theme}`);
      // Tab from the title reaches every control of the detail.
      await page.locator("#detail-title").focus();
      const seen = new Set<string>();
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press("Tab");
        const id = await page.evaluate(() => {
          const a = document.activeElement as HTMLElement | null;
          if (!a) return "";
          if (a.dataset.channel !== undefined) return "channel-row";
          return a.dataset.testid ?? (a.classList.contains("channel-charts") ? "channel-charts" : a.tagName.toLowerCase());
        });
        seen.add(id);
      }
      for (const want of ["back", "next", "show-node", "heights", "axis", "histogram", "channel-charts", "all-channels", "channel-row"])
        assert.ok(seen.has(want), `Tab reaches ${want}: ${[...seen].join(", ")}`);
    }
  });

  it("the detail's error bars: z and variance ratio per channel with their intervals, the threshold marked, crossed vs undecided", async () => {
    // A face-detector layer with both a fired variance-ratio rule and an undecided note, if the photos give one.
    const withNote = face.layers.filter((l) => l.warnings.some((w) => w.rule === "variance-ratio" && w.severity === "info"));
    const undecided = withNote.find((l) => l.warnings.some((w) => w.rule === "variance-ratio" && w.severity !== "info")) ?? withNote[0];
    assert.ok(undecided, "16 photos leave some variance ratio undecided");
    const counts = layerIntervals(undecided, face.thresholds).counts;
    assert.ok(counts.ratio.undecided > 0);
    const note = undecided.warnings.find((w) => w.rule === "variance-ratio" && w.severity === "info")!;
    for (const [width, theme] of [
      [1140, "dark"],
      [1140, "light"],
      [560, "dark"],
      [560, "light"],
    ] as const) {
      const panel = await open({ theme, width, height: 900 });
      await finish(panel, face);
      const { page } = panel;
      // The overview row's variance-ratio figure names the worst channel's interval and the verdict counts.
      const tips = await page
        .locator(`[data-testid="layer-row"][data-node="${undecided.node}"] [title]`)
        .evaluateAll((els) => els.map((e) => e.getAttribute("title") ?? ""));
      const tip = tips.find((x) => x.includes("observed and stored variance differ by"));
      assert.match(
        tip ?? "",
        new RegExp(
          `95% CI [\\d.]+× to [\\d.]+×: (crossed with confidence|undecided|within)\\. ${counts.ratio.crossed} channels? crossed with confidence, ${counts.ratio.undecided} undecided\\.$`,
        ),
        tips.join(" | "),
      );
      await page.locator(`[data-testid="layer-row"][data-node="${undecided.node}"]`).click();
      await page.getByTestId("channel-readout").waitFor();
      const titles = await page.locator(".channel-charts .chart-title").allInnerTexts();
      assert.match(
        titles[0],
        /^Mean shift z per channel with its 95% interval; dashed lines at ±1 \(stale\); (\d+) crossed with confidence, (\d+) undecided$/,
      );
      assert.ok(
        titles[1].endsWith(`dashed line at 2×; ${counts.ratio.crossed} crossed with confidence, ${counts.ratio.undecided} undecided`),
        titles[1],
      );
      assert.ok(await visible(page, '[data-testid="interval-legend"]'), "the key to the marks");
      // The undecided note's channel reads as undecided, with its interval, as the finding says.
      await page.locator(`[data-testid="channel-row"][data-channel="${note.channel}"], tr[data-channel="${note.channel}"]`).first().click();
      const ratioText = await page.getByTestId("channel-ratio").innerText();
      assert.match(ratioText, /95% CI [\d.]+× to [\d.]+×: undecided\)$/);
      const iv = undecided.compare.varRatioInterval[note.channel!]!;
      assert.ok(
        iv[0] < 2 && iv[1] > 2 && undecided.compare.varRatio[note.channel!]! >= 2,
        "the interval straddles 2, the estimate is past it",
      );
      // The z chart is the first canvas; it has its dashed threshold lines and error bars drawn (not blank).
      const charts = page.locator(".channel-charts canvas");
      const blank = await charts.first().evaluate((c) => {
        const ctx = (c as HTMLCanvasElement).getContext("2d")!;
        const d = ctx.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data;
        let lit = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) lit++;
        return lit === 0;
      });
      assert.ok(!blank, "the z chart is drawn");
      // A full-page screenshot from the top: the readout sticks to the viewport's top once scrolled.
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.locator(".detail-body").evaluate((el) => el.closest("main, body")?.scrollTo?.(0, 0));
      await panel.screenshot(`ux-detail-error-bars-${width}-${theme}`);
    }
  });

  it("the batch-size section of a training_mode=1 model says how much the outputs depend on the batch, with its interval", async () => {
    const dep = training.batchDependence!;
    assert.ok(dep && dep.outputs.length === 1, "the report carries the measurement");
    for (const [width, theme] of [
      [1140, "dark"],
      [560, "light"],
    ] as const) {
      const panel = await open({ theme, width, height: 900 });
      await finish(panel, training);
      const { page } = panel;
      await page.locator('[data-testid="layer-row"][data-node="bnc"]').click();
      await page.getByTestId("channel-readout").waitFor();
      const line = page.getByTestId("batch-dependence");
      const text = await line.innerText();
      assert.match(
        text,
        /^Training-mode BN \(1 layer\) makes the outputs depend on which samples share a batch: in random batches of 4 \(the training batch size\) output y moves by [\d.]+% of its size \(relative L2, 95% CI [\d.]+% to [\d.]+%\) from its output under population statistics; 32 samples, each in 4 random batches\. This layer is one of them\.$/,
      );
      assert.ok(text.includes(`${(dep.outputs[0].relativeL2Change! * 100).toFixed(2)}%`), `${text} shows the report's figure`);
      await page.getByTestId("batch-chart").scrollIntoViewIfNeeded();
      await page.evaluate(() => window.scrollTo(0, 0));
      await panel.screenshot(`ux-detail-batch-dependence-${width}-${theme}`);
    }
  });

  it("restored reports are marked, notes about what BN Lens changed appear, a Problems entry opens its layer", async () => {
    const panel = await open({ width: 1140 });
    const { page } = panel;
    await finish(panel, face, true);
    assert.match(await page.getByTestId("restored").innerText(), /^Restored · from /);
    assert.ok(face.model.notes.length > 0, "the face detector's report carries notes");
    const notes = await page.getByTestId("run-notes").innerText();
    for (const n of face.model.notes) assert.ok(notes.includes(n), `${n} in ${notes}`);
    const target = face.layers[12];
    await panel.send({ type: "layerRevealed", kind: "bn", index: target.index });
    await page.getByTestId("layer-detail").waitFor();
    assert.equal(await page.locator("#detail-title").innerText(), target.node);
    await panel.screenshot("ux-restored-revealed");
  });
});
