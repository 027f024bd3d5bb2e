/** Runbook step "assess" (see ../shared/failover/steps.ts); only the SDK clients it uses. */
import { stepHandler } from '../shared/failover/handler';
import { assessFailure } from '../shared/failover/steps';

export const handler = stepHandler((config, _clients, state) => assessFailure(config, state));
