/**
 * A tiny element builder: the panel is a few hundred elements, rebuilt per section on update, so a
 * framework is not needed. Never sets `style` attributes or inline handlers (the CSP forbids both):
 * classes for looks, addEventListener for events.
 */
export type Child = Node | string | number | null | undefined | false;
type Listener = (event: Event) => void;
export type Props = Record<string, string | number | boolean | undefined | null | Listener>;

function applyProps(element: Element, props: Props | undefined): void {
  if (!props) return;
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") {
      element.addEventListener(name.replace(/^on/, ""), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
}

function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element. Props named `on…` with a function value become event listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  applyProps(element, props);
  append(element, children);
  return element;
}

const svgNamespace = "http://www.w3.org/2000/svg";

/** An SVG element. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, props?: Props, ...children: Child[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS(svgNamespace, tag);
  applyProps(element, props);
  append(element, children);
  return element;
}

/** A two-column list of facts: label, value (and an optional note under the value). */
export function facts(rows: readonly (readonly [label: string, value: Child, note?: Child] | null | false)[]): HTMLDListElement {
  const list = h("dl", { class: "facts" });
  for (const row of rows) {
    if (!row) continue;
    const [label, value, note] = row;
    list.append(h("dt", undefined, label), h("dd", undefined, value, note ? h("div", { class: "note" }, note) : null));
  }
  return list;
}

export function emptyState(...lines: Child[]): HTMLElement {
  return h("div", { class: "empty" }, ...lines.map((line) => h("p", undefined, line)));
}
