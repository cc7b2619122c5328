// The standalone HTML page of a comparison (bn-lens compare --html, inspect --baseline --html, bn-lens html
// COMPARISON.json), opened in headless Chromium with the network off: the panel's comparison mode must draw
// the overview with the shift's start called out and a layer's overlay from the embedded comparison, with no
// console error and no request; without JavaScript the summary (model, A and B, the shift's start, the
// per-layer drift table, the findings) must be in the page. A is the face detector on its photos, B the same
// photos with the red and blue channels swapped (--bgr), which test/cli/compare.test.ts's kind of shift
// makes start at the first BN layer.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { chromium, type Browser, type Page } from "playwright-core";
import type { ComparisonReport } from "../../src/core/compare/comparisonReport";
import { FACE_DETECTOR, FACE_IMAGES, ROOT } from "../helpers/paths";
import { CHROMIUM } from "./harness";
import { CHROMIUM_ARGS, bnLens, openOffline } from "./offlinePage";

const RESULTS = path.join(ROOT, "test-results", "html-report");
const PIXELS = ["--mean", "127", "--std", "128"];
/** Non-transparent pixels of every canvas matching `selector`. */
function inked(page: Page, selector: string): Promise<number[]> {
  return page.locator(selector).evaluateAll((canvases) =>
    (canvases as HTMLCanvasElement[]).map((c) => {
      const d = c.getContext("2d")?.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      if (d) for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
      return n;
    }),
  );
}

const embedded = (html: string): unknown => {
  const data = /<script nonce="[^"]+" type="application\/gzip\+base64" id="bn-lens-report">([^<]+)<\/script>/.exec(html)?.[1];
  assert.ok(data, "the page embeds a document");
  return JSON.parse(gunzipSync(Buffer.from(data, "base64")).toString("utf8"));
};

describe("standalone HTML report of a comparison", function () {
  this.timeout(300_000);
  let tmp: string;
  let browser: Browser;
  let comparison: ComparisonReport;
  let files: { a: string; b: string; json: string; html: string };
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-cmphtml-"));
    fs.mkdirSync(RESULTS, { recursive: true });
    files = { a: path.join(tmp, "A.json"), b: path.join(tmp, "B.json"), json: path.join(tmp, "AB.json"), html: path.join(tmp, "AB.html") };
    const ra = bnLens("inspect", FACE_DETECTOR, "--data", FACE_IMAGES, ...PIXELS, "--json", files.a);
    assert.equal(ra.code, 0, ra.stderr);
    const rb = bnLens(
      "inspect",
      FACE_DETECTOR,
      "--data",
      FACE_IMAGES,
      ...PIXELS,
      "--bgr",
      "--baseline",
      files.a,
      "--json",
      files.b,
      "--compare-json",
      files.json,
      "--html",
      files.html,
    );
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, /HTML report of the comparison written to .*AB\.html \(\d+ KiB\)/);
    comparison = JSON.parse(fs.readFileSync(files.json, "utf8")) as ComparisonReport;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("inspect --baseline --html embeds the comparison (not the run's report); one file, a strict CSP, nothing external", () => {
    const text = fs.readFileSync(files.html, "utf8");
    console.log(`      face detector comparison (35 layers, 16 + 16 photos): ${(text.length / 1024).toFixed(0)} KiB`);
    assert.deepEqual(embedded(text), comparison);
    assert.equal(comparison.shiftStart?.node, "BatchNormalization_1", "BGR against RGB shifts the first BN layer's inputs");
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(text)?.[1] ?? "";
    assert.match(
      csp,
      /^default-src 'none'; img-src data: blob:; style-src 'nonce-[^']+'; script-src 'nonce-[^']+'; base-uri 'none'; form-action 'none'$/,
    );
    const markup = text.replace(/(<script[^>]*>)[^]*?<\/script>/g, "$1</script>");
    assert.equal((markup.match(/<script/g) ?? []).length, 3);
    assert.doesNotMatch(markup, /<(script|link|img|iframe|object|embed)[^>]+(src|href|data)=/i);
    assert.doesNotMatch(markup, /https?:/);
  });

  it("compare --html and html COMPARISON.json write the same comparison; inputs are never overwritten", () => {
    const fromCompare = path.join(tmp, "compare.html");
    const r = bnLens("compare", files.a, files.b, "--html", fromCompare);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /The shift starts at layer 0 \(BatchNormalization_1\)/);
    const c = embedded(fs.readFileSync(fromCompare, "utf8")) as ComparisonReport;
    // The same comparison up to when and from which files it was made.
    assert.deepEqual(
      { ...c, createdAt: "", a: { ...c.a, reportPath: "" }, b: { ...c.b, reportPath: "" } },
      {
        ...comparison,
        createdAt: "",
        a: { ...comparison.a, reportPath: "" },
        b: { ...comparison.b, reportPath: "" },
      },
    );
    const fromHtml = path.join(tmp, "html.html");
    const h = bnLens("html", files.json, "-o", fromHtml);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /^HTML report of the comparison written to .*html\.html \(\d+ KiB\)\n$/);
    assert.deepEqual(embedded(fs.readFileSync(fromHtml, "utf8")), comparison);

    const before = fs.readFileSync(files.json, "utf8");
    for (const args of [
      ["html", files.json, "-o", files.json],
      ["compare", files.a, files.b, "--html", files.b],
      ["compare", files.a, files.b, "--json", path.join(tmp, "j.json"), "--html", path.join(tmp, "j.json")],
    ]) {
      const bad = bnLens(...args);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(
        bad.stderr,
        /^error: Refusing to write the HTML report to .*: it is one of the input files; choose another output path\.\n$/,
      );
    }
    assert.equal(fs.readFileSync(files.json, "utf8"), before);
    assert.equal(fs.existsSync(path.join(tmp, "j.json")), false, "refused before any output is written");
    const sarif = bnLens("inspect", FACE_DETECTOR, "--baseline", files.a, "--sarif", path.join(tmp, "x.sarif"));
    assert.equal(sarif.code, 2);
    assert.match(sarif.stderr, /^error: --sarif describes an inspection, not a comparison: leave it out with --baseline /);
    const future = path.join(tmp, "future.json");
    fs.writeFileSync(future, JSON.stringify({ ...comparison, schemaVersion: 2 }));
    const v = bnLens("html", future, "-o", path.join(tmp, "future.html"));
    assert.equal(v.code, 2);
    assert.match(v.stderr, /^error: .*future\.json has comparison schema version 2, and this BN Lens reads version 1; /);
    assert.equal(fs.existsSync(path.join(tmp, "future.html")), false);
  });

  it("offline in Chromium: the comparison overview with the shift's start, a layer's overlay drawn, no error, no request", async () => {
    const { context, page, requests, errors } = await openOffline(browser, files.html, true, "dark", 900);
    try {
      await page.getByTestId("compare-table").waitFor();
      assert.equal(await page.locator("#static-summary").isVisible(), false, "the panel replaces the static summary");
      assert.equal(await page.getByTestId("compare-back").isVisible(), false, "no inspection to go back to");
      assert.match(await page.locator("header.topbar h1").innerText(), /version-RFB-320\.onnx/);
      assert.equal(await page.getByTestId("waiting").count(), 0, "no model is being opened");
      assert.match(await page.getByTestId("shift-start").innerText(), /The shift starts at layer 0 \(BatchNormalization_1\)/);
      const rows = page.getByTestId("compare-row");
      assert.equal(await rows.count(), comparison.layers.length);
      assert.match(await page.locator('[data-testid="compare-row"][data-node="BatchNormalization_1"]').innerText(), /shift starts/);
      const overview = await inked(page, ".compare canvas");
      assert.ok(overview.length === 1 && overview[0] > 2000, `the drift chart is drawn: ${overview}`);
      await page.screenshot({ path: path.join(RESULTS, "10-comparison-overview-dark.png") });

      await page.locator('[data-testid="compare-row"][data-node="BatchNormalization_1"]').click();
      await page.getByTestId("overlay-legend").waitFor();
      assert.equal(await page.getByTestId("compare-layer-title").innerText(), "0 · BatchNormalization_1");
      assert.match(await page.getByTestId("overlay-legend").innerText(), /A pre-BN[^]*B pre-BN[^]*A post-BN[^]*B post-BN/);
      await page.waitForFunction(() => document.querySelectorAll(".compare canvas").length === 3);
      await page.waitForTimeout(100);
      const painted = await inked(page, ".compare canvas");
      assert.ok(
        painted.every((n) => n > 500),
        `the overlay and both per-channel charts are drawn: ${painted}`,
      );
      await page.screenshot({ path: path.join(RESULTS, "11-comparison-layer-overlay-dark.png") });
      await page.getByTestId("compare-layer-back").click();
      await page.getByTestId("compare-table").waitFor();
      assert.deepEqual(requests, []);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("follows prefers-color-scheme: light colours for a light reader", async () => {
    const { context, page, errors } = await openOffline(browser, files.html, true, "light", 900);
    try {
      await page.getByTestId("compare-table").waitFor();
      assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgb(255, 255, 255)");
      assert.equal(await page.evaluate(() => document.body.classList.contains("vscode-light")), true);
      await page.screenshot({ path: path.join(RESULTS, "12-comparison-overview-light.png") });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("without JavaScript the summary is there: model, A and B, the shift's start, every layer's drift, every finding", async () => {
    const { context, page, requests } = await openOffline(browser, files.html, false, "dark", 900);
    try {
      const text = await page.locator("body").innerText();
      assert.match(text, /BN Lens comparison: version-RFB-320\.onnx/);
      assert.ok(text.includes(comparison.model.sha256));
      assert.ok(text.includes(comparison.a.data.description) && text.includes(comparison.b.data.description));
      assert.match(await page.getByTestId("summary-shift-start").innerText(), /^The shift starts at layer 0 \(BatchNormalization_1\)/);
      const rows = page.locator('[data-testid="summary-layers"] tbody tr');
      assert.equal(await rows.count(), comparison.layers.length);
      // Every row's drift score: the largest per-channel JS distance, recomputed here from the embedded per-channel values.
      for (let i = 0; i < comparison.layers.length; i++) {
        const l = comparison.layers[i];
        const js = l.pre.js.filter((x): x is number => x !== null);
        const cells = await rows.nth(i).locator("td").allInnerTexts();
        assert.equal(cells[1], l.node);
        assert.equal(cells[3], String(Number(Math.max(...js).toPrecision(3))), l.node);
        assert.equal(cells[6], String(l.shiftedChannels.length));
      }
      const findings = comparison.layers.flatMap((l) => l.findings);
      assert.ok(findings.length > 0);
      assert.equal(await page.locator('[data-testid="summary-findings"] tbody tr').count(), findings.length);
      await page.screenshot({ path: path.join(RESULTS, "13-comparison-no-javascript.png") });
      assert.deepEqual(requests, []);
    } finally {
      await context.close();
    }
  });
});
