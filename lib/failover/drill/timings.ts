/**
 * (Drill and bench support: not deployed.)
 * How long AWS takes for what the runbook waits on, as the drill's world models it. Each figure is
 * AWS's published one where there is one, taken at its slow end (a fake may not be kinder than
 * AWS); where AWS publishes none, the figure is marked as an assumption. Change a figure only with
 * its source.
 */
export interface Timing {
  readonly ms: number;
  readonly source: string;
}

export const TIMINGS = {
  auroraFailover: {
    ms: 60_000,
    source:
      'Aurora User Guide, Using Amazon Aurora Global Database (advantages): a secondary can be promoted to full read/write in under a minute — modelled at the full minute',
  },
  auroraSwitchover: {
    ms: 120_000,
    source:
      'assumption: AWS publishes no duration for SwitchoverGlobalCluster, which first synchronizes every secondary (API reference, SwitchoverGlobalCluster); modelled at twice the failover figure',
  },
  auroraReplicationLag: {
    ms: 1_000,
    source:
      'AWS Prescriptive Guidance, Aurora replication options (Aurora global databases): Aurora replicates to the secondary Regions "with latency typically under one second" — modelled at the full second, the lag of every secondary when the drill begins',
  },
  cacheFailover: {
    ms: 60_000,
    source:
      'assumption: the ElastiCache Global Datastore guide gives no promotion duration; modelled like Aurora, one minute',
  },
  dynamodbReplication: {
    ms: 1_000,
    source:
      'DynamoDB developer guide, How global tables work: MREC changes are replicated "typically within one second" — modelled at the second',
  },
  route53Propagation: {
    ms: 60_000,
    source:
      'Route 53 API reference, ChangeResourceRecordSets/GetChange: a change is INSYNC once propagated to all authoritative servers, "generally within 60 seconds"',
  },
  alarmToStart: {
    ms: 1_000,
    source:
      'assumption: EventBridge delivers the alarm state change to the trigger function, which calls StartExecution (no published latency)',
  },
  lambdaStep: {
    ms: 200,
    source:
      'assumption: a warm Lambda invocation of a small step including its AWS calls (no published figure); the drill adds it per Task',
  },
} as const satisfies Record<string, Timing>;
