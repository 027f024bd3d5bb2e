import type { RunbookConfig } from '../../lambda/shared/failover/config';

/** A one-region cell's runbook configuration (what MERIDIAN_RUNBOOK holds), for handler tests. */
export function oneRegionRunbook(region: string, lockTable = 'lock'): RunbookConfig {
  return {
    region,
    account: '111111111111',
    prefix: 'meridian-test',
    zoneName: 'example.com',
    hostedZoneId: 'Z0TEST',
    healthPath: '/health',
    apiName: 'api',
    ttlSeconds: 30,
    lockTable,
    lockRegions: [region],
    lock: {
      consistency: 'single-home',
      home: region,
      replicas: [region],
      endpoints: { [region]: [region] },
    },
    auditBucket: 'audit',
    quorum: 2,
    criticalAlarmHosts: {},
    names: {
      [region]: {
        cluster: `meridian-test-${region}`,
        pool: `meridian-test-${region}`,
        criticalAlarmPrefix: `meridian-test-${region}-critical-`,
      },
    },
    leaseSeconds: 900,
    maxSwitchoverLagSeconds: 30,
    cloudflare: { accountId: 'a', tokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:t' },
    cell: {
      jurisdiction: 'eu',
      globalCluster: 'g',
      regions: [{ id: region, jurisdiction: 'eu', failoverPriority: 1, capacity: 1 }],
    },
  };
}
