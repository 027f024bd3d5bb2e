/** Runbook step "check-original" (see ../shared/failover/steps.ts); only the SDK clients it uses. */
import { stepHandler } from '../shared/failover/handler';
import { checkOriginal } from '../shared/failover/steps';

export const handler = stepHandler(checkOriginal);
