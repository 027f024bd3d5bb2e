/** Runbook step "promote-cache" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { promoteCache } from '../shared/failover/steps';

export const handler = stepHandler(promoteCache);
