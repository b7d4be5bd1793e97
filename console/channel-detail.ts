// One channel: its figures, the presence roster (refreshed every second) and the history browser.

import { ApiError, channelPath, type AdminApi } from './api.js';
import { errorMessage, fill, h, panel } from './dom.js';
import { HistoryBrowser } from './history.js';
import { Poller } from './poll.js';
import type { ChannelDetail, Member } from './types.js';

export class ChannelDetailPanel {
  readonly element: HTMLElement;
  private readonly poller: Poller;
  private readonly figures = h('dl', { class: 'pairs', testid: 'channel-figures' });
  private readonly roster = h('ul', { class: 'roster', testid: 'presence-roster' });
  private readonly rosterBox = h('div', { class: 'hidden' }, h('h3', { text: 'Presence' }), this.roster);
  private readonly historyBox = h('div');
  private readonly error = h('p', { class: 'error' });
  private history: HistoryBrowser | undefined;

  constructor(api: AdminApi, appId: string, channel: string, close: () => void) {
    this.element = panel(
      `Channel ${channel}`,
      'channel-detail',
      h('button', { class: 'close', text: '×', title: 'close', testid: 'channel-detail-close', on: { click: close } }),
      this.figures,
      this.rosterBox,
      this.historyBox,
      this.error,
    );
    this.poller = new Poller(
      1000,
      async () => {
        try {
          this.show(await api.get<ChannelDetail>(channelPath(appId, channel)), api, appId);
          this.error.textContent = '';
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) this.poller.stop();
          throw error;
        }
      },
      (error) => (this.error.textContent = errorMessage(error)),
    ).start();
  }

  stop(): void {
    this.poller.stop();
  }

  private show(detail: ChannelDetail, api: AdminApi, appId: string): void {
    fill(
      this.figures,
      ...[
        ['kind', detail.kind],
        ['occupied', detail.occupied ? 'yes' : 'no'],
        ['subscribers', String(detail.subscribers)],
        ['cache', detail.cache ? 'yes' : 'no'],
        ['members', detail.members === null ? '–' : String(detail.members.length)],
      ].flatMap(([name, value]) => [h('dt', { text: name }), h('dd', { testid: `channel-${name}`, text: value })]),
    );
    this.rosterBox.classList.toggle('hidden', detail.members === null);
    if (detail.members !== null) this.showRoster(detail.members);
    if (detail.history === null) return;
    // The browser is built once: its paging state survives the refresh.
    if (this.history === undefined) {
      this.history = new HistoryBrowser(api, appId, detail.name, detail.history.streams);
      fill(this.historyBox, this.history.element);
    } else this.history.update(detail.history.streams);
  }

  private showRoster(members: Member[]): void {
    if (members.length === 0) return fill(this.roster, h('li', { class: 'muted', text: 'nobody' }));
    fill(
      this.roster,
      ...members.map((m) => h('li', { testid: 'presence-member', attrs: { 'data-user': m.id } }, h('span', { class: 'mono user', text: m.id }), m.info === undefined || m.info === null ? null : h('code', { class: 'info', text: JSON.stringify(m.info) }))),
    );
  }
}
