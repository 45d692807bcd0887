/** Small DOM helpers: the report builds its tables and panels from data, with no framework. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with its attributes (numbers as given: callers round what they draw). */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

export function section(id: string, title: string, ...children: (Node | string)[]): HTMLElement {
  return el('section', { id }, el('h2', {}, title), ...children);
}

/** A tooltip that follows the pointer; one per page. */
export class Tooltip {
  private readonly box = el('div', { id: 'tooltip', role: 'status' });

  constructor() {
    document.body.append(this.box);
  }

  show(event: MouseEvent, lines: string[]): void {
    this.box.replaceChildren(...lines.map((line, i) => el(i === 0 ? 'strong' : 'div', {}, line)));
    this.box.style.display = 'block';
    const x = Math.min(event.pageX + 14, window.scrollX + window.innerWidth - this.box.offsetWidth - 8);
    this.box.style.left = `${x}px`;
    this.box.style.top = `${event.pageY + 14}px`;
  }

  hide(): void {
    this.box.style.display = 'none';
  }
}
