// Requests from the webview to the host through the one request/reply layer (src/protocol/rpc.ts): each
// request carries a fresh requestId and the host answers exactly once with a `replied` event bearing the
// same id and method. This adds what only the webview needs: a deadline, and dropping every waiting
// request when a new report arrives.
import { RpcClient } from "../src/protocol/rpc";
import { str } from "../src/core/schema";
import type { HostToWebview, WebviewMethods, WebviewToHost } from "../src/protocol/webview";

type Method = keyof WebviewMethods;

/** Raised when the host answers with an error, with nothing, or not in time. */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly requestId: number,
  ) {
    super(message);
    this.name = "RequestError";
  }
}

/** Sends requests and matches `replied` events to them. */
export class RequestClient {
  private readonly rpc: RpcClient<WebviewMethods, string>;
  private readonly timers = new Map<number, ReturnType<typeof setTimeout>>();

  constructor(
    post: (m: WebviewToHost) => void,
    private readonly timeoutMs = 60_000,
  ) {
    this.rpc = new RpcClient<WebviewMethods, string>({
      send: post,
      errorSchema: str,
      toError: (error, requestId) => new RequestError(error, requestId),
    });
  }

  /** Sends a request; resolves with the host's result. */
  request<T extends Method>(method: T, params: WebviewMethods[T]["params"]): Promise<WebviewMethods[T]["result"]> {
    const call = this.rpc.request(method, params);
    const id = call.requestId;
    this.timers.set(
      id,
      setTimeout(() => {
        this.rpc.fail(id, new RequestError(`BN Lens did not answer within ${Math.round(this.timeoutMs / 1000)} s.`, id));
      }, this.timeoutMs),
    );
    return call.result.finally(() => {
      clearTimeout(this.timers.get(id));
      this.timers.delete(id);
    });
  }

  /** Settles the request a `replied` event answers; false when no request of that method is waiting for it. */
  handleReply(m: Extract<HostToWebview, { type: "replied" }>): boolean {
    return this.rpc.receive(m);
  }

  /** Rejects every waiting request (a new report makes their answers meaningless). */
  cancelAll(reason: string): void {
    this.rpc.failAll((id) => new RequestError(reason, id));
  }
}
