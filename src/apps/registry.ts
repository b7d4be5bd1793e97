// Who may connect. One interface; the static registry serves apps from config/env.
import type { AppConfig } from '../config/schema.js';

export type App = AppConfig;

export interface AppRegistry {
  findByKey(key: string): Promise<App | undefined>;
  findById(id: string): Promise<App | undefined>;
}

export class StaticAppRegistry implements AppRegistry {
  private readonly byKey = new Map<string, App>();
  private readonly byId = new Map<string, App>();

  constructor(apps: App[]) {
    for (const app of apps) {
      this.byKey.set(app.key, app);
      this.byId.set(app.id, app);
    }
  }

  async findByKey(key: string): Promise<App | undefined> {
    return this.byKey.get(key);
  }

  async findById(id: string): Promise<App | undefined> {
    return this.byId.get(id);
  }
}
