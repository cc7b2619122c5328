// A tiny element builder. Model-derived strings (layer names, messages) only ever become text nodes or
// attribute values, never HTML, so nothing in a model can inject markup into the panel.

type Child = Node | string | number | null | undefined | false;
type Listener = (ev: Event) => void;

/** Attributes (strings, numbers, booleans: true sets an empty attribute, false/undefined omits) and `on` listeners. */
export type Attrs = { [name: string]: string | number | boolean | undefined | null | Record<string, Listener> };

/** Creates an element with attributes, listeners and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs | null, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs?: Attrs | null, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "on") {
        for (const [type, fn] of Object.entries(v as Record<string, Listener>)) el.addEventListener(type, fn);
      } else if (v === true) el.setAttribute(k, "");
      else if (typeof v === "string" || typeof v === "number") el.setAttribute(k, String(v));
    }
  }
  append(el, ...children);
  return el;
}

/** Appends children, turning strings and numbers into text nodes. */
export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}

/** Sets text content only when it changed (cheap updates of recycled rows). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Sets or removes an attribute only when it changed. */
export function setAttr(el: Element, name: string, value: string | null): void {
  if (value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}
