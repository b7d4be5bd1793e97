export * from './channels.js';
export * from './errors.js';
export * from './frames.js';
export * from './http-signing.js';
export * from './signatures.js';
export * from './webhooks.js';
export * from './json.js';
