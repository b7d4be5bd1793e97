// The history browser of one channel (docs/PROTOCOL.md §13.6): pick a partition, page through the
// stored events with from/limit, next and previous.

import { channelPath, type AdminApi } from './api.js';
import { errorMessage, fill, h, prettyPayload } from './dom.js';
import type { HistoryPage, HistoryStream } from './types.js';

const DEFAULT_LIMIT = 20;

export class HistoryBrowser {
  readonly element: HTMLElement;
  private readonly partition = h('select', { testid: 'history-partition' });
  private readonly from = h('input', { type: 'number', placeholder: 'oldest', testid: 'history-from', attrs: { min: '1' } });
  private readonly limit = h('input', { type: 'number', value: String(DEFAULT_LIMIT), testid: 'history-limit', attrs: { min: '1', max: '1000' } });
  private readonly previous = h('button', { text: '← previous', testid: 'history-previous', on: { click: () => this.page(-1) } });
  private readonly next = h('button', { text: 'next →', testid: 'history-next', on: { click: () => this.page(1) } });
  private readonly summary = h('p', { class: 'muted', testid: 'history-summary' });
  private readonly events = h('tbody', { testid: 'history-events' });
  private readonly error = h('p', { class: 'error' });
  private readonly streams = h('tbody', { testid: 'history-streams' });
  private last: HistoryPage | undefined;

  constructor(
    private readonly api: AdminApi,
    private readonly appId: string,
    private readonly channel: string,
    streams: HistoryStream[],
  ) {
    for (const s of streams) this.partition.append(h('option', { value: String(s.partition), text: `partition ${s.partition}` }));
    this.element = h(
      'div',
      { class: 'history', testid: 'history' },
      h('h3', { text: 'History' }),
      h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', { text: 'partition' }), h('th', { text: 'epoch' }), h('th', { class: 'num', text: 'first' }), h('th', { class: 'num', text: 'offset' }))), this.streams),
      h('div', { class: 'toolbar' }, this.partition, h('label', {}, 'from ', this.from), h('label', {}, 'limit ', this.limit), h('button', { text: 'load', testid: 'history-load', on: { click: () => void this.load() } }), this.previous, this.next),
      this.summary,
      h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', { class: 'num', text: 'offset' }), h('th', { text: 'event' }), h('th', { text: 'user' }), h('th', { text: 'data' }))), this.events),
      this.error,
    );
    this.update(streams);
    void this.load();
  }

  /** The streams' current positions (the detail refreshes them). */
  update(streams: HistoryStream[]): void {
    fill(this.streams, ...streams.map((s) => h('tr', {}, h('td', { text: String(s.partition) }), h('td', { class: 'mono', text: s.epoch }), h('td', { class: 'num', text: String(s.first) }), h('td', { class: 'num', text: String(s.offset) }))));
  }

  private page(direction: 1 | -1): void {
    const page = this.last;
    if (page === undefined) return;
    const limit = this.limitValue();
    const start = page.events[0]?.offset ?? page.first;
    const from = direction === 1 ? page.next : Math.max(page.first, start - limit);
    if (from === null) return;
    this.from.value = String(from);
    void this.load();
  }

  private limitValue(): number {
    const limit = Number(this.limit.value);
    return Number.isInteger(limit) && limit > 0 ? limit : DEFAULT_LIMIT;
  }

  private async load(): Promise<void> {
    const query = new URLSearchParams({ partition: this.partition.value || '0', limit: String(this.limitValue()) });
    if (this.from.value !== '') query.set('from', this.from.value);
    try {
      const page = await this.api.get<HistoryPage>(channelPath(this.appId, this.channel, `/history?${query}`));
      this.last = page;
      this.error.textContent = '';
      this.show(page);
    } catch (error) {
      this.error.textContent = errorMessage(error);
    }
  }

  private show(page: HistoryPage): void {
    const shown = page.events.length === 0 ? 'no events' : `offsets ${page.events[0].offset}–${page.events[page.events.length - 1].offset}`;
    this.summary.textContent = `${shown} · stored ${page.first}–${page.offset} · epoch ${page.epoch}`;
    this.previous.disabled = (page.events[0]?.offset ?? page.first) <= page.first;
    this.next.disabled = page.next === null;
    fill(
      this.events,
      ...page.events.map((e) => h('tr', {}, h('td', { class: 'num', text: String(e.offset) }), h('td', { class: 'mono', text: e.event }), h('td', { class: 'mono', text: e.user_id ?? '' }), h('td', {}, h('pre', { class: 'payload', text: prettyPayload(e.data) })))),
    );
  }
}
