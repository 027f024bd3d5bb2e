/** Runbook step "shift-traffic" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { shiftTraffic } from '../shared/failover/steps';

export const handler = stepHandler(shiftTraffic);
