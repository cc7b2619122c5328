// What the standalone HTML report tests share: the CLI they run and an offline Chromium page that records
// every request and every console error or warning.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ROOT } from "../helpers/paths";

const CLI = path.join(ROOT, "dist", "cli.js");

/** Chromium flags for a root, offline, headless run (../shared/ENVIRONMENT.md). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Runs the built CLI. */
export function bnLens(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

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
