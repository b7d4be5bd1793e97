// Who may do what on a channel (docs/PROTOCOL.md §14.3, §14.4): the tenant check first, then the
// app's resolver module, else its rules (`jwt.rules` or `jwt.rulesFile`), else the defaults.
// A rules file or resolver that cannot be used (an app from a registry, never checked at start)
// denies with a message and an error log; authorizeAction never throws.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { channelType } from '../../protocol/channels.js';
import type { App } from '../apps/registry.js';
import { policyRuleSchema, type PolicyAction, type PolicyRule } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { compilePattern, type ChannelPattern } from './channel-patterns.js';
import { loadResolver, type PolicyResolver } from './resolver.js';
import { tenancyDenial } from './tenancy.js';
import type { Decision, Principal } from './types.js';

const ALLOWED: Decision = { ok: true };

type PolicyLog = Pick<Logger, 'warn' | 'error'>;

/** Where resolver failures and unusable settings are logged; set at start (checkJwtSettings). */
let policyLog: PolicyLog | undefined;

export function setPolicyLog(log: PolicyLog): void {
  policyLog = log;
}

export async function authorizeAction(app: App, principal: Principal, channel: string, action: PolicyAction): Promise<Decision> {
  const tenancy = tenancyDenial(app, principal, channel, action);
  if (tenancy !== undefined) return tenancy;
  if (app.jwt.resolver !== undefined) return askResolver(app, app.jwt.resolver, principal, channel, action);
  let rules: readonly CompiledRule[];
  try {
    rules = appRules(app);
  } catch (error) {
    return unusableSetting(app, 'rulesFile', (error as Error).message, channel, action);
  }
  if (rules.length > 0) return byRules(rules, principal, channel, action);
  return byDefaults(principal, channel, action);
}

async function askResolver(app: App, path: string, principal: Principal, channel: string, action: PolicyAction): Promise<Decision> {
  let resolver: PolicyResolver;
  try {
    resolver = await loadResolver(path);
  } catch (error) {
    return unusableSetting(app, 'resolver', `cannot use ${path}: ${(error as Error).message}`, channel, action);
  }
  try {
    const answer = await resolver.authorize(principal.tenant, channel, principal.userId, [...principal.roles], action);
    if (answer === true) return ALLOWED;
    if (answer === false) return { ok: false, message: `${action} on ${channel} denied` };
    if (typeof answer === 'string' && answer !== '') return { ok: false, message: answer };
    throw new Error(`authorize returned ${JSON.stringify(answer) ?? typeof answer}; expected true, false or a reason string`);
  } catch (error) {
    policyLog?.warn({ appId: app.id, channel, action, err: (error as Error).message }, 'policy resolver failed; denying');
    return { ok: false, message: `${action} on ${channel} denied: the authorization resolver failed` };
  }
}

/**
 * Apps from the JSON and SQL registries are not checked at start (jwt-settings.ts): a rules file
 * or resolver that cannot be loaded is the operator's error, logged as such, and a denial.
 */
function unusableSetting(app: App, setting: 'rulesFile' | 'resolver', problem: string, channel: string, action: PolicyAction): Decision {
  policyLog?.error({ appId: app.id, setting: `jwt.${setting}`, problem }, 'jwt setting cannot be used; denying');
  return { ok: false, message: `${action} on ${channel} denied: the app's jwt.${setting} cannot be used` };
}

interface CompiledRule {
  rule: PolicyRule;
  pattern: ChannelPattern;
}

const rulesFileSchema = z.object({ rules: z.array(policyRuleSchema) }).strict();
const rulesFiles = new Map<string, readonly CompiledRule[]>();
const compiledRules = new WeakMap<App, readonly CompiledRule[]>();

/** Reads and checks a rules file (`{"rules": [...]}`); throws with what is wrong. Cached per path. */
export function readRulesFile(file: string): readonly CompiledRule[] {
  let rules = rulesFiles.get(file);
  if (rules !== undefined) return rules;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${file} (${code === 'ENOENT' ? 'no such file' : (error as Error).message}); expected a JSON file {"rules": [...]}`);
  }
  const parsed = rulesFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}; expected {"rules": [{channel, actions, roles, effect}]}`);
  }
  rules = parsed.data.rules.map(compileRule);
  rulesFiles.set(file, rules);
  return rules;
}

function compileRule(rule: PolicyRule): CompiledRule {
  return { rule, pattern: compilePattern(rule.channel) };
}

function appRules(app: App): readonly CompiledRule[] {
  if (app.jwt.rulesFile !== undefined) return readRulesFile(app.jwt.rulesFile);
  if (app.jwt.rules.length === 0) return [];
  let rules = compiledRules.get(app);
  if (rules === undefined) compiledRules.set(app, (rules = app.jwt.rules.map(compileRule)));
  return rules;
}

/**
 * The first rule matching channel and action decides: an `allow` rule allows a principal holding
 * one of its roles and refuses the others; a `deny` rule refuses the principals holding one of
 * its roles and is passed over by the others. No rule: public subscribe and history only.
 */
function byRules(rules: readonly CompiledRule[], principal: Principal, channel: string, action: PolicyAction): Decision {
  const claims = { sub: principal.userId, tid: principal.tenant };
  for (const { rule, pattern } of rules) {
    if (!rule.actions.includes(action) && !rule.actions.includes('*')) continue;
    if (!pattern.test(channel, claims)) continue;
    const holdsRole = rule.roles.includes('*') || rule.roles.some((role) => principal.roles.includes(role));
    if (rule.effect === 'deny') {
      if (holdsRole) return { ok: false, message: `${action} on ${channel} denied by rule ${rule.channel}` };
      continue;
    }
    return holdsRole ? ALLOWED : roleNeeded(rule.roles, action, channel);
  }
  return publicReadOnly(channel, action);
}

function byDefaults(principal: Principal, channel: string, action: PolicyAction): Decision {
  if (action === 'publish' || action === 'push') {
    return principal.roles.includes('admin') || principal.roles.includes('publisher') ? ALLOWED : roleNeeded(['admin', 'publisher'], action, channel);
  }
  const kind = channelType(channel).kind;
  if (kind === 'private' || kind === 'presence' || kind === 'encrypted') {
    return principal.roles.includes('member') ? ALLOWED : roleNeeded(['member'], action, channel);
  }
  return publicReadOnly(channel, action);
}

function publicReadOnly(channel: string, action: PolicyAction): Decision {
  if (channelType(channel).kind === 'public' && (action === 'subscribe' || action === 'history')) return ALLOWED;
  return { ok: false, message: `${action} on ${channel} is not allowed` };
}

function roleNeeded(roles: string[], action: PolicyAction, channel: string): Decision {
  return { ok: false, message: `${action} on ${channel} needs role ${roles.join(' or ')}` };
}
