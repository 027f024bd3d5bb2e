/** Runbook step "promote-aurora" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { promoteAurora } from '../shared/failover/steps';

export const handler = stepHandler(promoteAurora);
