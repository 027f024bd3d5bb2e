/** Runbook step "assess" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { assessFailure } from '../shared/failover/steps';

export const handler = stepHandler((config, _clients, state) => assessFailure(config, state));
