import { readFileSync } from 'node:fs';

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

/** The file a setting names, as text; ProviderSettingError naming the setting when it cannot be read. */
export function readSettingFile(setting: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ProviderSettingError(setting, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
