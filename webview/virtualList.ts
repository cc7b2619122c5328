// A virtual list of fixed-height rows: only the rows in view (plus an overscan margin) exist in the DOM,
// recycled as the list scrolls, so hundreds of layers cost what twenty do. Keyboard: the active row holds
// the focus (roving tabindex); arrows, Page Up/Down, Home/End move it, Enter activates it.
import { h } from "./dom";

export interface VirtualListOptions<T> {
  rowHeight: number;
  /**
   * Rows rendered beyond each edge of the view. After setItems only a couple are, so the first paint has
   * just the rows in view; the rest follow when the browser is idle.
   */
  overscan: number;
  /** The accessible name of the list. */
  label: string;
  /** A sticky header row (column titles), or null. */
  header: HTMLElement | null;
  createRow(): HTMLElement;
  /** Fills a (possibly recycled) row element for an item. */
  renderRow(el: HTMLElement, item: T, index: number): void;
  /** Enter or click on a row. */
  onActivate(item: T, index: number): void;
  /** The active row changed (keyboard or click). */
  onActiveChange?(item: T, index: number): void;
  onScroll?(scrollTop: number): void;
  /** An element placed right after the header inside the scroller (a sticky drawing layer). */
  overlay?: HTMLElement;
  /**
   * Called after every render (scroll frame, resize, new items) with the items in the rows [first, last)
   * that intersect the view and the scroll offset, for drawing what they show on one shared canvas.
   */
  onView?(view: { first: number; last: number; scrollTop: number; height: number }, items: readonly T[]): void;
}

export class VirtualList<T> {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private items: readonly T[] = [];
  private active = -1;
  /** Rendered rows by index. */
  private readonly shown = new Map<number, HTMLElement>();
  private readonly pool: HTMLElement[] = [];
  private frame = 0;
  private overscan = 2;
  private idle = 0;

  constructor(private readonly o: VirtualListOptions<T>) {
    this.body = h("div", { class: "vlist-body", role: "presentation" });
    this.element = h("div", { class: "vlist", role: "grid", "aria-label": o.label, tabindex: -1 }, o.header, o.overlay, this.body);
    this.element.addEventListener(
      "scroll",
      () => {
        this.schedule();
        o.onScroll?.(this.element.scrollTop);
      },
      { passive: true },
    );
    this.element.addEventListener("keydown", (e) => this.onKey(e));
    this.element.addEventListener("click", (e) => {
      const row = (e.target as Element).closest<HTMLElement>(".vrow");
      if (!row || !this.body.contains(row)) return;
      const i = Number(row.dataset.i);
      this.setActive(i, true);
      this.o.onActivate(this.items[i], i);
    });
    new ResizeObserver(() => this.schedule()).observe(this.element);
  }

  /** Renames the grid for screen readers. */
  setLabel(label: string): void {
    this.element.setAttribute("aria-label", label);
  }

  /**
   * Replaces the items; keeps `active` (an index into the new items) or the first row active, and scrolls
   * to `scrollTop` when given, rendering once (one layout, not one per step).
   */
  setItems(items: readonly T[], active = 0, scrollTop?: number): void {
    this.items = items;
    this.active = items.length ? Math.min(Math.max(active, 0), items.length - 1) : -1;
    this.body.style.height = `${items.length * this.o.rowHeight}px`;
    this.element.setAttribute("aria-rowcount", String(items.length + (this.o.header ? 1 : 0)));
    for (const el of this.shown.values()) this.release(el);
    this.shown.clear();
    if (scrollTop !== undefined) this.element.scrollTop = scrollTop;
    this.overscan = 2;
    this.render();
    cancelIdleCallback(this.idle);
    this.idle = requestIdleCallback(
      () => {
        this.overscan = this.o.overscan;
        this.render();
      },
      { timeout: 500 },
    );
  }

  /** Makes row `i` active, scrolls it into view and (optionally) focuses it. */
  setActive(i: number, focus: boolean): void {
    if (i < 0 || i >= this.items.length) return;
    const changed = i !== this.active;
    this.active = i;
    this.scrollIntoView(i);
    this.render();
    if (focus) this.shown.get(i)?.focus({ preventScroll: true });
    if (changed) this.o.onActiveChange?.(this.items[i], i);
  }

  /** Focuses the active row (or the list when it is empty). */
  focus(): void {
    if (this.active < 0) {
      this.element.focus();
      return;
    }
    this.scrollIntoView(this.active);
    this.render();
    this.shown.get(this.active)?.focus({ preventScroll: true });
  }

  /** Re-renders the rows in view (after a theme change or a data update). */
  refresh(): void {
    for (const el of this.shown.values()) this.release(el);
    this.shown.clear();
    this.render();
  }

  private headerHeight(): number {
    return this.o.header ? this.o.header.offsetHeight : 0;
  }

  private scrollIntoView(i: number): void {
    const top = i * this.o.rowHeight;
    const view = this.element.clientHeight - this.headerHeight();
    const st = this.element.scrollTop;
    if (top < st) this.element.scrollTop = top;
    else if (top + this.o.rowHeight > st + view) this.element.scrollTop = top + this.o.rowHeight - view;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private release(el: HTMLElement): void {
    if (el === document.activeElement) this.element.focus({ preventScroll: true });
    el.remove();
    this.pool.push(el);
  }

  /** Renders the rows in view now. */
  render(): void {
    const rh = this.o.rowHeight;
    const height = this.element.clientHeight - this.headerHeight();
    const view = Math.max(height, rh * 10);
    const st = this.element.scrollTop;
    const start = Math.max(0, Math.floor(st / rh) - this.overscan);
    const end = Math.min(this.items.length, Math.ceil((st + view) / rh) + this.overscan);
    for (const [i, el] of this.shown) {
      if (i < start || i >= end) {
        this.release(el);
        this.shown.delete(i);
      }
    }
    for (let i = start; i < end; i++) {
      let el = this.shown.get(i);
      if (!el) {
        el = this.pool.pop() ?? this.o.createRow();
        el.classList.add("vrow");
        el.setAttribute("role", "row");
        el.dataset.i = String(i);
        el.setAttribute("aria-rowindex", String(i + (this.o.header ? 2 : 1)));
        el.style.transform = `translateY(${i * rh}px)`;
        this.o.renderRow(el, this.items[i], i);
        this.insertInOrder(el, i);
        this.shown.set(i, el);
      }
      const isActive = i === this.active;
      el.tabIndex = isActive ? 0 : -1;
      el.classList.toggle("active", isActive);
      el.setAttribute("aria-selected", String(isActive));
    }
    // When the active row is out of view, the list itself is the tab stop.
    this.element.tabIndex = this.shown.has(this.active) || this.items.length === 0 ? -1 : 0;
    this.o.onView?.(
      {
        first: Math.min(this.items.length, Math.floor(st / rh)),
        last: Math.min(this.items.length, Math.ceil((st + Math.max(0, height)) / rh)),
        scrollTop: st,
        height: Math.max(0, height),
      },
      this.items,
    );
  }

  /** Keeps DOM order equal to visual order, so screen readers and Tab read rows top to bottom. */
  private insertInOrder(el: HTMLElement, i: number): void {
    let next: HTMLElement | null = null;
    for (const [j, other] of this.shown) if (j > i && (!next || j < Number(next.dataset.i))) next = other;
    this.body.insertBefore(el, next);
  }

  private onKey(e: KeyboardEvent): void {
    if (this.items.length === 0) return;
    if ((e.target as Element).closest(".vlist-header")) return;
    const page = Math.max(1, Math.floor((this.element.clientHeight - this.headerHeight()) / this.o.rowHeight) - 1);
    const cur = Math.max(this.active, 0);
    let next: number | null = null;
    switch (e.key) {
      case "ArrowDown":
        next = cur + 1;
        break;
      case "ArrowUp":
        next = cur - 1;
        break;
      case "PageDown":
        next = cur + page;
        break;
      case "PageUp":
        next = cur - page;
        break;
      case "Home":
        next = 0;
        break;
      case "End":
        next = this.items.length - 1;
        break;
      case "Enter":
      case " ":
        e.preventDefault();
        this.o.onActivate(this.items[cur], cur);
        return;
      default:
        return;
    }
    e.preventDefault();
    this.setActive(Math.min(Math.max(next, 0), this.items.length - 1), true);
  }
}
