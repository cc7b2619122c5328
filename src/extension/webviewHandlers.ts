/**
 * The host's answers to the webview's requests (src/protocol/webview.ts WebviewMethods). Pure: no
 * 'vscode', so the webview test's fake host serves the panel with exactly these handlers.
 */
import type { Report } from "../core/report";
import { RpcServer, type Handlers } from "../protocol/rpc";
import { webviewParams, type GetLayerResult, type LayerKind, type WebviewMethods, type WebviewReply } from "../protocol/webview";

/** Handlers that answer a layer's detail with `layer` (the extension host asks the inference process, which holds the report). */
export function layerHandlers(
  layer: (kind: LayerKind, index: number) => GetLayerResult | Promise<GetLayerResult>,
): Handlers<WebviewMethods> {
  return { getLayer: ({ kind, index }) => layer(kind, index) };
}

/** Handlers over a report in memory (the webview tests' fake host; the standalone page has its own). */
export function webviewHandlers(report: () => Report | undefined): Handlers<WebviewMethods> {
  return layerHandlers((kind, index) => {
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
  });
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
