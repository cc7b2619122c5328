/**
 * The BN Lens panel's HTML page, as a pure string builder: the extension host serves it, the browser
 * test harness loads the same page. No DOM here, so both sides can import it.
 *
 * The Content-Security-Policy allows only local resources (`cspSource`) and the one script tag that carries
 * the nonce: no inline styles, no eval. The web components (Lit) style themselves through
 * adoptedStyleSheets, which CSP does not restrict, so `'unsafe-inline'` is never needed.
 */

/** What the page needs: the webview's resource origin, a fresh nonce, and the bundle's URIs. */
export interface PanelHtmlOptions {
  /** `webview.cspSource`: the origin local resources are served from. */
  cspSource: string;
  /** A random string, new for every page load (base64 or hex). */
  nonce: string;
  /** dist/webview.js as a webview URI. */
  scriptUri: string;
  /** media/panel.css as a webview URI. */
  styleUri: string;
  /** codicon.css as a webview URI, when the page should load the codicon font (unused by BN Lens today). */
  codiconUri?: string;
  /** The page title (the panel's tab shows the host's title, screen readers this one). */
  title?: string;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };

/** Escapes text for a text node or a double-quoted attribute value (where ' needs no escape: CSP keywords stay readable). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ESCAPES[c]);
}

/** The Content-Security-Policy of the panel. */
export function panelCsp(cspSource: string, nonce: string): string {
  return (
    [
      "default-src 'none'",
      `img-src ${cspSource} data:`,
      `style-src ${cspSource} 'nonce-${nonce}'`,
      `font-src ${cspSource}`,
      `script-src 'nonce-${nonce}'`,
    ].join("; ") + ";"
  );
}

/** The panel's HTML page. */
export function panelHtml(o: PanelHtmlOptions): string {
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(o.nonce)) throw new Error("panelHtml needs a nonce of at least 16 base64 or hex characters");
  const a = escapeHtml;
  const codicons = o.codiconUri
    ? `\n  <link id="vscode-codicon-stylesheet" rel="stylesheet" nonce="${a(o.nonce)}" href="${a(o.codiconUri)}">`
    : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${a(panelCsp(o.cspSource, o.nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>${a(o.title ?? "BN Lens")}</title>
  <link rel="stylesheet" nonce="${a(o.nonce)}" href="${a(o.styleUri)}">${codicons}
</head>
<body>
  <div id="app" data-testid="app"><p class="boot">Loading BN Lens…</p></div>
  <script nonce="${a(o.nonce)}" src="${a(o.scriptUri)}"></script>
</body>
</html>
`;
}
