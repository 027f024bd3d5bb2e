/** Failback step "check-original" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { checkOriginal } from '../shared/failover/steps';

export const handler = stepHandler(checkOriginal);
