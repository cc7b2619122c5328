/**
 * The host's answers to the webview's requests (src/protocol/webview.ts WebviewMethods). Pure: no
 * 'vscode', so the webview test's fake host serves the panel with exactly these handlers.
 */
import type { Report } from "../core/report";
import { RpcServer, type Handlers } from "../protocol/rpc";
import { webviewParams, type WebviewMethods, type WebviewReply } from "../protocol/webview";

/** Handlers over the report a model has now (undefined before its first run). */
export function webviewHandlers(report: () => Report | undefined): Handlers<WebviewMethods> {
  return {
    getLayer: ({ kind, index }) => {
      const r = report();
      if (!r) throw new Error("There is no report for this model yet.");
      if (kind === "bn") {
        const layer = r.layers.find((l) => l.index === index);
        if (!layer) throw new Error(`The report has no BN layer ${index}.`);
        return { kind, layer };
      }
      const layer = r.activations.find((l) => l.index === index);
      if (!layer) throw new Error(`The report has no activation layer ${index}.`);
      return { kind, layer };
    },
  };
}

/** A server for one webview: validated requests in, replies (errors as one sentence) out. */
export function webviewServer(handlers: Handlers<WebviewMethods>, send: (reply: WebviewReply) => void): RpcServer<WebviewMethods, string> {
  return new RpcServer<WebviewMethods, string>({
    handlers,
    params: webviewParams,
    send: (m) => send(m as WebviewReply),
    toError: (e) => (e instanceof Error ? e.message : String(e)),
  });
}
