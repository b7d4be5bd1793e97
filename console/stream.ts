// The live event stream: the app's tap (text/event-stream read with fetch, since EventSource
// cannot send the token), newest on top, capped, with pause, channel/event filters sent as the
// tap's query, and each row expandable to its payload.

import { ApiError, appPath, type AdminApi } from './api.js';
import { errorMessage, formatTime, h, panel, prettyPayload } from './dom.js';
import { EventStreamParser, readEventStream } from '../protocol/event-stream.js';
import type { TapActivity } from './types.js';

const MAX_ROWS = 500;
const RECONNECT_MS = 2000;
const FILTER_SETTLE_MS = 400;

const KINDS = ['publish', 'subscribe', 'unsubscribe', 'member_added', 'member_removed', 'webhook', 'push', 'auth_failure', 'admin'] as const;

const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

/** What a row says about each kind besides its channel. */
const SUMMARIES: Record<string, (a: TapActivity) => string> = {
  publish: (a) => `${text(a.event)}  ${text(a.source)} ${text(a.actor)}  ${text(a.bytes)} B${a.truncated === true ? ' (truncated)' : ''}`,
  subscribe: (a) => `${text(a.socketId)}${a.userId === undefined ? '' : ` user ${text(a.userId)}`}`,
  unsubscribe: (a) => `${text(a.socketId)}${a.userId === undefined ? '' : ` user ${text(a.userId)}`}`,
  member_added: (a) => `user ${text(a.userId)}`,
  member_removed: (a) => `user ${text(a.userId)}`,
  webhook: (a) => `${text(a.outcome)} ${text(a.url)} [${Array.isArray(a.events) ? a.events.join(', ') : ''}]${a.status === undefined ? '' : ` ${text(a.status)}`}${a.error === undefined ? '' : ` ${text(a.error)}`}`,
  push: (a) => `${text(a.outcome)} ${text(a.provider)} ${text(a.target)}${a.error === undefined ? '' : ` ${text(a.error)}`}`,
  auth_failure: (a) => `${text(a.surface)}: ${text(a.reason)}${a.ip === undefined ? '' : ` from ${text(a.ip)}`}`,
  admin: (a) => `${text(a.action)} ${text(a.target)} by ${text(a.actor)}`,
};

export class StreamPanel {
  readonly element: HTMLElement;
  private readonly rows = h('div', { class: 'stream', testid: 'stream-rows' });
  private readonly status = h('span', { class: 'status', testid: 'stream-status', text: 'connecting' });
  private readonly pauseButton = h('button', { text: 'pause', testid: 'stream-pause', on: { click: () => this.togglePause() } });
  private readonly channel = h('input', { type: 'search', placeholder: 'channel (prefix*)', testid: 'stream-channel', on: { input: () => this.filtersChanged() } });
  private readonly event = h('input', { type: 'search', placeholder: 'event (prefix*)', testid: 'stream-event', on: { input: () => this.filtersChanged() } });
  private readonly kinds = new Map<string, HTMLInputElement>();
  private readonly error = h('p', { class: 'error' });
  private readonly held: TapActivity[] = [];
  private paused = false;
  private connection: AbortController | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly api: AdminApi,
    private readonly appId: string,
  ) {
    const kindBoxes = KINDS.map((kind) => {
      const box = h('input', { type: 'checkbox', testid: `stream-kind-${kind}`, on: { change: () => this.filtersChanged() } });
      box.checked = true;
      this.kinds.set(kind, box);
      return h('label', { class: 'kind' }, box, kind);
    });
    this.element = panel(
      'Live events',
      'stream-panel',
      h('div', { class: 'toolbar' }, this.pauseButton, h('button', { text: 'clear', testid: 'stream-clear', on: { click: () => this.rows.replaceChildren() } }), this.channel, this.event, this.status),
      h('div', { class: 'toolbar kinds' }, ...kindBoxes),
      this.error,
      this.rows,
    );
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.connection?.abort();
  }

  private query(): string {
    const query = new URLSearchParams();
    const kinds = KINDS.filter((kind) => this.kinds.get(kind)!.checked);
    if (kinds.length !== KINDS.length) query.set('kinds', kinds.join(','));
    if (this.channel.value !== '') query.set('channel', this.channel.value);
    if (this.event.value !== '') query.set('event', this.event.value);
    const encoded = query.toString();
    return encoded === '' ? '' : `?${encoded}`;
  }

  private filtersChanged(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), FILTER_SETTLE_MS);
  }

  private connect(): void {
    this.connection?.abort();
    if (this.stopped) return;
    const connection = new AbortController();
    this.connection = connection;
    if (!Array.from(this.kinds.values()).some((box) => box.checked)) return this.setStatus('no kinds selected', 'off');
    this.setStatus('connecting', 'off');
    const parser = new EventStreamParser((message) => {
      try {
        this.received(JSON.parse(message.data) as TapActivity);
      } catch (error) {
        this.error.textContent = `unreadable tap event: ${errorMessage(error)}`;
      }
    });
    void (async () => {
      try {
        const response = await this.api.stream(appPath(this.appId, `/tap${this.query()}`), connection.signal);
        this.setStatus('live', 'on');
        this.error.textContent = '';
        await readEventStream(response.body!, (text) => parser.push(text));
      } catch (error) {
        if (connection.signal.aborted) return;
        this.error.textContent = errorMessage(error);
        // A refused tap (token, unknown app, bad filter) does not get better by retrying.
        if (error instanceof ApiError && error.status < 500) return this.setStatus('refused', 'off');
      }
      if (connection.signal.aborted || this.stopped) return;
      this.setStatus('reconnecting', 'off');
      this.retry = setTimeout(() => this.connect(), RECONNECT_MS);
    })();
  }

  private setStatus(label: string, state: 'on' | 'off'): void {
    this.status.textContent = label;
    this.status.classList.toggle('on', state === 'on');
  }

  private togglePause(): void {
    this.paused = !this.paused;
    this.pauseButton.textContent = this.paused ? 'resume' : 'pause';
    this.pauseButton.classList.toggle('active', this.paused);
    if (!this.paused) {
      for (const activity of this.held.splice(0)) this.show(activity);
      this.setStatus('live', 'on');
    }
  }

  private received(activity: TapActivity): void {
    if (!this.paused) return this.show(activity);
    this.held.push(activity);
    if (this.held.length > MAX_ROWS) this.held.shift();
    this.setStatus(`paused · ${this.held.length} held`, 'off');
  }

  private show(activity: TapActivity): void {
    this.rows.prepend(row(activity));
    while (this.rows.childElementCount > MAX_ROWS) this.rows.lastElementChild!.remove();
  }
}

function row(activity: TapActivity): HTMLElement {
  const summary = SUMMARIES[activity.kind] ?? (() => '');
  const head = h(
    'div',
    { class: 'event-head' },
    h('span', { class: 'time', text: formatTime(activity.at) }),
    h('span', { class: `tag kind-${activity.kind}`, testid: 'event-kind', text: activity.kind }),
    h('span', { class: 'mono channel', testid: 'event-channel', text: text(activity.channel) }),
    h('span', { class: 'mono summary', testid: 'event-summary', text: summary(activity) }),
    h('span', { class: 'node', text: text(activity.node) }),
  );
  const element = h('div', { class: 'event', testid: 'stream-row', attrs: { 'data-kind': activity.kind, 'data-channel': text(activity.channel), 'data-event': text(activity.event) } }, head);
  head.addEventListener('click', () => {
    const open = element.querySelector('.event-payload');
    if (open !== null) return open.remove();
    element.append(payload(activity));
  });
  return element;
}

function payload(activity: TapActivity): HTMLElement {
  const { data, ...rest } = activity;
  return h(
    'div',
    { class: 'event-payload', testid: 'event-payload' },
    typeof data === 'string' ? h('pre', { class: 'payload', testid: 'event-data', text: prettyPayload(data) }) : null,
    h('pre', { class: 'payload meta', text: JSON.stringify(rest, null, 2) }),
  );
}
