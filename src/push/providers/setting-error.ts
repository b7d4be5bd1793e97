/** A provider's settings cannot work (a key that does not parse, a missing file): the start refuses the app. */
export class ProviderSettingError extends Error {
  constructor(
    /** The setting as the config names it, e.g. `push.apns.keyFile`. */
    readonly setting: string,
    message: string,
  ) {
    super(`Invalid setting ${setting}: ${message}`);
  }
}
