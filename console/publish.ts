// The publish form: channel, event and JSON data through the admin API's publish, which takes the
// same path and answers as POST /events (docs/PROTOCOL.md §5.3).

import { appPath, type AdminApi } from './api.js';
import { errorMessage, h, panel } from './dom.js';

export class PublishPanel {
  readonly element: HTMLElement;
  private readonly channel = h('input', { type: 'text', placeholder: 'channel', testid: 'publish-channel', attrs: { required: '' } });
  private readonly event = h('input', { type: 'text', placeholder: 'event', testid: 'publish-event', attrs: { required: '' } });
  private readonly data = h('textarea', { testid: 'publish-data', attrs: { rows: '4', spellcheck: 'false' } });
  private readonly answer = h('pre', { class: 'answer', testid: 'publish-answer' });

  constructor(
    private readonly api: AdminApi,
    private readonly appId: string,
  ) {
    this.data.value = '{"message": "hello"}';
    this.element = panel(
      'Publish',
      'publish-panel',
      h(
        'form',
        { class: 'publish', on: { submit: (e) => this.submit(e) } },
        h('div', { class: 'toolbar' }, this.channel, this.event),
        this.data,
        h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary', text: 'publish', testid: 'publish-submit' }), this.answer),
      ),
    );
  }

  /** Prefills the channel (the one opened in the channels table). */
  useChannel(channel: string): void {
    this.channel.value = channel;
  }

  private submit(event: Event): void {
    event.preventDefault();
    let data: unknown;
    try {
      data = JSON.parse(this.data.value);
    } catch (error) {
      return this.show(`data is not JSON: ${errorMessage(error)}`, false);
    }
    if (this.channel.value === '' || this.event.value === '') return this.show('channel and event are required', false);
    this.show('publishing…', true);
    this.api.post<unknown>(appPath(this.appId, '/events'), { channel: this.channel.value, event: this.event.value, data }).then(
      (answer) => this.show(`published ${JSON.stringify(answer)}`, true),
      (error: unknown) => this.show(errorMessage(error), false),
    );
  }

  private show(message: string, ok: boolean): void {
    this.answer.textContent = message;
    this.answer.classList.toggle('error', !ok);
  }
}
