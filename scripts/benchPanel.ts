// Benchmark: the BN Lens panel's first paint for a report of 300 BN layers, in headless Chromium under the
// panel's CSP. Each run opens a fresh page, lets it settle, sends runFinished and reads the firstPaintMs the
// webview posts with overviewRendered (from receiving runFinished to the frame after the overview is drawn).
// Prints one line of JSON. Run it with `node scripts/benchPanel.mjs [layers] [runs]`.
import { compactReport } from "../src/core/inspect/panelData";
import { launchBrowser, Panel } from "../test/webview/harness";
import { syntheticReport } from "../test/webview/synthetic";

/** Scrolls the whole list, 600 px per frame, and returns the frame intervals' 95th percentile and maximum. */
async function scrollFrames(panel: Panel): Promise<{ frames: number; p95FrameMs: number; maxFrameMs: number }> {
  return panel.page.getByTestId("layer-list").evaluate(
    (list) =>
      new Promise((resolve) => {
        const gaps: number[] = [];
        let last = performance.now();
        const step = () => {
          const now = performance.now();
          gaps.push(now - last);
          last = now;
          if (list.scrollTop + list.clientHeight >= list.scrollHeight - 1) {
            gaps.sort((a, b) => a - b);
            resolve({
              frames: gaps.length,
              p95FrameMs: Math.round(gaps[Math.floor(gaps.length * 0.95)] * 10) / 10,
              maxFrameMs: Math.round(gaps[gaps.length - 1] * 10) / 10,
            });
            return;
          }
          list.scrollTop += 600;
          requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
      }),
  );
}

async function main(): Promise<void> {
  const layers = Number(process.argv[2] ?? 300);
  const runs = Number(process.argv[3] ?? 7);
  const report = compactReport(syntheticReport({ layers }));
  const { browser, close } = await launchBrowser();
  const cold: number[] = [];
  const warm: number[] = [];
  let rowsInDom = 0;
  let scroll = { frames: 0, p95FrameMs: 0, maxFrameMs: 0 };
  try {
    for (let i = 0; i < runs; i++) {
      const panel = await Panel.open(browser);
      await panel.page.waitForTimeout(300);
      await panel.send({ type: "runFinished", report, restored: false });
      const first = await panel.waitForPosted("overviewRendered");
      if (first.rows !== layers) throw new Error(`overviewRendered reported ${first.rows} rows, expected ${layers}`);
      cold.push(first.firstPaintMs);
      rowsInDom = await panel.page.locator('[data-testid="layer-row"]').count();
      if (i === 0) scroll = await scrollFrames(panel);
      // The same report again on the warmed-up page (a re-run).
      await panel.clearPosted();
      await panel.send({ type: "runFinished", report, restored: false });
      warm.push((await panel.waitForPosted("overviewRendered")).firstPaintMs);
      await panel.close();
    }
  } finally {
    await close();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    JSON.stringify({
      panelFirstPaintMs: median(cold),
      layers,
      runs,
      coldMs: cold,
      warmMedianMs: median(warm),
      rowsInDom,
      scrollP95FrameMs: scroll.p95FrameMs,
      scrollMaxFrameMs: scroll.maxFrameMs,
      payloadBytes: JSON.stringify(report).length,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
