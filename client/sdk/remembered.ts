// The transport that worked last, so `auto` starts there next time: localStorage in browsers
// (`broadcasty:transport:{url}`), this module's memory elsewhere.
import type { TransportName } from './types.js';

const inMemory = new Map<string, TransportName>();
const NAMES: readonly string[] = ['ws', 'sse', 'poll'];

function storage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    // Sandboxed frames throw on access.
    return undefined;
  }
}

export function rememberedTransport(url: string): TransportName | undefined {
  const key = `broadcasty:transport:${url}`;
  let value: string | null | undefined = inMemory.get(key);
  try {
    value = storage()?.getItem(key) ?? value;
  } catch {
    // Storage disabled: memory only.
  }
  return value !== null && value !== undefined && NAMES.includes(value) ? (value as TransportName) : undefined;
}

export function rememberTransport(url: string, name: TransportName): void {
  const key = `broadcasty:transport:${url}`;
  inMemory.set(key, name);
  try {
    storage()?.setItem(key, name);
  } catch {
    // Quota or disabled storage: memory still has it.
  }
}
