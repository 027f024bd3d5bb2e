/** Runbook step "lock" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { acquireLock } from '../shared/failover/steps';

export const handler = stepHandler(acquireLock);
