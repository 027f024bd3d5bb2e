/** Runbook step "record" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { recordEvent } from '../shared/failover/steps';

export const handler = stepHandler(recordEvent);
