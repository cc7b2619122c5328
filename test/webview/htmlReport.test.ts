// The standalone HTML report (bn-lens html / inspect --html) opened the way a colleague would: a file in
// headless Chromium with the network off. The panel's own code must draw the overview, a layer's detail and
// its charts from the embedded report, with no console error and no request; without JavaScript the page
// must still show the summary (model, data, layers, findings).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { chromium, type Browser } from "playwright-core";
import { base64 } from "../../src/core/share/htmlReport";
import type { Report } from "../../src/core/report";
import { FACE_DETECTOR, FACE_IMAGES, ROOT } from "../helpers/paths";
import { CHROMIUM } from "./harness";
import { CHROMIUM_ARGS, bnLens, openOffline } from "./offlinePage";
import { syntheticReport } from "./synthetic";

const RESULTS = path.join(ROOT, "test-results", "html-report");
describe("standalone HTML report", function () {
  this.timeout(300_000);
  let tmp: string;
  let browser: Browser;
  let report: Report;
  let html: string;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-html-"));
    fs.mkdirSync(RESULTS, { recursive: true });
    const json = path.join(tmp, "face.json");
    html = path.join(tmp, "face.html");
    const r = bnLens("inspect", FACE_DETECTOR, "--data", FACE_IMAGES, "--mean", "127", "--std", "128", "--json", json, "--html", html);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /HTML report written to .*face\.html \(\d+ KiB\)/);
    report = JSON.parse(fs.readFileSync(json, "utf8")) as Report;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("is one file: the report embedded exactly, a strict CSP, no external reference", () => {
    const text = fs.readFileSync(html, "utf8");
    console.log(`      face detector (35 layers, 16 photos): ${(text.length / 1024).toFixed(0)} KiB`);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(text)?.[1] ?? "";
    assert.match(
      csp,
      /^default-src 'none'; img-src data: blob:; style-src 'nonce-[^']+'; script-src 'nonce-[^']+'; base-uri 'none'; form-action 'none'$/,
    );
    const markup = text.replace(/(<script[^>]*>)[^]*?<\/script>/g, "$1</script>");
    assert.equal((markup.match(/<script/g) ?? []).length, 3, "the report data, the standalone host and the panel");
    assert.doesNotMatch(markup, /<(script|link|img|iframe|object|embed)[^>]+(src|href|data)=/i, "no element loads anything");
    assert.doesNotMatch(markup, /https?:/, "no address in the markup");
    assert.doesNotMatch(text, /sourceMappingURL/);
    const data = /<script nonce="[^"]+" type="application\/gzip\+base64" id="bn-lens-report">([^<]+)<\/script>/.exec(text)?.[1];
    assert.ok(data);
    assert.deepEqual(JSON.parse(gunzipSync(Buffer.from(data, "base64")).toString("utf8")), report);
    // core's base64 against Node's.
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37 + (i >> 3)) & 255);
    for (const n of [0, 1, 2, 3, 4, 5, 998, 1000])
      assert.equal(base64(bytes.subarray(0, n)), Buffer.from(bytes.subarray(0, n)).toString("base64"));
  });

  it("offline in Chromium: overview rows, a layer's detail with its charts, no console error, no request", async () => {
    const { context, page, requests, errors } = await openOffline(browser, html, true);
    try {
      const rows = page.locator('[data-testid="overview"] [data-testid="layer-row"]');
      await rows.first().waitFor();
      // The overview paints its rows over a few frames: wait for every layer's row, then count them.
      await page.waitForFunction(
        (n) => document.querySelectorAll('[data-testid="overview"] [data-testid="layer-row"]').length >= n,
        report.layers.length,
        { timeout: 30_000 },
      );
      assert.equal(await rows.count(), report.layers.length);
      assert.match(await page.getByTestId("summary").innerText(), /35 BN layers/);
      assert.equal(await page.locator("#static-summary").isVisible(), false, "the panel replaces the static summary");
      for (const id of ["run-random", "run-data", "rerun", "compare-data"]) assert.equal(await page.getByTestId(id).isVisible(), false);
      await page.screenshot({ path: path.join(RESULTS, "01-face-overview-dark.png") });
      const worst = report.layers.find((l) => l.summary.severity !== null) ?? report.layers[0];
      await page.locator(`[data-testid="layer-row"][data-node="${worst.node}"]`).click();
      await page.getByTestId("channel-table").waitFor();
      assert.equal(await page.locator("#detail-title").innerText(), worst.node);
      // The channel table lists every channel of the layer from the embedded per-channel arrays.
      assert.equal((await page.locator("[data-testid='layer-detail'] [data-channel]").count()) > 0, true);
      const painted = await page.locator("[data-testid='layer-detail'] canvas").evaluateAll((canvases) =>
        (canvases as HTMLCanvasElement[]).map((c) => {
          const d = c.getContext("2d")?.getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          if (d) for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
          return n;
        }),
      );
      assert.ok(painted.length >= 2 && painted.every((n) => n > 100), `every chart canvas has drawn pixels: ${painted}`);
      await page.screenshot({ path: path.join(RESULTS, "02-face-detail-dark.png") });
      assert.deepEqual(requests, []);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("follows prefers-color-scheme: light colours for a light reader", async () => {
    const { context, page, errors } = await openOffline(browser, html, true, "light");
    try {
      await page.locator('[data-testid="layer-row"]').first().waitFor();
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg, "rgb(255, 255, 255)");
      assert.equal(await page.evaluate(() => document.body.classList.contains("vscode-light")), true);
      await page.screenshot({ path: path.join(RESULTS, "03-face-overview-light.png") });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  it("without JavaScript the summary is there: model, data, every layer, every finding", async () => {
    const { context, page, requests } = await openOffline(browser, html, false);
    try {
      const text = await page.locator("body").innerText();
      assert.match(text, /BN Lens report: version-RFB-320\.onnx/);
      assert.ok(text.includes(report.data.description));
      assert.ok(text.includes(report.model.sha256));
      assert.equal(await page.locator('[data-testid="summary-layers"] tbody tr').count(), report.layers.length);
      const findings = report.layers.flatMap((l) => l.warnings);
      assert.equal(await page.locator('[data-testid="summary-findings"] tbody tr').count(), findings.length + report.warnings.length);
      for (const l of report.layers) assert.ok(text.includes(l.node), l.node);
      // Row 0: the largest |z| over its channels, computed here from the per-channel z.
      const z0 = report.layers[0].compare.z.filter((z): z is number => z !== null).map(Math.abs);
      const worst = Math.max(...z0);
      const cells = await page.locator('[data-testid="summary-layers"] tbody tr').first().locator("td").allInnerTexts();
      assert.equal(cells[4], `${Number(worst.toPrecision(3))} c${z0.indexOf(worst)}`);
      await page.screenshot({ path: path.join(RESULTS, "04-face-no-javascript.png"), fullPage: false });
      assert.deepEqual(requests, []);
    } finally {
      await context.close();
    }
  });

  it("html REPORT.json -o OUT.html writes the same page for any report; a 300-layer report stays small", async () => {
    const big = path.join(tmp, "big.json");
    fs.writeFileSync(big, JSON.stringify(syntheticReport({ layers: 300 })));
    const out = path.join(tmp, "big.html");
    const r = bnLens("html", big, "-o", out);
    assert.equal(r.code, 0, r.stderr);
    console.log(
      `      synthetic 300-layer report: ${(fs.statSync(out).size / 1024).toFixed(0)} KiB (JSON ${(fs.statSync(big).size / 1024).toFixed(0)} KiB)`,
    );
    const { context, page, requests, errors } = await openOffline(browser, out, true);
    try {
      await page.locator('[data-testid="layer-row"]').first().waitFor();
      assert.match(await page.getByTestId("summary").innerText(), /300 BN layers/);
      assert.deepEqual(requests, []);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
    const bad = bnLens("html", path.join(tmp, "missing.json"), "-o", out);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: Cannot read report .*missing\.json: it does not exist\./);
  });
});
