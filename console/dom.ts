// A tiny element builder: the page has no framework and no innerHTML of server data.

type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  testid?: string;
  text?: string;
  title?: string;
  type?: string;
  name?: string;
  value?: string;
  placeholder?: string;
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
  attrs?: Record<string, string>;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class !== undefined) el.className = props.class;
  if (props.testid !== undefined) el.dataset.testid = props.testid;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title !== undefined) el.title = props.title;
  for (const key of ['type', 'name', 'value', 'placeholder'] as const) {
    const value = props[key];
    if (value !== undefined) el.setAttribute(key, value);
  }
  for (const [name, value] of Object.entries(props.attrs ?? {})) el.setAttribute(name, value);
  for (const [event, listener] of Object.entries(props.on ?? {})) el.addEventListener(event, listener as EventListener);
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function fill(parent: Node, ...children: Child[]): void {
  while (parent.firstChild !== null) parent.removeChild(parent.firstChild);
  append(parent, children);
}

/** A panel: a titled section with a body. */
export function panel(title: string, testid: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'panel', testid }, h('h2', { text: title }), ...children);
}

/** Pretty JSON when the text parses as JSON, else the text. */
export function prettyPayload(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export const formatTime = (ms: number): string => new Date(ms).toISOString().slice(11, 23);

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
