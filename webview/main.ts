// Entry point of the BN Lens webview (bundled by scripts/build.mjs into dist/webview.js).
import type { HostToWebview } from "../src/protocol/webview";
import "./components";
import { App } from "./app";
import { onThemeChange, watchTheme } from "./theme";
import { Host } from "./vscodeApi";

const host = new Host();
const root = document.getElementById("app") ?? document.body;
const app = new App(root, host);

window.addEventListener("message", (e: MessageEvent<HostToWebview>) => {
  const m = e.data;
  if (typeof m !== "object" || m === null || typeof m.type !== "string") return;
  app.receive(m);
});
watchTheme();
onThemeChange(() => app.redraw());
host.post({ type: "webviewReady" });
