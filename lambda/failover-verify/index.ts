/** Runbook step "verify" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { verifyFailure } from '../shared/failover/steps';

export const handler = stepHandler(verifyFailure);
