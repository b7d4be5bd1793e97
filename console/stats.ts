// Connections (total, by transport, per node) and the three live charts, from /stats every second.

import { appPath, type AdminApi } from './api.js';
import { Sparkline } from './chart.js';
import { errorMessage, fill, h, panel } from './dom.js';
import { Poller } from './poll.js';
import type { AppStats, ByTransport } from './types.js';

const TRANSPORTS: readonly (keyof ByTransport)[] = ['ws', 'sse', 'poll', 'xhr_streaming', 'xhr_polling'];

export class StatsPanel {
  readonly element: HTMLElement;
  private readonly poller: Poller;
  private readonly total = h('span', { class: 'big', testid: 'connections-total', text: '–' });
  private readonly transports = h('dl', { class: 'pairs', testid: 'connections-by-transport' });
  private readonly figures = h('dl', { class: 'pairs', testid: 'app-figures' });
  private readonly nodes = h('tbody', { testid: 'nodes' });
  private readonly error = h('p', { class: 'error' });
  private readonly charts = {
    connections: new Sparkline('connections', 'chart-connections'),
    messages: new Sparkline('messages/s', 'chart-messages', (n) => n.toFixed(1)),
    webhooks: new Sparkline('webhook queue', 'chart-webhook-queue'),
  };

  constructor(api: AdminApi, appId: string) {
    this.element = panel(
      'Connections',
      'stats-panel',
      h('div', { class: 'stats-row' }, h('div', { class: 'total' }, this.total, h('small', { text: 'connections' })), this.transports, this.figures),
      h('div', { class: 'charts' }, this.charts.connections.element, this.charts.messages.element, this.charts.webhooks.element),
      h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', { text: 'node' }), h('th', { text: 'connections' }), h('th', { text: 'by transport' }), h('th', { text: 'published' }))), this.nodes),
      this.error,
    );
    this.poller = new Poller(
      1000,
      async () => {
        this.show(await api.get<AppStats>(appPath(appId, '/stats')));
        this.error.textContent = '';
      },
      (error) => (this.error.textContent = errorMessage(error)),
    ).start();
  }

  stop(): void {
    this.poller.stop();
  }

  private show(stats: AppStats): void {
    this.total.textContent = String(stats.connections.total);
    fill(this.transports, ...pairs(TRANSPORTS.map((t) => [t, stats.connections.byTransport[t] ?? 0])));
    fill(
      this.figures,
      ...pairs([
        ['channels', stats.channels],
        ['published', stats.messages.published],
        ['webhook queue', stats.webhookQueueDepth],
        ['push queue', stats.pushQueueDepth],
      ]),
    );
    fill(
      this.nodes,
      ...stats.nodes.map((node) =>
        h(
          'tr',
          {},
          h('td', { class: 'mono', text: node.node }),
          h('td', { text: String(node.connections) }),
          h('td', { class: 'mono', text: TRANSPORTS.filter((t) => (node.byTransport[t] ?? 0) > 0).map((t) => `${t} ${node.byTransport[t]}`).join(', ') || '–' }),
          h('td', { text: String(node.messagesPublished) }),
        ),
      ),
    );
    this.charts.connections.add(stats.connections.total);
    this.charts.messages.add(stats.messages.perSecond);
    this.charts.webhooks.add(stats.webhookQueueDepth);
  }
}

function pairs(entries: [string, number][]): HTMLElement[] {
  return entries.flatMap(([name, value]) => [h('dt', { text: name }), h('dd', { testid: `figure-${name.replace(/ /g, '-')}`, text: String(value) })]);
}
