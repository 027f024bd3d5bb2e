/** Runbook step "unlock" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { releaseLock } from '../shared/failover/steps';

export const handler = stepHandler(releaseLock);
