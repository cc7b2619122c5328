// A browser harness for the BN Lens webview: headless Chromium (Debian's) through playwright-core loads
// the page panelHtml() builds, under the same strict CSP with a fresh nonce, with a fake acquireVsCodeApi
// that records what the webview posts and persists its state like VS Code (across reloads). Files are
// served from a fake webview origin by request interception, so nothing listens on a port.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { panelHtml } from "../../src/extension/webviewShell";
import type { HostToWebview, WebviewToHost } from "../../src/protocol/webview";
import { CHROMIUM_ARGS } from "./offlinePage";

/** The webview's resource origin (what webview.cspSource is in VS Code). */
export const ORIGIN = "https://bn-lens.webview.test";
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export type ThemeName = "dark" | "light" | "high-contrast";

/** A subset of VS Code's theme variables (Dark Modern, Light Modern, High Contrast), as VS Code sets them on <html>. */
export const THEMES: Record<ThemeName, { bodyClass: string; vars: Record<string, string> }> = {
  dark: {
    bodyClass: "vscode-dark",
    vars: {
      "--vscode-foreground": "#cccccc",
      "--vscode-descriptionForeground": "#9d9d9d",
      "--vscode-editor-background": "#1f1f1f",
      "--vscode-editorWidget-background": "#202020",
      "--vscode-editorWidget-border": "#313131",
      "--vscode-focusBorder": "#0078d4",
      "--vscode-charts-blue": "#3794ff",
      "--vscode-charts-orange": "#d18616",
      "--vscode-charts-red": "#f14c4c",
      "--vscode-charts-green": "#89d185",
      "--vscode-charts-purple": "#b180d7",
      "--vscode-charts-yellow": "#cca700",
      "--vscode-editorError-foreground": "#f14c4c",
      "--vscode-editorWarning-foreground": "#cca700",
      "--vscode-editorInfo-foreground": "#3794ff",
      "--vscode-textLink-foreground": "#4daafc",
      "--vscode-button-background": "#0078d4",
      "--vscode-button-foreground": "#ffffff",
      "--vscode-button-hoverBackground": "#026ec1",
      "--vscode-button-secondaryBackground": "#313131",
      "--vscode-button-secondaryForeground": "#cccccc",
      "--vscode-button-secondaryHoverBackground": "#3c3c3c",
      "--vscode-settings-textInputBackground": "#313131",
      "--vscode-settings-textInputForeground": "#cccccc",
      "--vscode-settings-textInputBorder": "#3c3c3c",
      "--vscode-settings-dropdownBackground": "#313131",
      "--vscode-settings-dropdownForeground": "#cccccc",
      "--vscode-settings-dropdownBorder": "#3c3c3c",
      "--vscode-settings-dropdownListBorder": "#454545",
      "--vscode-list-hoverBackground": "#2a2d2e",
      "--vscode-list-activeSelectionBackground": "#04395e",
      "--vscode-list-inactiveSelectionBackground": "#37373d",
      "--vscode-list-focusBackground": "#04395e",
      "--vscode-progressBar-background": "#0078d4",
      "--vscode-inputValidation-errorBackground": "#5a1d1d",
      "--vscode-inputValidation-errorBorder": "#be1100",
      "--vscode-font-family": "system-ui, 'Segoe UI', 'Ubuntu', sans-serif",
      "--vscode-font-size": "13px",
      "--vscode-editor-font-family": "'DejaVu Sans Mono', monospace",
    },
  },
  light: {
    bodyClass: "vscode-light",
    vars: {
      "--vscode-foreground": "#3b3b3b",
      "--vscode-descriptionForeground": "#717171",
      "--vscode-editor-background": "#ffffff",
      "--vscode-editorWidget-background": "#f8f8f8",
      "--vscode-editorWidget-border": "#c8c8c8",
      "--vscode-focusBorder": "#005fb8",
      "--vscode-charts-blue": "#1a85ff",
      "--vscode-charts-orange": "#d18616",
      "--vscode-charts-red": "#e51400",
      "--vscode-charts-green": "#388a34",
      "--vscode-charts-purple": "#652d90",
      "--vscode-charts-yellow": "#bf8803",
      "--vscode-editorError-foreground": "#e51400",
      "--vscode-editorWarning-foreground": "#bf8803",
      "--vscode-editorInfo-foreground": "#1a85ff",
      "--vscode-textLink-foreground": "#005fb8",
      "--vscode-button-background": "#005fb8",
      "--vscode-button-foreground": "#ffffff",
      "--vscode-button-hoverBackground": "#0258a8",
      "--vscode-button-secondaryBackground": "#e5e5e5",
      "--vscode-button-secondaryForeground": "#3b3b3b",
      "--vscode-button-secondaryHoverBackground": "#cccccc",
      "--vscode-settings-textInputBackground": "#ffffff",
      "--vscode-settings-textInputForeground": "#3b3b3b",
      "--vscode-settings-textInputBorder": "#cecece",
      "--vscode-settings-dropdownBackground": "#ffffff",
      "--vscode-settings-dropdownForeground": "#3b3b3b",
      "--vscode-settings-dropdownBorder": "#cecece",
      "--vscode-settings-dropdownListBorder": "#c8c8c8",
      "--vscode-list-hoverBackground": "#f2f2f2",
      "--vscode-list-activeSelectionBackground": "#e8e8e8",
      "--vscode-list-inactiveSelectionBackground": "#e4e6f1",
      "--vscode-list-focusBackground": "#d6ebff",
      "--vscode-progressBar-background": "#005fb8",
      "--vscode-inputValidation-errorBackground": "#f2dede",
      "--vscode-inputValidation-errorBorder": "#be1100",
      "--vscode-font-family": "system-ui, 'Segoe UI', 'Ubuntu', sans-serif",
      "--vscode-font-size": "13px",
      "--vscode-editor-font-family": "'DejaVu Sans Mono', monospace",
    },
  },
  "high-contrast": {
    bodyClass: "vscode-high-contrast",
    vars: {
      "--vscode-foreground": "#ffffff",
      "--vscode-descriptionForeground": "#ffffff",
      "--vscode-editor-background": "#000000",
      "--vscode-editorWidget-background": "#0c141f",
      "--vscode-editorWidget-border": "#6fc3df",
      "--vscode-focusBorder": "#f38518",
      "--vscode-contrastBorder": "#6fc3df",
      "--vscode-contrastActiveBorder": "#f38518",
      "--vscode-charts-blue": "#3794ff",
      "--vscode-charts-orange": "#d18616",
      "--vscode-charts-red": "#f14c4c",
      "--vscode-charts-green": "#89d185",
      "--vscode-charts-purple": "#b180d7",
      "--vscode-editorError-foreground": "#f48771",
      "--vscode-editorWarning-foreground": "#ffd370",
      "--vscode-editorInfo-foreground": "#3794ff",
      "--vscode-textLink-foreground": "#21a6ff",
      "--vscode-button-background": "#000000",
      "--vscode-button-foreground": "#ffffff",
      "--vscode-button-border": "#6fc3df",
      "--vscode-button-secondaryBackground": "#000000",
      "--vscode-button-secondaryForeground": "#ffffff",
      "--vscode-settings-textInputBackground": "#000000",
      "--vscode-settings-textInputBorder": "#6fc3df",
      "--vscode-settings-dropdownBackground": "#000000",
      "--vscode-settings-dropdownBorder": "#6fc3df",
      "--vscode-list-hoverBackground": "#000000",
      "--vscode-list-inactiveSelectionBackground": "#000000",
      "--vscode-font-family": "system-ui, 'Segoe UI', 'Ubuntu', sans-serif",
      "--vscode-font-size": "13px",
      "--vscode-editor-font-family": "'DejaVu Sans Mono', monospace",
    },
  },
};

/** The fake VS Code webview API, served as a nonce'd script that runs before the bundle. */
function fakeApiScript(theme: ThemeName): string {
  return `(() => {
  const theme = ${JSON.stringify(THEMES)};
  window.__posted = [];
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__csp.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile, line: e.lineNumber });
  });
  window.__setTheme = (name) => {
    const t = theme[name];
    const root = document.documentElement;
    for (const k of Array.from(root.style)) if (k.startsWith("--vscode-")) root.style.removeProperty(k);
    for (const [k, v] of Object.entries(t.vars)) root.style.setProperty(k, v);
    const apply = () => {
      document.body.classList.remove("vscode-light", "vscode-dark", "vscode-high-contrast", "vscode-high-contrast-light");
      document.body.classList.add(t.bodyClass);
      document.body.dataset.vscodeThemeKind = t.bodyClass;
    };
    if (document.body) apply(); else document.addEventListener("DOMContentLoaded", apply, { once: true });
  };
  window.__setTheme(${JSON.stringify(theme)});
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error("An instance of the VS Code API has already been acquired");
    acquired = true;
    return Object.freeze({
      postMessage(m) {
        const copy = JSON.parse(JSON.stringify(m));
        window.__posted.push(copy);
        if (window.__bnLensHost) window.__bnLensHost(copy);
      },
      getState() {
        const s = sessionStorage.getItem("vscodeState");
        return s === null ? undefined : JSON.parse(s);
      },
      setState(s) {
        sessionStorage.setItem("vscodeState", JSON.stringify(s));
        return s;
      },
    });
  };
})();`;
}

/** The project root: the nearest folder above this file with BN Lens's package.json (tests run from out/, scripts from elsewhere). */
function findRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && /"name":\s*"bn-lens"/.test(fs.readFileSync(pkg, "utf8"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no BN Lens package.json above ${__dirname}`);
  }
}
export const ROOT = findRoot();

/** Starts headless Chromium with the project's flags and a fresh profile folder. */
export async function launchBrowser(): Promise<{ browser: BrowserContext; close(): Promise<void> }> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with "apt-get install -y chromium"`);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bn-lens-chromium-"));
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  return {
    browser,
    async close() {
      await browser.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export interface PanelOptions {
  theme?: ThemeName;
  width?: number;
  height?: number;
  /** Answers webview messages like the host would (getLayer → replied); called for every posted message. */
  onMessage?: (m: WebviewToHost, panel: Panel) => void;
  /** Where screenshots go (default test-results/webview). */
  resultsDir?: string;
}

/** One webview page. */
export class Panel {
  private constructor(
    readonly page: Page,
    readonly resultsDir: string,
    readonly nonce: string,
  ) {}

  /** Opens a new page with the panel, under its CSP, with a fake VS Code API. */
  static async open(context: BrowserContext | Browser, o: PanelOptions = {}): Promise<Panel> {
    const page = await context.newPage();
    await page.setViewportSize({ width: o.width ?? 1280, height: o.height ?? 800 });
    const nonce = randomBytes(16).toString("base64");
    const resultsDir = o.resultsDir ?? path.join(ROOT, "test-results", "webview");
    fs.mkdirSync(resultsDir, { recursive: true });
    const panel = new Panel(page, resultsDir, nonce);
    const html = panelHtml({ cspSource: ORIGIN, nonce, scriptUri: `${ORIGIN}/dist/webview.js`, styleUri: `${ORIGIN}/media/panel.css` })
      // The fake API runs first, exactly where VS Code's own preload would.
      .replace(`<script nonce="${nonce}"`, `<script nonce="${nonce}" src="${ORIGIN}/fake-vscode.js"></script>\n  <script nonce="${nonce}"`);
    await page.route(`${ORIGIN}/**`, async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname === "/index.html") return route.fulfill({ status: 200, contentType: "text/html", body: html });
      if (url.pathname === "/fake-vscode.js")
        return route.fulfill({ status: 200, contentType: "text/javascript", body: fakeApiScript(o.theme ?? "dark") });
      const file = path.join(ROOT, url.pathname);
      if (!file.startsWith(ROOT + path.sep) || !fs.existsSync(file) || !/^\/(dist|media)\//.test(url.pathname))
        return route.fulfill({ status: 404, body: "" });
      const type = file.endsWith(".js")
        ? "text/javascript"
        : file.endsWith(".css")
          ? "text/css"
          : file.endsWith(".map")
            ? "application/json"
            : "application/octet-stream";
      return route.fulfill({ status: 200, contentType: type, body: fs.readFileSync(file) });
    });
    panel.errors = [];
    page.on("pageerror", (e) => panel.errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") panel.errors.push(`console: ${m.text()}`);
    });
    if (o.onMessage) {
      const handler = o.onMessage;
      await page.exposeFunction("__bnLensHost", (m: WebviewToHost) => handler(m, panel));
    }
    await page.goto(`${ORIGIN}/index.html`);
    await panel.waitForPosted("webviewReady");
    return panel;
  }

  /** Page errors and console errors seen so far. */
  errors: string[] = [];

  /** Delivers a host message the way VS Code does (a window message event). */
  async send(m: HostToWebview): Promise<void> {
    await this.page.evaluate((msg) => window.postMessage(msg, "*"), m as unknown as Record<string, unknown>);
  }

  /** Every message the webview posted since the page loaded. */
  async posted(): Promise<WebviewToHost[]> {
    return this.page.evaluate(() => (window as unknown as { __posted: WebviewToHost[] }).__posted);
  }

  /** Waits until the webview has posted a message of `type` (matching `pred`) and returns the latest one. */
  async waitForPosted<T extends WebviewToHost["type"]>(
    type: T,
    pred: (m: Extract<WebviewToHost, { type: T }>) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<Extract<WebviewToHost, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await this.posted().catch(() => [] as WebviewToHost[]);
      const hit = all
        .filter((m): m is Extract<WebviewToHost, { type: T }> => m.type === type)
        .filter(pred)
        .pop();
      if (hit) return hit;
      if (Date.now() > deadline)
        throw new Error(`the webview did not post ${type} within ${timeoutMs} ms; posted: ${all.map((m) => m.type).join(", ")}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Forgets the posted messages recorded so far. */
  async clearPosted(): Promise<void> {
    await this.page.evaluate(() => {
      (window as unknown as { __posted: unknown[] }).__posted.length = 0;
    });
  }

  /** CSP violations reported in the page. */
  async cspViolations(): Promise<{ directive: string; blocked: string; sample: string }[]> {
    return this.page.evaluate(() => (window as unknown as { __csp: { directive: string; blocked: string; sample: string }[] }).__csp);
  }

  /** Switches the VS Code theme the way VS Code does (variables on <html>, class on <body>). */
  async setTheme(name: ThemeName): Promise<void> {
    await this.page.evaluate((n) => (window as unknown as { __setTheme(n: string): void }).__setTheme(n), name);
  }

  /** Saves a full-page screenshot as <resultsDir>/<name>.png and returns its path. */
  async screenshot(name: string): Promise<string> {
    const file = path.join(this.resultsDir, `${name}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    return file;
  }

  /** Reloads the page (a webview reload); the fake API keeps its state like VS Code does. */
  async reload(): Promise<void> {
    await this.clearPosted().catch(() => undefined);
    await this.page.reload();
    await this.waitForPosted("webviewReady");
  }

  async close(): Promise<void> {
    await this.page.close();
  }
}
