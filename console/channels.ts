// The occupied channels with their subscriber counts, filtered by prefix, every 2 s; a click on a
// row opens its detail.

import { appPath, type AdminApi } from './api.js';
import { errorMessage, fill, h, panel } from './dom.js';
import { Poller } from './poll.js';
import type { ChannelRow } from './types.js';

export class ChannelsPanel {
  readonly element: HTMLElement;
  private readonly poller: Poller;
  private readonly rows = h('tbody', { testid: 'channels' });
  private readonly count = h('span', { class: 'muted', testid: 'channels-count' });
  private readonly error = h('p', { class: 'error' });
  private readonly prefix: HTMLInputElement;
  private selected = '';

  constructor(
    api: AdminApi,
    appId: string,
    private readonly open: (channel: string) => void,
  ) {
    this.prefix = h('input', { type: 'search', placeholder: 'filter by prefix', testid: 'channel-prefix', on: { input: () => this.poller.now() } });
    this.element = panel(
      'Channels',
      'channels-panel',
      h('div', { class: 'toolbar' }, this.prefix, this.count),
      h('div', { class: 'scroll' }, h('table', { class: 'grid clickable' }, h('thead', {}, h('tr', {}, h('th', { text: 'channel' }), h('th', { text: 'kind' }), h('th', { class: 'num', text: 'subscribers' }), h('th', { class: 'num', text: 'members' }), h('th', { text: '' }))), this.rows)),
      this.error,
    );
    this.poller = new Poller(
      2000,
      async () => {
        const query = this.prefix.value === '' ? '' : `?${new URLSearchParams({ prefix: this.prefix.value })}`;
        this.show((await api.get<{ channels: ChannelRow[] }>(appPath(appId, `/channels${query}`))).channels);
        this.error.textContent = '';
      },
      (error) => (this.error.textContent = errorMessage(error)),
    ).start();
  }

  /** Marks the channel whose detail is open. */
  select(channel: string): void {
    this.selected = channel;
    for (const row of Array.from(this.rows.children) as HTMLElement[]) row.classList.toggle('selected', row.dataset.channel === channel);
  }

  stop(): void {
    this.poller.stop();
  }

  private show(channels: ChannelRow[]): void {
    this.count.textContent = `${channels.length} occupied`;
    fill(this.rows, ...channels.map((channel) => this.row(channel)));
    if (channels.length === 0) this.rows.append(h('tr', {}, h('td', { class: 'muted', attrs: { colspan: '5' }, text: 'no occupied channels' })));
  }

  private row(channel: ChannelRow): HTMLElement {
    const flags = [channel.cache && 'cache', channel.history && 'history'].filter((f): f is string => typeof f === 'string');
    const row = h(
      'tr',
      { testid: 'channel-row', attrs: { 'data-channel': channel.name }, on: { click: () => this.open(channel.name) } },
      h('td', { class: 'mono', testid: 'channel-name', text: channel.name }),
      h('td', {}, h('span', { class: `tag kind-${channel.kind}`, text: channel.kind })),
      h('td', { class: 'num', testid: 'channel-subscribers', text: String(channel.subscribers) }),
      h('td', { class: 'num', text: channel.members === undefined ? '' : String(channel.members) }),
      h('td', {}, ...flags.map((flag) => h('span', { class: 'tag', text: flag }))),
    );
    row.classList.toggle('selected', channel.name === this.selected);
    return row;
  }
}
