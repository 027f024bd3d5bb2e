/** Failback step "restore-traffic" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { restoreTraffic } from '../shared/failover/steps';

export const handler = stepHandler(restoreTraffic);
