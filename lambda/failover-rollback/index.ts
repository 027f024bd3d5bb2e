/** Runbook step "rollback" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { rollback } from '../shared/failover/steps';

export const handler = stepHandler(rollback);
