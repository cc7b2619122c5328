// What the standalone HTML report tests share: the CLI they run and an offline Chromium page that records
// every request and every console error or warning.
import { pathToFileURL } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";

export { bnLens } from "../helpers/cli";

/** Chromium flags for a root, offline, headless run (../shared/ENVIRONMENT.md). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** A page on a context with the network off that records every request and every console error or warning. */
export async function openOffline(
  browser: Browser,
  file: string,
  javaScriptEnabled: boolean,
  colorScheme: "dark" | "light" = "dark",
  height = 860,
) {
  const context: BrowserContext = await browser.newContext({
    offline: true,
    javaScriptEnabled,
    colorScheme,
    viewport: { width: 1280, height },
  });
  const url = pathToFileURL(file).href;
  const requests: string[] = [];
  const errors: string[] = [];
  context.on("request", (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  const page: Page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return { context, page, requests, errors };
}
