/** Runbook step "repoint-search" (see ../shared/failover/steps.ts). */
import { stepHandler } from '../shared/failover/handler';
import { repointSearch } from '../shared/failover/steps';

export const handler = stepHandler(repointSearch);
