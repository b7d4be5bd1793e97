// Devices in this process only: the default without Redis or SQL; gone at restart.
import type { Device, DeviceStore } from '../types.js';

/** One app's devices, indexed by user and by interest. */
class AppDevices {
  readonly byId = new Map<string, Device>();
  readonly byUser = new Map<string, Set<string>>();
  readonly byInterest = new Map<string, Set<string>>();

  add(device: Device): void {
    this.byId.set(device.id, device);
    if (device.userId !== undefined) index(this.byUser, device.userId, device.id);
    for (const interest of device.interests) index(this.byInterest, interest, device.id);
  }

  delete(id: string): Device | undefined {
    const device = this.byId.get(id);
    if (device === undefined) return undefined;
    this.byId.delete(id);
    if (device.userId !== undefined) unindex(this.byUser, device.userId, id);
    for (const interest of device.interests) unindex(this.byInterest, interest, id);
    return device;
  }

  collect(index: Map<string, Set<string>>, keys: readonly string[]): Device[] {
    const ids = new Set<string>();
    for (const key of keys) for (const id of index.get(key) ?? []) ids.add(id);
    return [...ids].map((id) => this.byId.get(id)!);
  }
}

function index(map: Map<string, Set<string>>, key: string, id: string): void {
  const ids = map.get(key);
  if (ids === undefined) map.set(key, new Set([id]));
  else ids.add(id);
}

function unindex(map: Map<string, Set<string>>, key: string, id: string): void {
  const ids = map.get(key);
  if (ids === undefined) return;
  ids.delete(id);
  if (ids.size === 0) map.delete(key);
}

export class MemoryDeviceStore implements DeviceStore {
  private readonly apps = new Map<string, AppDevices>();

  private app(appId: string): AppDevices {
    let devices = this.apps.get(appId);
    if (devices === undefined) this.apps.set(appId, (devices = new AppDevices()));
    return devices;
  }

  async register(device: Device, maxPerUser: number): Promise<boolean> {
    const devices = this.app(device.appId);
    const previous = devices.delete(device.id);
    devices.add({ ...device, createdAt: previous?.createdAt ?? device.createdAt });
    if (device.userId !== undefined) {
      // The device just registered is never the one dropped, however old its first registration.
      const others = devices.collect(devices.byUser, [device.userId]).filter((d) => d.id !== device.id).sort(byAge);
      for (const old of others.slice(0, Math.max(0, others.length + 1 - maxPerUser))) devices.delete(old.id);
    }
    return previous === undefined;
  }

  async get(appId: string, deviceId: string): Promise<Device | undefined> {
    return this.apps.get(appId)?.byId.get(deviceId);
  }

  async remove(appId: string, deviceId: string): Promise<boolean> {
    return this.apps.get(appId)?.delete(deviceId) !== undefined;
  }

  async forUsers(appId: string, userIds: readonly string[]): Promise<Device[]> {
    const devices = this.apps.get(appId);
    return devices === undefined ? [] : devices.collect(devices.byUser, userIds);
  }

  async forInterests(appId: string, interests: readonly string[]): Promise<Device[]> {
    const devices = this.apps.get(appId);
    return devices === undefined ? [] : devices.collect(devices.byInterest, interests);
  }

  async close(): Promise<void> {}
}

/** Oldest first; ties by id so every store drops the same device. */
function byAge(a: Device, b: Device): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
