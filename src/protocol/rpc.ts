/**
 * One typed request/reply layer for both of BN Lens's boundaries (host <-> webview, host <-> inference
 * process), in the manner of vscode-js-profile-visualizer's rpc.ts and vscode-hexeditor's MessageHandler.
 *
 * A protocol is one interface from method name to { params, result, events? }. On the wire:
 * - request   { type: method, requestId, ...params }
 * - reply     { type: "replied", requestId, method, result } or { ..., result: null, error }
 * - event     { type: "notified", requestId, method, event, data } while the request runs
 * - cancel    { type: "cancel", requestId }
 * A reply settles the request only when both its id and its method match, so a reply of another kind can
 * never resolve a request with a value of the wrong type. Pure TypeScript, no timers: timeouts and grace
 * periods belong to the side that owns a clock (the webview, the process client).
 */
import { SchemaError, describeValue, int, literal, parse, string, struct, type Schema } from "../core/schema";

/** One method: what it takes, what it answers, and the events it may send while it runs. */
export interface MethodSpec {
  params: object;
  result: unknown;
  events?: object;
}

/** A protocol: every method's spec. */
export type Protocol<M> = { [K in keyof M]: MethodSpec };
type Name<M> = keyof M & string;
type Spec<M, K extends keyof M> = M[K] extends MethodSpec ? M[K] : never;
/** The events a method may send (none when its spec has no `events`). */
export type EventsOf<S> = S extends { events: infer E } ? E : Record<never, never>;

/** A request on the wire. */
export type RpcRequest<M, K extends Name<M> = Name<M>> = K extends unknown ? { type: K; requestId: number } & Spec<M, K>["params"] : never;

/** A reply on the wire: the result, or `result: null` and the error. */
export type RpcReply<M, E, K extends Name<M> = Name<M>> = K extends unknown
  ? | { type: "replied"; requestId: number; method: K; result: Spec<M, K>["result"]; error?: undefined }
    | { type: "replied"; requestId: number; method: K; result: null; error: E }
  : never;

/** An event about a running request. */
export type RpcEvent<M, K extends Name<M> = Name<M>> = K extends unknown
  ? {
      [Ev in keyof EventsOf<Spec<M, K>> & string]: {
        type: "notified";
        requestId: number;
        method: K;
        event: Ev;
        data: EventsOf<Spec<M, K>>[Ev];
      };
    }[keyof EventsOf<Spec<M, K>> & string]
  : never;

/** Asks the other side to stop a request (it still replies, usually with a cancelled error). */
export interface RpcCancel {
  type: "cancel";
  requestId: number;
}

/** The schema of each method's parameters: the server validates every request with it. */
export type ParamSchemas<M> = { [K in Name<M>]: Schema<Spec<M, K>["params"]> };

/** Callbacks for a method's events. */
export type EventHandlers<S> = { [Ev in keyof EventsOf<S>]?: (data: EventsOf<S>[Ev]) => void };

/** A request in flight. */
export interface Call<R> {
  readonly requestId: number;
  readonly result: Promise<R>;
}

interface Pending {
  method: string;
  resolve(result: unknown): void;
  reject(error: Error): void;
  events: Record<string, ((data: unknown) => void) | undefined>;
}

const envelope = struct({ type: literal("replied", "notified"), requestId: int(), method: string(1, 200) });
const eventName = struct({ event: string(1, 200) });

/** Sends requests and matches replies and events to them. */
export class RpcClient<M extends Protocol<M>, E> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly options: {
      send(message: RpcRequest<M> | RpcCancel): void;
      /** Validates a reply's error. */
      errorSchema: Schema<E>;
      /** The Error a request rejects with for the other side's error. */
      toError(error: E, requestId: number): Error;
    },
  ) {}

  /** Sends a request; its result resolves with the reply's result or rejects with its error. */
  request<K extends Name<M>>(method: K, params: Spec<M, K>["params"], events: EventHandlers<Spec<M, K>> = {}): Call<Spec<M, K>["result"]> {
    const requestId = this.nextId++;
    const result = new Promise<Spec<M, K>["result"]>((resolve, reject) => {
      this.pending.set(requestId, {
        method,
        resolve: resolve as (r: unknown) => void,
        reject,
        events: events as Pending["events"],
      });
    });
    try {
      this.options.send({ ...params, type: method, requestId } as RpcRequest<M>);
    } catch (e) {
      this.fail(requestId, e instanceof Error ? e : new Error(String(e)));
    }
    return { requestId, result };
  }

  /** Whether a request still waits for its reply. */
  isPending(requestId: number): boolean {
    return this.pending.has(requestId);
  }

  /** Asks the other side to stop a request; false when it is no longer waiting. */
  cancel(requestId: number): boolean {
    if (!this.pending.has(requestId)) return false;
    try {
      this.options.send({ type: "cancel", requestId });
    } catch {
      // The other side is gone; whoever noticed that fails the request.
    }
    return true;
  }

  /** Settles a waiting request locally (the other side died, a deadline passed); false when none waits. */
  fail(requestId: number, error: Error): boolean {
    const p = this.pending.get(requestId);
    if (!p) return false;
    this.pending.delete(requestId);
    p.reject(error);
    return true;
  }

  /** Fails every waiting request the filter selects (all by default). */
  failAll(error: (requestId: number) => Error, which: (requestId: number) => boolean = () => true): void {
    for (const id of [...this.pending.keys()]) if (which(id)) this.fail(id, error(id));
  }

  /**
   * Handles a reply or event from the other side. False when it is not one, or answers no waiting request
   * of the same method (a stale, duplicate or mismatched reply changes nothing).
   */
  receive(raw: unknown): boolean {
    const head = parse(envelope, raw);
    if (!head) return false;
    const p = this.pending.get(head.requestId);
    if (!p || p.method !== head.method) return false;
    const m = raw as Record<string, unknown>;
    if (head.type === "notified") {
      const ev = parse(eventName, raw);
      if (!ev) return false;
      p.events[ev.event]?.(m.data);
      return true;
    }
    if (m.result === null) {
      const error = parse(this.options.errorSchema, m.error);
      if (error === undefined) return false;
      this.pending.delete(head.requestId);
      p.reject(this.options.toError(error, head.requestId));
      return true;
    }
    if (m.result === undefined) return false;
    this.pending.delete(head.requestId);
    p.resolve(m.result);
    return true;
  }
}

/** What a handler gets besides its parameters. */
export interface CallContext<S> {
  readonly requestId: number;
  /** True once the client asked to cancel this request. */
  cancelled(): boolean;
  /** Sends an event about this request. */
  emit<Ev extends keyof EventsOf<S> & string>(event: Ev, data: EventsOf<S>[Ev]): void;
}

/** The server's answer to each method: its result (or a promise of it); a throw becomes the reply's error. */
export type Handlers<M> = {
  [K in Name<M>]: (params: Spec<M, K>["params"], call: CallContext<Spec<M, K>>) => Spec<M, K>["result"] | Promise<Spec<M, K>["result"]>;
};

const requestHead = struct({ type: string(1, 200), requestId: int() });

/**
 * Reads a request of the protocol, or a cancel. Throws SchemaError naming what does not fit: the type or
 * requestId, a method the protocol does not have, or a parameter.
 */
export function readRequest<M extends Protocol<M>>(schemas: ParamSchemas<M>, raw: unknown): RpcRequest<M> | RpcCancel {
  const head = requestHead(raw);
  if (head.type === "cancel") return { type: "cancel", requestId: head.requestId };
  if (!Object.prototype.hasOwnProperty.call(schemas, head.type)) {
    throw new SchemaError(
      "type",
      `one of ${[...Object.keys(schemas), "cancel"].map((k) => JSON.stringify(k)).join(", ")}`,
      describeValue(head.type),
    );
  }
  const params = (schemas[head.type as Name<M>] as Schema<object>)(raw);
  return { ...params, type: head.type, requestId: head.requestId } as RpcRequest<M>;
}

/** Checks a message against a protocol: a request with valid parameters, a cancel, or undefined. */
export function parseRequest<M extends Protocol<M>>(schemas: ParamSchemas<M>, raw: unknown): RpcRequest<M> | RpcCancel | undefined {
  try {
    return readRequest(schemas, raw);
  } catch (e) {
    if (e instanceof SchemaError) return undefined;
    throw e;
  }
}

/** Whether a message type names a request of the protocol (or its cancel). */
export function isRequestType<M extends Protocol<M>>(schemas: ParamSchemas<M>, type: unknown): boolean {
  return type === "cancel" || (typeof type === "string" && Object.prototype.hasOwnProperty.call(schemas, type));
}

/** Answers requests with handlers; every reply carries the request's id and method. */
export class RpcServer<M extends Protocol<M>, E> {
  private readonly active = new Set<number>();
  private readonly cancelled = new Set<number>();

  constructor(
    private readonly options: {
      handlers: Handlers<M>;
      params: ParamSchemas<M>;
      send(message: RpcReply<M, E> | RpcEvent<M>): void;
      /** What the client is told when a handler throws. */
      toError(e: unknown): E;
    },
  ) {}

  /**
   * Validates and handles a request or cancel; false for anything else. A request of a known method whose
   * parameters do not fit is answered with an error (the caller would otherwise wait forever) and is not run.
   */
  receive(raw: unknown): boolean {
    const head = parse(requestHead, raw);
    if (!head || !isRequestType(this.options.params, head.type)) return false;
    let msg: RpcRequest<M> | RpcCancel;
    try {
      msg = readRequest(this.options.params, raw);
    } catch (e) {
      if (!(e instanceof SchemaError)) throw e;
      const error = this.options.toError(new Error(`The parameters of ${head.type} are not valid: ${e.message}.`));
      this.options.send({ type: "replied", requestId: head.requestId, method: head.type, result: null, error } as RpcReply<M, E>);
      return false;
    }
    void this.handle(msg);
    return true;
  }

  /** Handles an already validated request or cancel; resolves once the reply is sent. */
  handle(msg: RpcRequest<M> | RpcCancel): Promise<void> {
    if (msg.type === "cancel") {
      if (this.active.has(msg.requestId)) this.cancelled.add(msg.requestId);
      return Promise.resolve();
    }
    const { type: method, requestId, ...params } = msg as { type: Name<M>; requestId: number };
    const send = this.options.send;
    const call: CallContext<MethodSpec> = {
      requestId,
      cancelled: () => this.cancelled.has(requestId),
      emit: (event, data) => send({ type: "notified", requestId, method, event, data } as unknown as RpcEvent<M>),
    };
    this.active.add(requestId);
    const handler = this.options.handlers[method] as (p: object, c: CallContext<MethodSpec>) => unknown;
    const done = () => {
      this.active.delete(requestId);
      this.cancelled.delete(requestId);
    };
    const ok = (result: unknown) => send({ type: "replied", requestId, method, result } as RpcReply<M, E>);
    const failed = (e: unknown) =>
      send({ type: "replied", requestId, method, result: null, error: this.options.toError(e) } as RpcReply<M, E>);
    let result: unknown;
    try {
      result = handler(params, call);
    } catch (e) {
      failed(e);
      done();
      return Promise.resolve();
    }
    // Synchronous handlers reply at once (the host answers a webview in the same turn).
    if (!(result instanceof Promise)) {
      ok(result);
      done();
      return Promise.resolve();
    }
    return result.then(ok, failed).finally(done);
  }
}
