// The panel's before/after of a recalibration in headless Chromium: the face detector recalibrated by the
// CLI on its 16 photos, the check of the new model sent as the host sends it after "Recalibrate BN Statistics
// on Data...", looked at at full and narrow width, dark and light. Figures on screen are checked against the
// CLI's own JSON (the recalibration's result), the histograms against the two reports' stored buckets.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compactReport } from "../../src/core/inspect/panelData";
import { beforeAfter } from "../../src/core/recalibrate/beforeAfter";
import type { RecalibrationJson } from "../../src/core/recalibrate/recalibration";
import { webviewHandlers, webviewServer } from "../../src/extension/webviewHandlers";
import { FACE_DETECTOR, FACE_IMAGES, ROOT } from "../helpers/paths";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";
import { reportHtml } from "../../src/core/share/htmlReport";
import { CHROMIUM, launchBrowser, Panel, type ThemeName } from "./harness";
import { CHROMIUM_ARGS, openOffline } from "./offlinePage";

/** The panel's bundle and a fresh nonce, as the HTML export embeds them. */
function panelBundle() {
  const read = (...p: string[]) => fs.readFileSync(path.join(ROOT, ...p), "utf8");
  return {
    panelScript: read("dist", "webview.js"),
    hostScript: read("dist", "standalone.js"),
    panelCss: read("media", "panel.css"),
    nonce: randomBytes(18).toString("base64"),
  };
}

const CLI = path.join(ROOT, "dist", "cli.js");

async function inked(panel: Panel, selector: string): Promise<number> {
  return panel.page
    .locator(selector)
    .first()
    .evaluate((c) => {
      const cv = c as HTMLCanvasElement;
      const d = cv.getContext("2d")!.getImageData(0, 0, cv.width, cv.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
}

describe("BN Lens panel: before → after a recalibration (headless Chromium)", function () {
  this.timeout(300_000);
  let tmp: string;
  let r: RecalibrationJson;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-recal-webview-"));
    const json = path.join(tmp, "recal.json");
    const out = path.join(tmp, "face.recalibrated.onnx");
    const res = spawnSync(
      process.execPath,
      [CLI, "recalibrate", FACE_DETECTOR, "--data", FACE_IMAGES, "--mean", "127", "--std", "128", "--out", out, "--json", json],
      { encoding: "utf8", timeout: 240_000 },
    );
    assert.equal(res.status, 0, res.stderr);
    r = JSON.parse(fs.readFileSync(json, "utf8")) as RecalibrationJson;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function open(theme: ThemeName, width: number): Promise<Panel> {
    const handlers = webviewHandlers(() => r.after);
    const panel = await Panel.open(browser.browser, {
      theme,
      width,
      height: 900,
      onMessage: (m, p) => {
        if (m.type === "getLayer" || m.type === "cancel") void webviewServer(handlers, (reply) => void p.send(reply)).handle(m);
      },
    });
    await panel.send({ type: "runFinished", report: { ...compactReport(r.after), recalibration: beforeAfter(r) }, restored: false });
    await panel.waitForPosted("overviewRendered");
    return panel;
  }

  for (const [theme, width] of [
    ["dark", 1280],
    ["light", 1280],
    ["dark", 760],
    ["light", 760],
  ] as const) {
    it(`${theme}, ${width} px: the overview's card, every layer before → after, a layer's old and new post-BN histograms`, async () => {
      const panel = await open(theme, width);
      const { page } = panel;
      const tag = `${theme}-${width}`;
      try {
        const worstBefore = Math.max(...r.layers.map((l) => l.before.worstZ ?? 0));
        const stale = (side: "before" | "after") =>
          (side === "before" ? r.before : r.after).layers.reduce(
            (n, l) =>
              n + l.warnings.filter((w) => (w.rule === "mean-shift" || w.rule === "variance-ratio") && w.severity !== "info").length,
            0,
          );
        assert.ok(stale("before") > 0 && stale("after") === 0, "the face detector's stale statistics are fixed");
        const card = page.getByTestId("recal-summary");
        await card.waitFor();
        assert.match(
          await page.getByTestId("recal-headline").innerText(),
          /Recalibrated from version-RFB-320\.onnx: 35 of 35 BN layers re-estimated on 16 samples/,
        );
        const figures = await page.getByTestId("recal-figures").innerText();
        assert.ok(figures.includes(`Worst |z| ${worstBefore.toFixed(2)}σ → 0.00σ`), figures);
        assert.ok(figures.includes(`stale-statistics warnings ${stale("before")} → 0`), figures);
        for (const o of r.outputs) assert.ok(figures.includes(o.output), `${o.output} in ${figures}`);
        await panel.screenshot(`70-recal-overview-${tag}`);
        // The card is a few lines, so the layer table keeps the height (900 px window).
        const cardBox = await card.boundingBox();
        assert.ok(cardBox && cardBox.height < 200, `the card takes ${cardBox?.height} px`);
        const box = await page.getByTestId("layer-list").boundingBox();
        assert.ok(box && box.height > 250, `the layer table keeps ${box?.height} px`);

        await page.getByTestId("recal-open").click();
        const rows = page.getByTestId("recal-row");
        assert.equal(await rows.count(), 35);
        const l62 = r.layers.find((l) => l.node === "BatchNormalization_62")!;
        const row = page.locator('[data-testid="recal-row"][data-node="BatchNormalization_62"]');
        const text = await row.innerText();
        assert.ok(text.includes(`${l62.before.worstZ!.toFixed(2)}σ → 0.00σ`), text);
        assert.ok(text.includes(`${l62.before.worstVarRatio!.toFixed(2)}× → 1.00×`), text);
        assert.equal(await page.getByTestId("recal-outputs").locator("tbody tr").count(), r.outputs.length);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 1, `no sideways scroll of the page (${overflow} px)`);
        await panel.screenshot(`71-recal-every-layer-${tag}`);

        await row.click();
        const detail = page.getByTestId("recal-detail");
        await detail.waitFor();
        assert.match(await page.locator("#detail-title").innerText(), /BatchNormalization_62/);
        const legend = await page.getByTestId("recal-legend").innerText();
        assert.match(legend, /original statistics \(version-RFB-320\.onnx\)/);
        assert.match(legend, /re-estimated statistics \(this model\)/);
        await page.waitForTimeout(100);
        assert.ok((await inked(panel, '[data-testid="recal-detail"] canvas')) > 1000, "the overlay is drawn");
        await detail.scrollIntoViewIfNeeded();
        await panel.screenshot(`72-recal-layer-${tag}`);
        // Back returns to the page it came from, then Escape to the overview.
        await page.getByTestId("back").first().click();
        await page.getByTestId("recal-table").waitFor();
        await page.keyboard.press("Escape");
        await page.getByTestId("layer-list").waitFor();
        assert.equal(await page.getByTestId("recal-view").count(), 0);
        assert.deepEqual(await panel.cspViolations(), []);
        assert.deepEqual(panel.errors, [], "no page or console errors");
      } finally {
        await panel.close();
      }
    });
  }

  it("the standalone HTML export of the recalibrated model's report shows the same before → after, offline", async () => {
    const file = path.join(tmp, "recalibrated.html");
    fs.writeFileSync(
      file,
      reportHtml({
        report: r.after,
        recalibration: beforeAfter(r),
        ...panelBundle(),
      }),
    );
    const chromiumBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const { page, requests, errors } = await openOffline(chromiumBrowser, file, true, "light");
      await page.getByTestId("recal-summary").waitFor();
      assert.match(await page.getByTestId("recal-headline").innerText(), /Recalibrated from version-RFB-320\.onnx/);
      await page.getByTestId("recal-open").click();
      assert.equal(await page.getByTestId("recal-row").count(), 35);
      await page.locator('[data-testid="recal-row"][data-node="BatchNormalization_62"]').click();
      await page.getByTestId("recal-detail").waitFor();
      await page.waitForTimeout(100);
      assert.ok((await page.locator('[data-testid="recal-detail"] canvas').evaluate((c) => (c as HTMLCanvasElement).width)) > 0);
      await page.screenshot({ path: path.join(ROOT, "test-results", "webview", "73-recal-html-layer.png"), fullPage: false });
      assert.deepEqual(requests, []);
      assert.deepEqual(errors, []);
    } finally {
      await chromiumBrowser.close();
    }
  });

  it("the original model's stale finding has one Recalibrate button, which asks the host; the HTML report hides it", async () => {
    const stale = r.before.layers.find((l) => l.warnings.some((w) => w.rule === "variance-ratio" || w.rule === "mean-shift"))!;
    const handlers = webviewHandlers(() => r.before);
    const panel = await Panel.open(browser.browser, {
      onMessage: (m, p) => {
        if (m.type === "getLayer" || m.type === "cancel") void webviewServer(handlers, (reply) => void p.send(reply)).handle(m);
      },
    });
    try {
      await panel.send({ type: "runFinished", report: compactReport(r.before), restored: false });
      await panel.waitForPosted("overviewRendered");
      await panel.send({ type: "layerRevealed", kind: "bn", index: stale.index });
      await panel.page.getByTestId("findings").waitFor();
      assert.equal(await panel.page.getByTestId("recalibrate").count(), 1);
      await panel.page.getByTestId("recalibrate").click();
      await panel.waitForPosted("recalibrateModel");
    } finally {
      await panel.close();
    }
    const file = path.join(tmp, "original.html");
    fs.writeFileSync(
      file,
      reportHtml({
        report: r.before,
        ...panelBundle(),
      }),
    );
    const chromiumBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const { page, errors } = await openOffline(chromiumBrowser, file, true);
      await page.getByTestId("layer-list").waitFor();
      await page.evaluate((index) => window.postMessage({ type: "layerRevealed", kind: "bn", index }, "*"), stale.index);
      await page.getByTestId("findings").waitFor();
      assert.equal(await page.getByTestId("recalibrate-action").count(), 1);
      assert.equal(await page.getByTestId("recalibrate-action").isVisible(), false, "nothing can run in a file");
      assert.equal(await page.getByTestId("recal-summary").count(), 0);
      assert.deepEqual(errors, []);
    } finally {
      await chromiumBrowser.close();
    }
  });

  it("any other report shows no before → after", async () => {
    const panel = await open("dark", 1280);
    try {
      await panel.send({ type: "runFinished", report: compactReport(r.after), restored: false });
      await panel.waitForPosted("overviewRendered");
      await panel.page.waitForTimeout(100);
      assert.equal(await panel.page.getByTestId("recal-summary").count(), 0);
    } finally {
      await panel.close();
    }
  });
});
