// A list that renders only the rows in view (plus a margin), so that 10,000 results or a
// long tail scroll as smoothly as 50. Rows have one fixed height; a row's details open in a
// side panel rather than growing the row.

// visibleRange is which rows [start, end) to render for a viewport.
export function visibleRange(scrollTop, viewportHeight, rowHeight, count, overscan = 10) {
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const last = Math.ceil((Math.max(0, scrollTop) + viewportHeight) / rowHeight);
  return { start: Math.max(0, first - overscan), end: Math.min(count, last + overscan) };
}

// nearEnd says whether the viewport is within `margin` rows of the last row (time to load
// the next page).
export function nearEnd(scrollTop, viewportHeight, rowHeight, count, margin = 30) {
  return scrollTop + viewportHeight >= (count - margin) * rowHeight;
}

export class VirtualList {
  // container: the scrolling element. renderRow(item, index) returns a row element.
  constructor(container, { rowHeight, renderRow, onNearEnd = null, onScroll = null }) {
    this.container = container;
    this.rowHeight = rowHeight;
    this.renderRow = renderRow;
    this.onNearEnd = onNearEnd;
    this.onScrollCb = onScroll;
    this.items = [];
    this.rendered = new Map(); // index -> element
    this.spacer = document.createElement('div');
    this.spacer.className = 'vl-spacer';
    this.container.replaceChildren(this.spacer);
    this.frame = 0;
    this.container.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.resizeObserver = new ResizeObserver(() => this.schedule());
    this.resizeObserver.observe(this.container);
  }

  setItems(items, { keepScroll = false } = {}) {
    this.items = items;
    for (const e of this.rendered.values()) e.remove();
    this.rendered.clear();
    if (!keepScroll) this.container.scrollTop = 0;
    this.update();
  }

  // append adds rows at the end without re-rendering those in view.
  append(items) {
    this.items.push(...items);
    this.update();
  }

  // dropFirst removes n rows from the top (the tail's cap), keeping the view where it was.
  dropFirst(n) {
    if (n <= 0) return;
    this.items.splice(0, n);
    for (const e of this.rendered.values()) e.remove();
    this.rendered.clear();
    this.container.scrollTop = Math.max(0, this.container.scrollTop - n * this.rowHeight);
    this.update();
  }

  // refreshRow re-renders one row (its selection changed).
  refreshRow(index) {
    const old = this.rendered.get(index);
    if (!old) return;
    const row = this.place(index);
    old.replaceWith(row);
    this.rendered.set(index, row);
  }

  scrollToIndex(index) {
    const top = index * this.rowHeight;
    const c = this.container;
    if (top < c.scrollTop || top + this.rowHeight > c.scrollTop + c.clientHeight) {
      c.scrollTop = top - c.clientHeight / 2;
    }
  }

  atBottom(slack = 4) {
    const c = this.container;
    return c.scrollTop + c.clientHeight >= c.scrollHeight - slack;
  }

  scrollToBottom() {
    this.container.scrollTop = this.container.scrollHeight;
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.update();
      this.onScrollCb?.();
    });
  }

  place(i) {
    const row = this.renderRow(this.items[i], i);
    row.style.transform = `translateY(${i * this.rowHeight}px)`;
    row.style.height = `${this.rowHeight}px`;
    row.classList.add('vl-row');
    return row;
  }

  update() {
    const c = this.container;
    const n = this.items.length;
    // Read the geometry before writing anything: a read after a write forces a layout.
    const top = c.scrollTop;
    const height = c.clientHeight || 600;
    this.spacer.style.height = `${n * this.rowHeight}px`;
    const { start, end } = visibleRange(top, height, this.rowHeight, n);
    for (const [i, e] of this.rendered) {
      if (i < start || i >= end) {
        e.remove();
        this.rendered.delete(i);
      }
    }
    const frag = document.createDocumentFragment();
    for (let i = start; i < end; i++) {
      if (this.rendered.has(i)) continue;
      const row = this.place(i);
      this.rendered.set(i, row);
      frag.append(row);
    }
    c.append(frag);
    if (this.onNearEnd && n > 0 && nearEnd(top, height, this.rowHeight, n)) this.onNearEnd();
  }

  destroy() {
    this.resizeObserver.disconnect();
    cancelAnimationFrame(this.frame);
  }
}
