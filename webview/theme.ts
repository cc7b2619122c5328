// Canvas colours come from VS Code's theme variables. VS Code sets them on <html> and switches the body
// class (vscode-light / vscode-dark / vscode-high-contrast[-light]) when the theme changes; both are watched
// and every chart is redrawn with the new palette.

/** Colours the charts use, resolved to CSS colour strings. */
export interface Palette {
  fg: string;
  muted: string;
  grid: string;
  bg: string;
  /** Pre-BN values (and "observed" in per-channel charts). */
  pre: string;
  /** Post-BN values. */
  post: string;
  /** What the model stores (running mean / var). */
  stored: string;
  /** The flat region of the nonlinearity. */
  flat: string;
  gamma: string;
  beta: string;
  error: string;
  warning: string;
  focus: string;
  highContrast: boolean;
  fontFamily: string;
  monoFamily: string;
}

let current: Palette | null = null;
const listeners = new Set<() => void>();

function read(): Palette {
  const root = getComputedStyle(document.documentElement);
  const body = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => (root.getPropertyValue(name) || body.getPropertyValue(name)).trim() || fallback;
  const light = document.body.classList.contains("vscode-light") || document.body.classList.contains("vscode-high-contrast-light");
  const highContrast =
    document.body.classList.contains("vscode-high-contrast") || document.body.classList.contains("vscode-high-contrast-light");
  const fg = v("--vscode-foreground", light ? "#3b3b3b" : "#cccccc");
  return {
    fg,
    muted: v("--vscode-descriptionForeground", light ? "#717171" : "#9d9d9d"),
    grid: v("--vscode-editorWidget-border", light ? "#d0d0d0" : "#454545"),
    bg: v("--vscode-editor-background", light ? "#ffffff" : "#1f1f1f"),
    pre: v("--vscode-charts-blue", light ? "#1a85ff" : "#3794ff"),
    post: v("--vscode-charts-orange", light ? "#d18616" : "#d18616"),
    stored: fg,
    flat: v("--vscode-charts-red", light ? "#e51400" : "#f14c4c"),
    gamma: v("--vscode-charts-purple", light ? "#652d90" : "#b180d7"),
    beta: v("--vscode-charts-green", light ? "#388a34" : "#89d185"),
    error: v("--vscode-editorError-foreground", light ? "#e51400" : "#f14c4c"),
    warning: v("--vscode-editorWarning-foreground", light ? "#bf8803" : "#cca700"),
    focus: v("--vscode-focusBorder", "#0078d4"),
    highContrast,
    fontFamily: v("--vscode-font-family", "system-ui, sans-serif"),
    monoFamily: v("--vscode-editor-font-family", "monospace"),
  };
}

/** The current palette (read once per theme). */
export function palette(): Palette {
  return (current ??= read());
}

/** Calls `fn` after every theme change; returns an unsubscribe function. */
export function onThemeChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Starts watching the body class and <html> style for theme changes. */
export function watchTheme(): void {
  let scheduled = false;
  const changed = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      const before = current;
      current = read();
      if (before && JSON.stringify(before) === JSON.stringify(current)) return;
      for (const fn of listeners) fn();
    });
  };
  const mo = new MutationObserver(changed);
  mo.observe(document.body, { attributes: true, attributeFilter: ["class"] });
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ["style", "class"] });
}

/** A colour with an alpha, for canvas fills (works for #rgb, #rrggbb, rgb() and named colours via canvas). */
export function withAlpha(color: string, alpha: number): string {
  const c = color.trim();
  let m = /^#([0-9a-f]{3})$/i.exec(c);
  if (m) {
    const [r, g, b] = m[1].split("").map((x) => parseInt(x + x, 16));
    return `rgba(${r},${g},${b},${alpha})`;
  }
  m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(c);
  if (m) {
    const n = parseInt(m[1], 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
  }
  const rgb = /^rgba?\(([^,]+),([^,]+),([^,)]+)/i.exec(c);
  if (rgb) return `rgba(${rgb[1].trim()},${rgb[2].trim()},${rgb[3].trim()},${alpha})`;
  return c;
}

/** Prepares a canvas for crisp drawing at the device pixel ratio; returns its 2D context in CSS pixels. */
export function setupCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(width * dpr));
  const hgt = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== hgt) canvas.height = hgt;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d")!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}
