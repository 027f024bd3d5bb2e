/** Runbook step "choose-target" (see ../shared/failover/steps.ts); only the SDK clients it uses. */
import { stepHandler } from '../shared/failover/handler';
import { pickTarget } from '../shared/failover/steps';

export const handler = stepHandler(pickTarget);
