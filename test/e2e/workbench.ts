// Drives the VS Code workbench the way a person does: keyboard, command palette, Quick Open, and the
// webview panels (each a nested iframe: the outer one hosts VS Code's webview shell, the inner one the
// extension's HTML).
import type { Frame, Page } from "playwright-core";

const QUICK_INPUT = ".quick-input-widget";

/** Waits until `probe` returns something other than undefined/false; probes that throw count as not yet. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch {
      /* frames detach while webviews load */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const exactly = (text: string): RegExp => new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`);

/** Opens the quick input with `key` (F1: commands, Control+P: files), from wherever the focus is. */
async function openQuickInput(page: Page, key: string): Promise<void> {
  const widget = page.locator(QUICK_INPUT);
  for (let attempt = 1; ; attempt++) {
    // Keys pressed while a webview (an iframe) has the focus may not reach the workbench's keybindings,
    // e.g. while a custom editor is still loading: give the focus back to the workbench first.
    await page.evaluate(() => {
      const active = document.activeElement;
      if (active instanceof HTMLIFrameElement) active.blur();
    });
    await page.keyboard.press("Escape");
    await page.keyboard.press(key);
    try {
      await widget.waitFor({ state: "visible", timeout: 5_000 });
      return;
    } catch (err) {
      if (attempt === 3) throw new Error(`${key} did not open the quick input after ${attempt} tries: ${String(err)}`);
    }
  }
}

async function quickInput(page: Page, key: string, text: string, label: string, timeoutMs = 60_000): Promise<void> {
  const widget = page.locator(QUICK_INPUT);
  // The row whose label is exactly `label`: "Inspect Model" must not pick "Inspect Model with Data...".
  const row = widget.locator(".monaco-list-row", { has: page.locator(".label-name", { hasText: exactly(label) }) }).first();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await openQuickInput(page, key);
    await page.keyboard.type(text, { delay: 10 });
    try {
      await row.waitFor({ state: "visible", timeout: 10_000 });
      break;
    } catch (err) {
      // The palette lists what was known when it opened: an extension host still starting (or files
      // still being indexed) shows up on a later try.
      if (Date.now() > deadline) throw new Error(`no "${label}" in the quick input after ${timeoutMs / 1000} s: ${String(err)}`);
    }
  }
  await row.click();
  await widget.waitFor({ state: "hidden", timeout: 15_000 }).catch(() => {
    /* a command may open its own input */
  });
}

/** Runs a command from the command palette (F1) by typing its title, e.g. "BN Lens: Inspect Model". */
export async function runCommand(page: Page, title: string): Promise<void> {
  await quickInput(page, "F1", title, title);
}

/** Picks the row of an open quick pick whose label contains `label` (typing it to filter first). */
export async function quickPick(page: Page, label: string): Promise<void> {
  const widget = page.locator(QUICK_INPUT);
  await widget.waitFor({ state: "visible", timeout: 30_000 });
  await widget.locator("input.input").first().fill(label);
  const row = widget.locator(".monaco-list-row", { hasText: label }).first();
  await row.waitFor({ state: "visible", timeout: 15_000 });
  await row.click();
}

/**
 * Answers VS Code's own (browser) open dialog, a quick input holding a path, with a folder: types the
 * folder's path and presses the dialog's accept button (the command's openLabel, or "OK").
 */
export async function chooseFolder(page: Page, folder: string): Promise<void> {
  const widget = page.locator(QUICK_INPUT);
  await widget.waitFor({ state: "visible", timeout: 30_000 });
  const input = widget.locator("input.input").first();
  // The dialog fills in its starting folder a moment after it opens; typing before that gets the path
  // appended to it. Wait for its own value, then replace it, until it holds exactly our path.
  const wanted = folder.endsWith("/") ? folder : `${folder}/`;
  await waitFor(async () => ((await input.inputValue()).length > 0 ? true : undefined), 15_000, "the file dialog's starting folder");
  await waitFor(
    async () => {
      await input.click();
      await page.keyboard.press("Control+A");
      await page.keyboard.type(wanted);
      await page.waitForTimeout(500);
      return (await input.inputValue()) === wanted ? true : undefined;
    },
    20_000,
    `the file dialog to hold ${wanted}`,
  );
  // Accept with the dialog's button; the dialog may still be checking the path, so try again until it closes.
  await waitFor(
    async () => {
      const button = widget.getByRole("button", { name: /Use This Data|OK/ }).first();
      if (await button.isVisible().catch(() => false)) await button.click().catch(() => undefined);
      else await page.keyboard.press("Enter");
      await page.waitForTimeout(1500);
      return (await widget.isVisible()) ? undefined : true;
    },
    30_000,
    "the file dialog to accept the folder",
  );
}

/** Opens a workspace file through Quick Open (Ctrl+P) by typing its name. */
export async function openFile(page: Page, fileName: string): Promise<void> {
  await quickInput(page, "Control+P", fileName, fileName);
}

/**
 * If a command asked for a file (VS Code's own open dialog in the browser is a quick input holding a
 * path; a quick pick lists files), answers it with `filePath`. Returns whether it answered.
 */
export async function answerFilePrompt(page: Page, filePath: string): Promise<boolean> {
  const widget = page.locator(QUICK_INPUT);
  if (!(await widget.isVisible())) return false;
  const name = filePath.split("/").pop() ?? filePath;
  const row = widget.locator(".monaco-list-row", { hasText: name }).first();
  if (await row.isVisible()) {
    await row.click();
  } else {
    const input = widget.locator("input.input").first();
    await input.fill(filePath);
    await page.keyboard.press("Enter");
  }
  return true;
}

/** The webview frame (the extension's own document) that contains `selector`. */
export async function webviewFrame(page: Page, selector: string, timeoutMs: number): Promise<Frame> {
  return waitFor(
    async () => {
      for (const frame of page.frames()) {
        if (frame === page.mainFrame()) continue;
        if ((await frame.locator(selector).count()) > 0) return frame;
      }
      return undefined;
    },
    timeoutMs,
    `a webview containing ${selector}`,
  );
}

/**
 * How many distinct rows match `rowSelector` in `frame`, scrolling their list from top to bottom the way
 * a reader would: a virtualised list only keeps the rows in view in the DOM. Rows are told apart by
 * their data-i attribute (BN Lens's virtual list index) or else their text. Scrolls back to the top.
 */
export async function distinctRows(frame: Frame, rowSelector: string): Promise<number> {
  return frame.evaluate(async (selector) => {
    const seen = new Set<string>();
    const collect = (): void => {
      for (const el of Array.from(document.querySelectorAll<HTMLElement>(selector))) seen.add(el.dataset.i ?? el.textContent ?? "");
    };
    const first = document.querySelector(selector);
    let box: Element | null = first?.parentElement ?? null;
    while (box && !(box.scrollHeight > box.clientHeight + 1 && /auto|scroll/.test(getComputedStyle(box).overflowY)))
      box = box.parentElement;
    const scroller = box ?? document.scrollingElement ?? document.documentElement;
    const settle = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
    scroller.scrollTop = 0;
    await settle();
    collect();
    for (let guard = 0; guard < 1000 && scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight - 1; guard++) {
      const before = scroller.scrollTop;
      scroller.scrollTop = before + Math.max(20, scroller.clientHeight * 0.5);
      await settle();
      collect();
      if (scroller.scrollTop === before) break;
    }
    scroller.scrollTop = 0;
    await settle();
    return seen.size;
  }, rowSelector);
}

/** Text of the open editor tabs, e.g. to check that a panel titled "BN Lens" is open. */
export async function tabTitles(page: Page): Promise<string[]> {
  return page.locator(".tabs-container .tab .label-name").allInnerTexts();
}

/** The BN Lens webview frame whose body text passes `test` (it may also look at the frame). */
export async function panel(
  page: Page,
  test: (text: string, f: Frame) => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 180_000,
): Promise<Frame> {
  return waitFor(
    async () => {
      for (const f of page.frames()) {
        if (f === page.mainFrame()) continue;
        if ((await f.locator('[data-testid="title"]').count()) === 0) continue;
        const text = await f
          .locator("body")
          .innerText({ timeout: 1000 })
          .catch(() => "");
        if (await test(text, f)) return f;
      }
      return undefined;
    },
    timeoutMs,
    what,
  );
}

/** Whether the first element with this test id is visible in the frame. */
export const shown = (f: Frame, testid: string): Promise<boolean> =>
  f
    .getByTestId(testid)
    .first()
    .isVisible()
    .catch(() => false);
