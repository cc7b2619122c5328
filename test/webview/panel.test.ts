// The BN Lens panel in headless Chromium, looked at the way a person would: real reports from the CLI
// (the demo with its planted problems, the face detector on 16 photos), every state of the panel,
// sorting, filtering, the keyboard, the detail view through a getLayer round trip, themes, and the strict
// CSP. Screenshots land in test-results/webview/ (git-ignored).
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
import { FACE_DETECTOR, FACE_IMAGES, ROOT } from "../helpers/paths";
import { launchBrowser, Panel } from "./harness";
import { syntheticReport } from "./synthetic";

const CLI = path.join(ROOT, "dist", "cli.js");

function cli(...args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, `bn-lens ${args.join(" ")}: ${r.stderr}`);
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

/** Plays the extension host: answers getLayer from the full report, re-sends the data after webviewReady. */
class FakeHost {
  report: Report | null = null;
  model: ModelDescription | null = null;
  trusted = true;
  /** Re-send modelDescribed and runFinished (restored) when the webview (re)loads, as the real host does. */
  resendOnReady = false;
  /** Answer the next getLayer with this error. */
  failNext: string | null = null;
  /** The host's own handlers, over this fake host's report; failNext makes the next answer an error. */
  private readonly handlers = webviewHandlers(() => {
    if (this.failNext) {
      const message = this.failNext;
      this.failNext = null;
      throw new Error(message);
    }
    if (!this.report) throw new Error("no report");
    return this.report;
  });
  readonly handle = (m: WebviewToHost, panel: Panel): void => {
    if (m.type === "getLayer" || m.type === "cancel") void webviewServer(this.handlers, (reply) => void panel.send(reply)).handle(m);
    if (m.type === "webviewReady" && this.resendOnReady) {
      void (async () => {
        if (this.model) await panel.send({ type: "modelDescribed", overview: this.model, trusted: this.trusted });
        if (this.report) await panel.send({ type: "runFinished", report: compactReport(this.report), restored: true });
      })();
    }
  };
}

const ROWS = '[data-testid="overview"] [data-testid="layer-row"]';

/** Names of the rows in the DOM, top to bottom. */
async function shownNodes(page: Page): Promise<string[]> {
  return page.evaluate(
    (sel) =>
      Array.from(document.querySelectorAll<HTMLElement>(sel))
        .sort((a, b) => Number(a.dataset.i) - Number(b.dataset.i))
        .map((el) => el.dataset.node ?? ""),
    ROWS,
  );
}

async function rowText(page: Page, node: string): Promise<string> {
  return page.locator(`${ROWS}[data-node="${node}"]`).innerText();
}

/** Polls until `probe` returns a value other than undefined. */
async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function activeNode(page: Page): Promise<string | undefined> {
  return page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.node);
}

describe("BN Lens panel (webview in headless Chromium)", function () {
  this.timeout(180_000);
  let tmp: string;
  let demo: Report;
  let face: Report;
  let faceModel: ModelDescription;
  let browser: { browser: BrowserContext; close(): Promise<void> };
  let host: FakeHost;
  let panel: Panel;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-webview-"));
    cli("demo", "--json", path.join(tmp, "demo.json"));
    demo = readJson<Report>(path.join(tmp, "demo.json"));
    cli("inspect", FACE_DETECTOR, "--data", FACE_IMAGES, "--mean", "127", "--std", "128", "--json", path.join(tmp, "face.json"));
    face = readJson<Report>(path.join(tmp, "face.json"));
    cli("describe", FACE_DETECTOR, "--json", path.join(tmp, "overview.json"));
    faceModel = readJson<ModelDescription>(path.join(tmp, "overview.json"));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  beforeEach(async () => {
    host = new FakeHost();
    panel = await Panel.open(browser.browser, { onMessage: host.handle });
  });

  afterEach(async () => {
    const csp = await panel.cspViolations();
    assert.deepEqual(csp, [], `CSP violations: ${JSON.stringify(csp)}`);
    assert.deepEqual(panel.errors, [], "no page or console errors");
    await panel.close();
  });

  async function finish(report: Report, restored = false) {
    host.report = report;
    await panel.clearPosted();
    await panel.send({ type: "runFinished", report: compactReport(report), restored });
    return panel.waitForPosted("overviewRendered");
  }

  it("runs under the strict CSP: components style themselves via adoptedStyleSheets, inline styles are refused", async () => {
    const { page } = panel;
    await panel.send({ type: "modelDescribed", overview: faceModel, trusted: true });
    // Before a run, "Run on data…" is the primary button (random data is the secondary choice).
    await page.getByTestId("run-data").waitFor();
    const button = await page.getByTestId("run-data").evaluate((el) => ({
      adopted: el.shadowRoot?.adoptedStyleSheets.length ?? 0,
      styleTags: el.shadowRoot?.querySelectorAll("style").length ?? 0,
      background: getComputedStyle(el.shadowRoot!.querySelector("button, [part=base], div")!).backgroundColor,
    }));
    assert.ok(button.adopted > 0, "vscode-button styles come from adoptedStyleSheets");
    assert.equal(button.styleTags, 0);
    assert.equal(button.background, "rgb(0, 120, 212)", "the theme's --vscode-button-background reaches the component");
    // The policy is in force: a <style> without the nonce is blocked and reported to the listener.
    const applied = await page.evaluate(() => {
      const st = document.createElement("style");
      st.textContent = "body { color: rgb(1, 2, 3) !important; }";
      document.head.append(st);
      return getComputedStyle(document.body).color;
    });
    assert.notEqual(applied, "rgb(1, 2, 3)");
    const csp = await until(async () => {
      const v = await panel.cspViolations();
      return v.length ? v : undefined;
    }, "the CSP violation report");
    assert.equal(csp[0].directive, "style-src-elem");
    // Forget the deliberate violation (and its console report) so afterEach checks the rest.
    await page.evaluate(() => {
      (window as unknown as { __csp: unknown[] }).__csp.length = 0;
    });
    await until(async () => (panel.errors.some((e) => /Content Security Policy/.test(e)) ? true : undefined), "the console report");
    panel.errors.length = 0;
  });

  it("shows the model before a run: inputs, stored BN parameters, what follows, run buttons", async () => {
    const { page } = panel;
    assert.equal(await page.getByTestId("waiting").innerText(), "Opening the model…");
    host.model = faceModel;
    await panel.send({ type: "modelDescribed", overview: faceModel, trusted: true });
    await page.getByTestId("model-overview").waitFor();
    assert.match(await page.getByTestId("statement").innerText(), /35 BatchNormalization layers: 27 followed by Relu/);
    assert.match(await page.getByTestId("inputs").innerText(), /input float32, 1 × 3 × 240 × 320/);
    assert.equal(await page.getByTestId("stored-layer-row").count(), 35);
    const first = await page.getByTestId("stored-layer-row").first().innerText();
    assert.match(first, /BatchNormalization_1\s+16\s+Conv\s+Relu/);
    await panel.screenshot("01-model-described");
    await page.getByTestId("run-random").click();
    await page.getByTestId("run-data").click();
    const runs = (await panel.posted()).filter((m) => m.type === "runInspection");
    assert.deepEqual(runs, [
      { type: "runInspection", withData: false },
      { type: "runInspection", withData: true },
    ]);
  });

  it("in an untrusted workspace explains why it does not run and disables the run buttons", async () => {
    const { page } = panel;
    await panel.send({ type: "modelDescribed", overview: faceModel, trusted: false });
    await page.getByTestId("untrusted").waitFor();
    assert.match(await page.getByTestId("untrusted").innerText(), /untrusted.*does not run it/s);
    for (const id of ["run-random", "run-data"]) assert.equal(await page.getByTestId(id).getAttribute("disabled"), "");
    await page.getByTestId("run-random").click({ force: true });
    assert.equal((await panel.posted()).filter((m) => m.type === "runInspection").length, 0);
    await panel.screenshot("02-untrusted");
  });

  it("says plainly when BN was fused away", async () => {
    const { page } = panel;
    const fused: ModelDescription = {
      ...faceModel,
      model: {
        ...faceModel.model,
        bnCount: 0,
        fusedAway: true,
        statement: "No BatchNormalization nodes: BN was probably folded into the preceding Conv/Gemm at export.",
      },
      layers: [],
      probes: [
        { node: "conv_0", op: "Conv", output: "c0", activation: "Relu" },
        { node: "conv_1", op: "Conv", output: "c1", activation: "none" },
      ],
    };
    await panel.send({ type: "modelDescribed", overview: fused, trusted: true });
    await page.getByTestId("statement").waitFor();
    assert.match(await page.getByTestId("statement").innerText(), /No BatchNormalization nodes/);
    assert.equal(await page.locator('[data-testid="probes"] tbody tr').count(), 2);
    await panel.screenshot("03-model-fused");
  });

  it("shows progress while running and cancels", async () => {
    const { page } = panel;
    await panel.send({ type: "modelDescribed", overview: faceModel, trusted: true });
    await panel.send({ type: "runStarted", description: "16 photos from face-images" });
    await panel.send({
      type: "runProgressed",
      progress: { phase: "running", samplesDone: 8, samplesTotal: 16, elapsedMs: 1200, message: "batch 2 of 4" },
    });
    await page.getByTestId("running").waitFor();
    assert.match(await page.getByTestId("progress-text").innerText(), /Running: 8 of 16 samples · 1\.2 s — batch 2 of 4/);
    assert.equal(await page.getByTestId("run-random").getAttribute("disabled"), "");
    const bar = await page
      .locator("vscode-progress-bar")
      .evaluate((el) => [(el as unknown as { value: number }).value, (el as unknown as { max: number }).max]);
    assert.deepEqual(bar, [8, 16]);
    await panel.screenshot("04-running");
    await page.getByTestId("cancel").click();
    await panel.waitForPosted("cancelRun");
    await panel.send({ type: "runCancelled" });
    await page.getByTestId("cancelled").waitFor();
    assert.match(await page.getByTestId("cancelled").innerText(), /Run cancelled/);
    // A progress event that arrives after the cancellation does not bring the progress bar back.
    await panel.send({
      type: "runProgressed",
      progress: { phase: "running", samplesDone: 12, samplesTotal: 16, elapsedMs: 1500, message: "" },
    });
    await page.waitForTimeout(50);
    assert.equal(await page.getByTestId("running").count(), 0);
    assert.equal(await page.getByTestId("run-random").getAttribute("disabled"), null);
    await panel.screenshot("05-cancelled");
  });

  it("reports a failed run with its message, what to do, and a way on: other data after a data error", async () => {
    const { page } = panel;
    await panel.send({ type: "modelDescribed", overview: faceModel, trusted: true });
    await page.getByTestId("run-data").click();
    await panel.send({ type: "runStarted", description: "photos" });
    await panel.send({
      type: "runFailed",
      kind: "data",
      message: 'The folder /data/empty holds no images, .npy or .npz files; pick a folder with data for input "input".',
    });
    await page.getByTestId("error").waitFor();
    assert.match(await page.getByTestId("error-message").innerText(), /holds no images/);
    assert.match(await page.getByTestId("error").innerText(), /Check the data you picked/);
    await panel.screenshot("06-run-failed");
    await panel.clearPosted();
    assert.equal(await page.getByTestId("retry").count(), 0, "the same data would fail again");
    await page.getByTestId("retry-other-data").click();
    assert.deepEqual(
      (await panel.posted()).filter((m) => m.type === "runInspection"),
      [{ type: "runInspection", withData: true }],
    );
  });

  it("says when the model cannot be read", async () => {
    const { page } = panel;
    await panel.send({
      type: "modelFailed",
      message: "broken.onnx is not an ONNX model (it does not parse as a ModelProto); check that the file is complete.",
    });
    await page.getByTestId("error").waitFor();
    const text = await page.getByTestId("error").innerText();
    assert.match(text, /could not read this model/);
    assert.match(text, /not an ONNX model/);
    assert.equal(await page.getByTestId("run-random").count(), 0);
    await panel.screenshot("07-model-failed");
  });

  it("renders the demo report: stale statistics on bn3, one dead channel on bn1, saturated sigmoid on bn2", async () => {
    const { page } = panel;
    const rendered = await finish(demo);
    assert.equal(rendered.rows, 4);
    assert.ok(rendered.firstPaintMs >= 0);
    assert.deepEqual(await shownNodes(page), ["bn1", "bn2", "bn3", "bn4"]);
    const bn3 = await rowText(page, "bn3");
    assert.match(bn3, /stale variance/);
    assert.match(bn3, /stale mean/);
    assert.match(bn3, /2\.50σ/); // worst |z|, channel 1
    assert.match(bn3, /20\.3×/); // worst variance ratio, channel 5
    const bn1 = await rowText(page, "bn1");
    assert.match(bn1, /1 dead ch/);
    assert.equal(await page.locator(`${ROWS}[data-node="bn1"] .c-dead`).innerText(), "1");
    assert.match((await page.locator(`${ROWS}[data-node="bn1"] .c-dead`).getAttribute("title")) ?? "", /Dead channels: 5/);
    const bn2 = await rowText(page, "bn2");
    // The flat share, then the share gamma and beta imply (the 50.9% the demo CLI prints as "expected").
    assert.match(bn2, /46\.8%\s+exp\. 50\.9%/);
    assert.match(bn2, /Sigmoid/);
    assert.match(await rowText(page, "bn4"), /✓ ok/);
    assert.match(await page.getByTestId("summary").innerText(), /4 BN layers, 32 channels\s*✖\s*1 error\s*▲\s*5 warnings/);
    const answers = await page.getByTestId("answers").innerText();
    assert.match(answers, /Stale BN statistics for this data\? ▲ Yes, in 1 of 4 layers: bn3/);
    assert.match(answers, /Dead channels\? ▲ 4 channels in 2 layers: bn1 \(1\), bn3 \(3\)/);
    assert.match(
      answers,
      /Saturated or stuck nonlinearity\? ▲ Saturated after bn2 \(Sigmoid, 46\.8%\); channels almost always off after bn3/,
    );
    // Each row's sparklines are drawn on the shared canvas, level with the row.
    const inked = await page.getByTestId("sparklines").evaluate((c, sel) => {
      const cv = c as HTMLCanvasElement;
      const top = cv.getBoundingClientRect().top;
      const scale = cv.width / cv.getBoundingClientRect().width;
      return Array.from(document.querySelectorAll<HTMLElement>(sel)).map((row) => {
        const r = row.getBoundingClientRect();
        const d = cv.getContext("2d")!.getImageData(0, Math.round((r.top - top) * scale), cv.width, Math.round(r.height * scale)).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
      });
    }, ROWS);
    assert.equal(inked.length, 4);
    assert.ok(
      inked.every((n) => n > 100),
      `ink per row band: ${inked}`,
    );
    await panel.screenshot("10-demo-overview");
    await page.getByTestId("export").click();
    await panel.waitForPosted("exportReport");
    // A layer named in the answers opens it.
    await page.getByTestId("answers").getByRole("button", { name: "bn2" }).click();
    await page.getByTestId("channel-table").waitFor();
    assert.equal(await page.locator("#detail-title").innerText(), "bn2");
  });

  it("sorts by every key, both ways, and filters by severity and name", async () => {
    const { page } = panel;
    await finish(demo);
    await page.locator('button[data-sort="z"]').click();
    assert.equal((await shownNodes(page))[0], "bn3");
    assert.equal(await page.locator('[role="columnheader"]:has(button[data-sort="z"])').getAttribute("aria-sort"), "descending");
    await page.locator('button[data-sort="z"]').click();
    assert.equal(await page.locator('[role="columnheader"]:has(button[data-sort="z"])').getAttribute("aria-sort"), "ascending");
    assert.equal((await shownNodes(page))[3], "bn3");
    await page.locator('button[data-sort="varRatio"]').click();
    assert.deepEqual((await shownNodes(page))[0], "bn3");
    await page.locator('button[data-sort="saturation"]').click();
    // bn3 81.8%, bn1 57.6%, bn2 46.8%, bn4 2.1%.
    assert.deepEqual(await shownNodes(page), ["bn3", "bn1", "bn2", "bn4"]);
    await page.locator('button[data-sort="severity"]').click();
    assert.deepEqual(await shownNodes(page), ["bn3", "bn1", "bn2", "bn4"]);
    await page.locator('button[data-sort="order"]').click();
    assert.deepEqual(await shownNodes(page), ["bn1", "bn2", "bn3", "bn4"]);

    const setSelect = (id: string, value: string) =>
      page.getByTestId(id).evaluate((el, v) => {
        (el as HTMLElement & { value: string }).value = v;
        el.dispatchEvent(new Event("change", { bubbles: true }));
      }, value);
    await setSelect("severity-filter", "error");
    assert.deepEqual(await shownNodes(page), ["bn3"]);
    assert.equal(await page.getByTestId("shown-count").innerText(), "1 of 4 layers shown");
    await setSelect("severity-filter", "warning");
    assert.deepEqual(await shownNodes(page), ["bn1", "bn2", "bn3"]);
    await setSelect("severity-filter", "ok");
    assert.deepEqual(await shownNodes(page), ["bn4"]);
    await setSelect("severity-filter", "all");
    await setSelect("sort", "saturation");
    assert.equal((await shownNodes(page))[0], "bn3");
    await setSelect("sort", "order");

    await page.getByTestId("search").locator("input").fill("bn2");
    assert.deepEqual(await shownNodes(page), ["bn2"]);
    await page.getByTestId("search").locator("input").fill("sigmoid"); // the nonlinearity's name matches too
    assert.deepEqual(await shownNodes(page), ["bn2"]);
    await page.getByTestId("search").locator("input").fill("nothing-like-this");
    assert.deepEqual(await shownNodes(page), []);
    assert.match(await page.getByTestId("empty").innerText(), /No layer matches “nothing-like-this”/);
    await panel.screenshot("11-demo-no-match");
    await page.getByTestId("empty").locator("vscode-button").click();
    assert.equal((await shownNodes(page)).length, 4);
  });

  it("is usable by keyboard: arrows move, Enter opens a layer, Escape returns to the same row", async () => {
    const { page } = panel;
    await finish(demo);
    await page.locator(`${ROWS}[data-node="bn1"]`).focus();
    await page.keyboard.press("ArrowDown");
    assert.equal(await activeNode(page), "bn2");
    await page.keyboard.press("End");
    assert.equal(await activeNode(page), "bn4");
    await page.keyboard.press("ArrowUp");
    assert.equal(await activeNode(page), "bn3");
    await page.keyboard.press("Enter");
    await page.getByTestId("layer-detail").waitFor();
    const req = await panel.waitForPosted("getLayer");
    assert.deepEqual({ kind: req.kind, index: req.index }, { kind: "bn", index: 2 });
    await panel.waitForPosted("layerOpened", (m) => m.index === 2);
    await page.getByTestId("channel-table").waitFor();
    await page.keyboard.press("Escape");
    await page.getByTestId("overview").waitFor();
    assert.equal(await page.getByTestId("layer-detail").count(), 0);
    assert.equal(await activeNode(page), "bn3");
    // Tab reaches the buttons; focus is visible.
    await page.locator("body").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "run-random");
  });

  it("shows one layer in detail through a getLayer round trip: findings, histograms, channels, Show node", async () => {
    const { page } = panel;
    await finish(demo);
    await page.locator(`${ROWS}[data-node="bn3"]`).click();
    const detail = page.getByTestId("layer-detail");
    await page.getByTestId("channel-table").waitFor();
    const rules = await detail.locator("[data-rule]").evaluateAll((els) => els.map((e) => e.getAttribute("data-rule")));
    assert.deepEqual(new Set(rules), new Set(["mean-shift", "variance-ratio", "rectifier-off", "dead-channel"]));
    assert.match(await detail.innerText(), /Running mean does not match the data/);
    assert.match(await detail.innerText(), /Relu is flat here \(x ≤ 0\)/);
    // Channel 5 carries the worst variance ratio (20.3×, the error, so the cursor starts there); channel 1 the worst z.
    assert.match(await page.locator('[data-channel="5"]').innerText(), /20\.3×/);
    assert.match(await page.locator('[data-channel="1"]').innerText(), /−2\.50σ/);
    assert.match(
      await page.getByTestId("channel-readout").innerText(),
      /Channel 5\s+running mean −0\.0942 vs data −0\.0892 ± 0\.384.*running var 2\.99 vs data 0\.147 \(20\.3×, 95% CI [\d.]+× to [\d.]+×: crossed with confidence\)/s,
    );
    await page.locator(".channel-charts").focus();
    await page.keyboard.press("ArrowRight");
    assert.match(await page.getByTestId("channel-readout").innerText(), /Channel 6/);
    await page.keyboard.press("Home");
    assert.match(await page.getByTestId("channel-readout").innerText(), /Channel 0\s+dead/);
    assert.match(
      await page.getByTestId("hist-caption").innerText(),
      /Linear axis: both histograms are re-binned onto the same equal-width bins/,
    );
    await panel.screenshot("12-demo-detail-bn3");
    await page.getByTestId("show-node").click();
    await panel.waitForPosted("revealNode", (m) => m.node === "bn3");
    await page.getByTestId("axis").evaluate((el) => {
      (el as HTMLElement & { value: string }).value = "symlog";
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
    assert.match(await page.getByTestId("hist-caption").innerText(), /Symmetric-log axis/);
    await panel.screenshot("13-demo-detail-bn3-symlog");
    // Next layer in the current order; the sigmoid layer shades both saturated tails.
    await page.getByTestId("prev").click();
    await page.getByTestId("channel-table").waitFor();
    assert.match(await page.locator("#detail-title").innerText(), /^bn2$/);
    assert.match(await detail.innerText(), /Sigmoid is flat here \(\|x\| ≥ 5\.288\)/);
    await panel.screenshot("14-demo-detail-bn2-sigmoid");
    await page.getByTestId("back").click();
    await page.getByTestId("overview").waitFor();
  });

  it("shows the host's error when getLayer fails, and retries", async () => {
    const { page } = panel;
    await finish(demo);
    host.failNext = "The report of this run is no longer available.";
    await page.locator(`${ROWS}[data-node="bn4"]`).click();
    await page.getByText("BN Lens could not load this layer: The report of this run is no longer available.").waitFor();
    await page.getByTestId("layer-detail").getByText("Try again").click();
    await page.getByTestId("channel-table").waitFor();
  });

  it("keeps view, layer, sort, filter and scroll across a reload (state via setState/getState)", async () => {
    const { page } = panel;
    host.model = faceModel;
    host.resendOnReady = true;
    await panel.send({ type: "modelDescribed", overview: faceModel, trusted: true });
    await finish(face);
    await page.locator('button[data-sort="varRatio"]').click();
    const order = await shownNodes(page);
    await page.locator(`${ROWS}[data-node="${order[1]}"]`).click();
    await page.getByTestId("channel-table").waitFor();
    await panel.reload();
    await panel.waitForPosted("overviewRendered");
    await page.getByTestId("channel-table").waitFor();
    assert.equal(await page.locator("#detail-title").innerText(), order[1]);
    await page.keyboard.press("Escape");
    await page.getByTestId("overview").waitFor();
    assert.deepEqual((await shownNodes(page)).slice(0, 5), order.slice(0, 5));
    assert.equal(await page.locator('[role="columnheader"]:has(button[data-sort="varRatio"])').getAttribute("aria-sort"), "descending");
    // Scroll survives a reload of the overview too.
    await page.getByTestId("layer-list").evaluate((el) => {
      el.scrollTop = 400;
      el.dispatchEvent(new Event("scroll"));
    });
    await page.waitForTimeout(300);
    await panel.reload();
    await panel.waitForPosted("overviewRendered");
    assert.ok(Math.abs((await page.getByTestId("layer-list").evaluate((el) => el.scrollTop)) - 400) <= 1);
  });

  it("lists the face detector's 35 BN layers from 16 photos", async () => {
    const { page } = panel;
    await panel.send({ type: "modelDescribed", overview: faceModel, trusted: true });
    const rendered = await finish(face);
    assert.equal(rendered.rows, 35);
    // The first paint has the rows in view; the rest of a 35-layer report follows when the page is idle.
    await until(async () => ((await page.locator(ROWS).count()) === 35 ? true : undefined), "35 layer rows in the DOM");
    assert.match(await page.getByTestId("subtitle").innerText(), /16/);
    await panel.screenshot("20-face-overview");
    await page.locator('button[data-sort="severity"]').click();
    const worst = (await shownNodes(page))[0];
    await page.locator(`${ROWS}[data-node="${worst}"]`).click();
    await page.getByTestId("channel-table").waitFor();
    await panel.screenshot("21-face-detail");
  });

  it("follows the theme: light and high contrast redraw the charts", async () => {
    const { page } = panel;
    await finish(demo);
    const pixels = () => page.getByTestId("sparklines").evaluate((c) => (c as HTMLCanvasElement).toDataURL());
    const dark = await pixels();
    await panel.setTheme("light");
    await page.waitForTimeout(100);
    assert.notEqual(await pixels(), dark, "sparklines redrawn with the light palette");
    await panel.screenshot("30-demo-light");
    await page.locator(`${ROWS}[data-node="bn3"]`).click();
    await page.getByTestId("channel-table").waitFor();
    await panel.screenshot("31-demo-detail-light");
    await panel.setTheme("high-contrast");
    await page.waitForTimeout(100);
    await panel.screenshot("32-demo-detail-high-contrast");
  });

  it("shows activation statistics when BN was fused away, and an empty state for zero layers", async () => {
    const { page } = panel;
    const fused = syntheticReport({ layers: 6, fused: true });
    await finish(fused);
    assert.equal(await page.locator(ROWS).count(), 6);
    assert.match(await page.getByTestId("overview").innerText(), /No BatchNormalization nodes/);
    assert.match(await rowText(page, "conv_0"), /Conv output → Relu · 16 ch/);
    await panel.screenshot("40-fused-overview");
    await page.locator(`${ROWS}[data-node="conv_0"]`).click();
    await page.getByTestId("channel-readout").waitFor();
    assert.match(await page.getByTestId("layer-detail").innerText(), /BN was fused away/);
    await panel.screenshot("41-fused-detail");
    await page.keyboard.press("Escape");
    const none = syntheticReport({ layers: 0, fused: true });
    await finish(none);
    assert.match(await page.getByTestId("empty").innerText(), /No layers to show/);
    await panel.screenshot("42-empty-report");
  });

  it("draws 300 layers through the virtual list and reports the first paint", async () => {
    const { page } = panel;
    const big = syntheticReport({ layers: 300 });
    const rendered = await finish(big);
    assert.equal(rendered.rows, 300);
    console.log(`      panel first paint, 300 layers: ${rendered.firstPaintMs} ms`);
    const inDom = await page.locator(ROWS).count();
    assert.ok(inDom > 10 && inDom < 300, `only rows near the view are in the DOM (${inDom})`);
    assert.equal(await page.getByTestId("layer-list").getAttribute("data-rows"), "300");
    assert.equal(await page.getByTestId("layer-list").getAttribute("aria-rowcount"), "301");
    await page.locator(ROWS).first().focus();
    await page.keyboard.press("End");
    assert.equal(await activeNode(page), big.layers[299].node);
    await page.keyboard.press("PageUp");
    assert.ok(Number(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.i)) < 299);
    await panel.screenshot("50-synthetic-300");
  });

  it("takes a large report's rows in parts ahead of runFinished, as the host sends them, and lists every one in order", async () => {
    const { page } = panel;
    const big = syntheticReport({ layers: 1200 });
    host.report = big;
    const compact = compactReport(big);
    await panel.clearPosted();
    // As src/extension/modelView.ts sends a report of more than 500 rows: parts of 500, then runFinished without rows.
    for (let from = 0; from < compact.rows.length; from += 500)
      await panel.send({ type: "reportRows", rows: compact.rows.slice(from, from + 500) });
    await panel.send({ type: "runFinished", report: { ...compact, rows: [] }, restored: false });
    const rendered = await panel.waitForPosted("overviewRendered");
    assert.equal(rendered.rows, 1200);
    assert.equal(await page.getByTestId("layer-list").getAttribute("data-rows"), "1200");
    await page.locator(ROWS).first().focus();
    assert.equal(await activeNode(page), big.layers[0].node);
    await page.keyboard.press("End");
    assert.equal(await activeNode(page), big.layers[1199].node);
    // The next report comes whole and replaces it (no rows left over from the parts).
    const rerendered = await finish(syntheticReport({ layers: 3 }));
    assert.equal(rerendered.rows, 3);
  });
});
