// The transport that worked last, so `auto` starts there next time: localStorage in browsers
// (`broadcasty:transport:{url}`), this module's memory elsewhere. It is forgotten after an hour,
// so one transient WebSocket failure does not keep a browser on SSE or polling for good.
import type { TransportName } from './types.js';

/** Remembered as `{name} {time remembered, ms}`. */
const inMemory = new Map<string, string>();
const NAMES: readonly string[] = ['ws', 'sse', 'poll'];
export const REMEMBER_MS = 60 * 60 * 1000;

function storage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    // Sandboxed frames throw on access.
    return undefined;
  }
}

export function rememberedTransport(url: string, now: number): TransportName | undefined {
  const key = `broadcasty:transport:${url}`;
  let value: string | null | undefined = inMemory.get(key);
  try {
    value = storage()?.getItem(key) ?? value;
  } catch {
    // Storage disabled: memory only.
  }
  // A value without a time (an older SDK's) counts as expired.
  const [name, at] = (value ?? '').split(' ');
  const age = now - Number(at);
  return NAMES.includes(name!) && age >= 0 && age < REMEMBER_MS ? (name as TransportName) : undefined;
}

export function rememberTransport(url: string, name: TransportName, now: number): void {
  const key = `broadcasty:transport:${url}`;
  const value = `${name} ${now}`;
  inMemory.set(key, value);
  try {
    storage()?.setItem(key, value);
  } catch {
    // Quota or disabled storage: memory still has it.
  }
}
