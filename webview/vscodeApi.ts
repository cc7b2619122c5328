// The one handle on VS Code's webview API: typed postMessage and the persisted UI state.
import type { WebviewToHost } from "../src/protocol/webview";
import type { SeverityFilter, SortDir, SortKey } from "./rows";

/** UI state kept by VS Code across hide/show and window reloads (the data itself is re-sent by the host). */
export interface UiState {
  view: "overview" | "detail";
  /** The focused row, and in the detail view the layer shown. */
  selected: { kind: "bn" | "activation"; index: number } | null;
  sort: SortKey;
  dir: SortDir;
  filter: SeverityFilter;
  search: string;
  scrollTop: number;
  /** Histogram axis of the detail view. */
  axis: "linear" | "symlog";
  /** The overview's summary (answers and notices) folded away to give the table the height. */
  summaryCollapsed: boolean;
  /** Histogram heights: each series scaled to its own peak (true) or one shared scale. */
  ownPeak: boolean | null;
  /** Whether the last run asked for data (the retry button repeats it). */
  lastWithData: boolean;
}

const DEFAULT_STATE: UiState = {
  view: "overview",
  selected: null,
  sort: "order",
  dir: "asc",
  filter: "all",
  search: "",
  scrollTop: 0,
  axis: "linear",
  summaryCollapsed: false,
  ownPeak: null,
  lastWithData: false,
};

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** Typed wrapper around acquireVsCodeApi() (which may be called only once per page). */
export class Host {
  private readonly api: VsCodeApi;
  private state: UiState;

  constructor() {
    this.api = acquireVsCodeApi();
    this.state = { ...DEFAULT_STATE, ...sanitize(this.api.getState()) };
  }

  post(message: WebviewToHost): void {
    this.api.postMessage(message);
  }

  get ui(): Readonly<UiState> {
    return this.state;
  }

  /** Merges a change into the UI state and persists it. */
  update(change: Partial<UiState>): void {
    this.state = { ...this.state, ...change };
    this.api.setState(this.state);
  }
}

/** Keeps only well-formed fields of a stored state (it may come from an older version of the panel). */
function sanitize(raw: unknown): Partial<UiState> {
  if (typeof raw !== "object" || raw === null) return {};
  const s = raw as Record<string, unknown>;
  const out: Partial<UiState> = {};
  if (s.view === "overview" || s.view === "detail") out.view = s.view;
  const sel = s.selected as { kind?: unknown; index?: unknown } | null | undefined;
  if (sel && (sel.kind === "bn" || sel.kind === "activation") && Number.isSafeInteger(sel.index))
    out.selected = { kind: sel.kind, index: sel.index as number };
  if (typeof s.sort === "string" && ["order", "z", "varRatio", "saturation", "severity"].includes(s.sort)) out.sort = s.sort as SortKey;
  if (s.dir === "asc" || s.dir === "desc") out.dir = s.dir;
  if (typeof s.filter === "string" && ["all", "error", "warning", "any", "ok"].includes(s.filter)) out.filter = s.filter as SeverityFilter;
  if (typeof s.search === "string") out.search = s.search.slice(0, 200);
  if (typeof s.scrollTop === "number" && Number.isFinite(s.scrollTop)) out.scrollTop = Math.max(0, s.scrollTop);
  if (s.axis === "linear" || s.axis === "symlog") out.axis = s.axis;
  if (typeof s.summaryCollapsed === "boolean") out.summaryCollapsed = s.summaryCollapsed;
  if (typeof s.ownPeak === "boolean") out.ownPeak = s.ownPeak;
  if (typeof s.lastWithData === "boolean") out.lastWithData = s.lastWithData;
  return out;
}
