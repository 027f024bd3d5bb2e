/** Runbook step "verify-target" (see ../shared/failover/steps.ts); only the SDK clients it uses. */
import { stepHandler } from '../shared/failover/handler';
import { verifyTarget } from '../shared/failover/steps';

export const handler = stepHandler(verifyTarget);
