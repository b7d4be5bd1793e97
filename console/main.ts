// The debug console: the token check, the app picker, then the app's panels. Served at
// {consolePath} by the server (src/admin/), talking only to the admin API on the same origin.

import { AdminApi, ApiError } from './api.js';
import { ChannelDetailPanel } from './channel-detail.js';
import { ChannelsPanel } from './channels.js';
import { errorMessage, fill, h } from './dom.js';
import { PublishPanel } from './publish.js';
import { StatsPanel } from './stats.js';
import { StreamPanel } from './stream.js';
import type { AppSummary, Whoami } from './types.js';

const api = new AdminApi();
const root = document.getElementById('app')!;
const who = document.getElementById('who')!;

interface Stoppable {
  stop(): void;
}

/** Everything polling or streaming for the app on screen, stopped when the app changes. */
let running: Stoppable[] = [];

function stopAll(): void {
  for (const part of running) part.stop();
  running = [];
}

/** The messages the login form shows for each refusal of /admin/whoami. */
const REFUSALS: Record<number, (message: string, triedToken: boolean) => string> = {
  401: (_message, triedToken) => (triedToken ? 'Wrong token: the server refused it.' : ''),
  403: (message) => message,
};

async function start(): Promise<void> {
  try {
    await showApps(await api.get<Whoami>('/whoami'));
  } catch (error) {
    const refusal = error instanceof ApiError ? REFUSALS[error.status] : undefined;
    if (refusal === undefined) return showLogin(`The admin API did not answer: ${errorMessage(error)}`);
    const triedToken = api.hasToken;
    api.setToken('');
    showLogin(refusal(errorMessage(error), triedToken));
  }
}

function showLogin(message: string): void {
  stopAll();
  fill(who);
  const token = h('input', { type: 'password', placeholder: 'admin token', testid: 'token-input', attrs: { autocomplete: 'off', required: '' } });
  const form = h(
    'form',
    {
      class: 'login panel',
      testid: 'login-form',
      on: {
        submit: (event) => {
          event.preventDefault();
          api.setToken(token.value.trim());
          void start();
        },
      },
    },
    h('h2', { text: 'Admin token' }),
    h('p', { class: 'muted', text: 'The adminToken (BROADCASTY_ADMIN_TOKEN) or one of adminTokens. It is kept in this tab only.' }),
    token,
    h('button', { type: 'submit', class: 'primary', text: 'open', testid: 'token-submit' }),
    h('p', { class: 'error', testid: 'login-error', text: message }),
  );
  fill(root, form);
  token.focus();
}

async function showApps(whoami: Whoami): Promise<void> {
  const forget = () => {
    api.setToken('');
    void start();
  };
  const logout = api.hasToken ? h('button', { text: 'forget token', testid: 'logout', on: { click: forget } }) : null;
  fill(who, h('span', { class: 'muted', testid: 'actor', text: whoami.actor }), logout);
  const { apps } = await api.get<{ apps: AppSummary[] }>('/apps');
  if (apps.length === 0) return fill(root, h('p', { class: 'error', testid: 'no-apps', text: 'This token sees no apps.' }));
  const picker = h('select', { testid: 'app-picker', on: { change: () => showApp(apps.find((a) => a.id === picker.value)!) } }, ...apps.map((app) => h('option', { value: app.id, text: `${app.id} (${app.key})` })));
  const requested = new URLSearchParams(location.search).get('app');
  const first = apps.find((app) => app.id === requested) ?? apps[0];
  picker.value = first.id;
  who.prepend(h('label', { class: 'picker' }, 'app ', picker));
  showApp(first);
}

function showApp(app: AppSummary): void {
  stopAll();
  const stats = new StatsPanel(api, app.id);
  const publish = new PublishPanel(api, app.id);
  const stream = new StreamPanel(api, app.id);
  const detailSlot = h('div', { class: 'detail-slot' });
  let detail: ChannelDetailPanel | undefined;
  const closeDetail = () => {
    detail?.stop();
    detail = undefined;
    channels.select('');
    fill(detailSlot);
  };
  const channels = new ChannelsPanel(api, app.id, (channel) => {
    detail?.stop();
    detail = new ChannelDetailPanel(api, app.id, channel, closeDetail);
    channels.select(channel);
    publish.useChannel(channel);
    fill(detailSlot, detail.element);
  });
  const flags = [app.enabled ? null : 'disabled', `auth ${app.authMode}`, app.history && 'history', app.push && 'push'].filter((f): f is string => typeof f === 'string');
  running = [stats, channels, stream, { stop: () => detail?.stop() }];
  fill(
    root,
    h('p', { class: 'app-flags', testid: 'app-flags' }, ...flags.map((flag) => h('span', { class: 'tag', text: flag }))),
    h('div', { class: 'layout' }, h('div', { class: 'column' }, stats.element, channels.element, detailSlot), h('div', { class: 'column' }, publish.element, stream.element)),
  );
}

void start();
