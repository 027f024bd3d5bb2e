/** Runbook step "fence" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { fenceRegion } from '../shared/failover/steps';

export const handler = stepHandler(fenceRegion);
