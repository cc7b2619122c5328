// The panel's comparison mode in headless Chromium: the face detector on its 16 photos (A) against the same
// photos 40% brighter (B, made here with sharp), compared by the core and sent as the host does. Screenshots
// of the overview and of one layer's overlay land in test-results/webview/.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { compareReports } from "../../src/core/compare/compareReports";
import { compactReport } from "../../src/core/inspect/panelData";
import type { ComparisonReport } from "../../src/core/compare/comparisonReport";
import type { Report } from "../../src/core/report";
import { FACE_DETECTOR, FACE_IMAGES, ROOT } from "../helpers/paths";
import { rep, tinyReport } from "../helpers/tinyReport";
import { launchBrowser, Panel } from "./harness";

const CLI = path.join(ROOT, "dist", "cli.js");

function inspect(data: string, out: string): Report {
  const r = spawnSync(process.execPath, [CLI, "inspect", FACE_DETECTOR, "--data", data, "--mean", "127", "--std", "128", "--json", out], {
    encoding: "utf8",
    timeout: 180_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(fs.readFileSync(out, "utf8")) as Report;
}

/** Counts canvas pixels that are not transparent, to tell a drawn chart from an empty one. */
async function inkedPixels(panel: Panel, selector: string): Promise<number> {
  return panel.page
    .locator(selector)
    .first()
    .evaluate((c) => {
      const canvas = c as HTMLCanvasElement;
      const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return n;
    });
}

describe("BN Lens panel: comparison mode (headless Chromium)", function () {
  this.timeout(300_000);
  let tmp: string;
  let comparison: ComparisonReport;
  let reportB: Report;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let panel: Panel;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-compare-webview-"));
    const bright = path.join(tmp, "bright");
    fs.mkdirSync(bright);
    for (const f of fs.readdirSync(FACE_IMAGES).filter((x) => x.endsWith(".jpg")))
      await sharp(path.join(FACE_IMAGES, f))
        .linear(1.4, 0)
        .png()
        .toFile(path.join(bright, f.replace(/\.jpg$/, ".png")));
    const a = inspect(FACE_IMAGES, path.join(tmp, "A.json"));
    const b = inspect(bright, path.join(tmp, "B.json"));
    reportB = b;
    comparison = compareReports(a, b, { generatorVersion: "test" });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  beforeEach(async () => {
    panel = await Panel.open(browser.browser);
  });

  afterEach(async () => {
    assert.deepEqual(await panel.cspViolations(), []);
    assert.deepEqual(panel.errors, [], "no page or console errors");
    await panel.close();
  });

  it("overview: drift by layer in graph order, the shift's start called out, layers ranked by drift", async () => {
    const { page } = panel;
    // As in VS Code: B's inspection is on screen when the comparison arrives; "Back" returns to it.
    await panel.send({ type: "runFinished", report: compactReport(reportB), restored: false });
    await panel.waitForPosted("overviewRendered");
    await panel.send({ type: "comparisonFinished", comparison });
    await page.getByTestId("compare").waitFor();
    assert.match(await page.getByTestId("shift-start").innerText(), /The shift starts at layer 0 \(BatchNormalization_1\)/);
    const rows = page.getByTestId("compare-row");
    assert.equal(await rows.count(), 35);
    assert.equal(await rows.first().getAttribute("data-node"), "BatchNormalization_1");
    assert.equal(await page.getByTestId("start-badge").count(), 1);
    assert.match(await page.locator('[data-testid="compare-row"]:has([data-testid="start-badge"])').innerText(), /BatchNormalization_1/);
    await page.waitForTimeout(100);
    assert.ok((await inkedPixels(panel, ".compare canvas")) > 2000, "the drift chart is drawn");
    await panel.screenshot("60-compare-overview");
    // Ranked: the layer with the largest drift first.
    await page.getByTestId("compare-order").click();
    const top = [...comparison.layers].sort((x, y) => (y.pre.score ?? 0) - (x.pre.score ?? 0))[0];
    assert.equal(await page.getByTestId("compare-row").first().getAttribute("data-node"), top.node);
    await page.getByTestId("compare-back").click();
    await page.getByTestId("overview").waitFor();
    assert.equal(await page.getByTestId("compare").count(), 0);
  });

  it("layer detail: A's and B's pre- and post-BN histograms on the same bins, four curves with a legend, channels against running statistics", async () => {
    const { page } = panel;
    await panel.send({ type: "runFinished", report: compactReport(reportB), restored: false });
    await panel.waitForPosted("overviewRendered");
    await panel.send({ type: "comparisonFinished", comparison });
    await page.locator('[data-testid="compare-row"][data-node="BatchNormalization_1"]').click();
    await page.getByTestId("compare-layer-title").waitFor();
    assert.match(await page.getByTestId("compare-layer-title").innerText(), /0 · BatchNormalization_1/);
    const legend = await page.getByTestId("overlay-legend").innerText();
    for (const label of ["A pre-BN", "B pre-BN", "A post-BN", "B post-BN"]) assert.ok(legend.includes(label), label);
    assert.match(await page.locator(".findings").innerText(), /domain-shift/);
    await page.waitForTimeout(100);
    const canvases = page.locator(".compare canvas");
    assert.equal(await canvases.count(), 3);
    for (let i = 0; i < 3; i++) {
      const n = await canvases.nth(i).evaluate((c) => {
        const cv = c as HTMLCanvasElement;
        const d = cv.getContext("2d")!.getImageData(0, 0, cv.width, cv.height).data;
        let k = 0;
        for (let j = 3; j < d.length; j += 4) if (d[j] > 0) k++;
        return k;
      });
      assert.ok(n > 1000, `chart ${i} is drawn (${n} pixels)`);
    }
    assert.equal(await page.getByTestId("compare-worst").locator("tbody tr").count(), 5);
    await panel.screenshot("61-compare-layer-overlay");
    await panel.setTheme("light");
    await page.waitForTimeout(150);
    await panel.screenshot("62-compare-layer-overlay-light");
    await page.getByTestId("compare-layer-back").click();
    await page.getByTestId("compare-table").waitFor();
  });

  it("a model without BN: Conv outputs compared, two curves (no post-BN), no running statistics", async () => {
    const { page } = panel;
    const values = (k: number) => [...rep(k, 1000), ...rep(2 * k, 1000)];
    const fused = compareReports(
      tinyReport([{ channels: [values(1), values(1)], relu: true }], { fused: true }),
      tinyReport([{ channels: [values(2), values(1)], relu: true }], { fused: true }),
      { generatorVersion: "test" },
    );
    await panel.send({ type: "comparisonFinished", comparison: fused });
    assert.match(await page.getByTestId("shift-start").innerText(), /The shift starts at layer 0 \(conv0\): 1 of 2 channels shifted/);
    await page.getByTestId("compare-row").first().click();
    const legend = await page.getByTestId("overlay-legend").innerText();
    assert.ok(legend.includes("A Conv output") && legend.includes("B Conv output") && !legend.includes("BN"), legend);
    assert.match(await page.locator(".compare").innerText(), /Per channel: A and B/);
  });
});
