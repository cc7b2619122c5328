// Requests from the webview to the host and their replies, in the manner of vscode-hexeditor's
// shared/protocol.ts: each request carries a fresh requestId and the host answers exactly once with a
// `replied` event bearing the same id. One typed helper for every request the protocol defines.
import type { GetLayerResult, HostToWebview, WebviewToHost } from "../src/protocol/webview";

/** Requests of the protocol (messages with a requestId). */
export type Request = Extract<WebviewToHost, { requestId: number }>;
/** What each request type answers. */
export interface Results {
  getLayer: GetLayerResult;
}
type Replied = Extract<HostToWebview, { type: "replied" }>;
type Params<T extends Request["type"]> = Omit<Extract<Request, { type: T }>, "type" | "requestId">;

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

interface Pending {
  resolve(result: Results[keyof Results]): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Sends requests and matches `replied` events to them. */
export class RequestClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly post: (m: WebviewToHost) => void,
    private readonly timeoutMs = 60_000,
  ) {}

  /** Sends a request; resolves with the host's result. */
  request<T extends Request["type"]>(type: T, params: Params<T>): Promise<Results[T]> {
    const requestId = this.nextId++;
    return new Promise<Results[T]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new RequestError(`BN Lens did not answer within ${Math.round(this.timeoutMs / 1000)} s.`, requestId));
      }, this.timeoutMs);
      this.pending.set(requestId, { resolve: resolve as Pending["resolve"], reject, timer });
      this.post({ type, requestId, ...params } as Request);
    });
  }

  /** Settles the request a `replied` event answers; false when no request is waiting for it. */
  handleReply(m: Replied): boolean {
    const p = this.pending.get(m.requestId);
    if (!p) return false;
    this.pending.delete(m.requestId);
    clearTimeout(p.timer);
    if (m.error !== undefined || m.result === null)
      p.reject(new RequestError(m.error ?? "BN Lens has no data for this layer.", m.requestId));
    else p.resolve(m.result);
    return true;
  }

  /** Rejects every waiting request (a new report makes their answers meaningless). */
  cancelAll(reason: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RequestError(reason, id));
    }
    this.pending.clear();
  }
}
