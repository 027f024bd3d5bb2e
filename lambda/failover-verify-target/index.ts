/** Runbook step "verify-target" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { verifyTarget } from '../shared/failover/steps';

export const handler = stepHandler(verifyTarget);
