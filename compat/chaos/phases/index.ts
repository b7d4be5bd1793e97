// Every phase in run order: the ones that only send hostile input first, then the ones that
// load the server (slow consumers, floods, fd exhaustion), the process faults last.
import type { Phase } from '../runner.js';
import { faultPhases } from './faults.js';
import { fdExhaustionPhase } from './fd-exhaustion.js';
import { preHandshakeFloodPhase, subscriptionFloodPhase } from './floods.js';
import { framesPhase } from './frames.js';
import { httpApiPhase } from './http-api.js';
import { slowConsumersPhase } from './slow-consumers.js';
import { upgradePhase } from './upgrade.js';

export const ALL_PHASES: Phase[] = [framesPhase, upgradePhase, httpApiPhase, slowConsumersPhase, subscriptionFloodPhase, preHandshakeFloodPhase, fdExhaustionPhase, ...faultPhases];
