import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as route53 from 'aws-cdk-lib/aws-route53';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { ResidencyIndex } from '../lambda/shared/residency-plan';
import { syncTargets } from '../lambda/shared/sync/routes';
import { cacheMembership } from './cache/global-datastore-membership';
import { RegionalCache } from './cache/regional-cache';
import { acknowledge, PACKS } from './compliance/nag';
import type { MeridianConfig } from './config/load';
import type { RegionConfig } from './config/schema';
import { AuroraGlobal, auroraMembership } from './data/aurora-global';
import { RegionalBackup } from './data/regional-backup';
import { FailoverRunbook, runbookName, stateMachineArn } from './failover/failover-runbook';
import { ConfigDrift } from './observability/config-drift';
import { GlobalDashboard } from './observability/global-dashboard';
import { RegionalDashboard } from './observability/regional-dashboard';

/** Meridian's own version, stamped into every region's fingerprint. */
const MERIDIAN_VERSION = (
  JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

import { type BundlingMode, MeridianFunction } from './functions/meridian-function';
import { ResidencyPlanLayer } from './functions/residency-plan-layer';
import { Naming, regionalStackName } from './naming';
import { RegionalNetwork } from './network/regional-network';
import { RegionalAlerts } from './observability/regional-alerts';
import { RegionalIngress } from './routing/regional-ingress';
import { RegionalRouting } from './routing/regional-routing';
import { routingNames } from './routing/traffic-plan';
import { CrossClusterReplication } from './search/cross-cluster-replication';
import { RegionalSearch } from './search/regional-search';
import { followersOf, followRoutes } from './search/search-routes';
import { RegionalKey } from './security/regional-key';
import { RegionalBuckets } from './storage/regional-buckets';
import { auditRoutes, objectRoutes } from './storage/replication-routes';
import { RegionalSync } from './sync/regional-sync';
import { SyncQueues } from './sync/sync-queues';

export interface RegionalStackProps extends StackProps {
  readonly config: MeridianConfig;
  readonly region: RegionConfig;
  /** Index of `config.plan`, built once per app and shared by every stack. */
  readonly index: ResidencyIndex;
  /** @default 'once' */
  readonly bundling?: BundlingMode;
}

/** Availability zones of a region: from its file, or `<region>a..` up to maxAzs. No AWS lookup. */
export function availabilityZonesOf(region: RegionConfig): string[] {
  const { maxAzs } = region.settings.network;
  return (
    region.availabilityZones ?? ['a', 'b', 'c', 'd', 'e', 'f'].map((l) => `${region.id}${l}`)
  ).slice(0, maxAzs);
}

/** Tags every resource of a region carries; values kept within AWS's tag character set. */
export function regionalTags(config: MeridianConfig, region: RegionConfig): Record<string, string> {
  const tagValue = (xs: readonly string[]) => (xs.length ? xs.join(' ') : 'none');
  return {
    ...config.global.tags,
    'meridian:platform': config.global.platform,
    'meridian:env': config.env,
    'meridian:region': region.id,
    'meridian:jurisdiction': region.jurisdiction,
    'meridian:tier': region.tier,
    'meridian:data-residency': tagValue(region.residency.countries),
    'meridian:compliance': tagValue(region.compliance),
  };
}

/**
 * One region's stack. Issue 2 baseline: customer key, VPC with flow logs and endpoints, the
 * residency plan layer and the residency-check function. Later issues add the data plane,
 * routing, sync and failover here.
 */
export class RegionalStack extends Stack {
  readonly key: RegionalKey;
  readonly network: RegionalNetwork;
  readonly planLayer: ResidencyPlanLayer;
  readonly residencyCheck: MeridianFunction;
  /** This region's member of its cell's Aurora global database. */
  readonly aurora?: AuroraGlobal;
  readonly backup: RegionalBackup;
  /** The region's cache, a member of its cell's Global Datastore where AWS supports one. */
  readonly cache: RegionalCache;
  /** The region's OpenSearch domain. */
  readonly search: RegionalSearch;
  /** Cross-cluster replication into this region's domain, where the plan allows any. */
  readonly searchReplication?: CrossClusterReplication;
  /** Data, audit and access-log buckets. */
  readonly buckets: RegionalBuckets;
  /** The sync inbound FIFO queue and its dead-letter queue. */
  readonly syncQueues: SyncQueues;
  /** The sync pipeline, in a cell's writer region (it owns the Aurora writer and its secret). */
  readonly sync?: RegionalSync;
  /** This region's deployed fingerprint and the hourly drift check across regions. */
  readonly drift: ConfigDrift;
  /** The failover runbook (every region has one, to run from the region it activates). */
  readonly failover: FailoverRunbook;
  /** The regional health endpoint's function. */
  readonly health: MeridianFunction;
  /** HTTPS ingress: HTTP API, custom domains, certificate. */
  readonly ingress: RegionalIngress;
  /** Route 53 health checks and records. */
  readonly routing: RegionalRouting;
  /** SNS topics per alarm severity. */
  readonly alerts: RegionalAlerts;
  /** The operator's dashboard of this region. */
  readonly dashboard: RegionalDashboard;
  /** The all-regions dashboard, in the one stack that hosts it (see globalDashboardRegion). */
  readonly globalDashboard?: GlobalDashboard;
  private readonly azs: string[];

  constructor(scope: Construct, props: RegionalStackProps) {
    const { config, region } = props;
    const name = regionalStackName(config.env, region.id);
    super(scope, name, {
      ...props,
      stackName: name,
      env: { account: region.account ?? config.global.account, region: region.id },
      description: `Meridian ${config.env} ${region.id} (${region.jurisdiction}, ${region.tier})`,
      terminationProtection: config.env === 'prod',
    });
    this.azs = availabilityZonesOf(region);
    for (const [k, v] of Object.entries(regionalTags(config, region))) Tags.of(this).add(k, v);

    const s = region.settings;
    const naming = new Naming(config.global.platform, config.env);
    this.key = new RegionalKey(this, 'RegionalKey', { aliasName: naming.keyAlias });
    this.network = new RegionalNetwork(this, 'Network', {
      cidr: region.cidr,
      maxAzs: s.network.maxAzs,
      natGateways: s.network.natGateways,
      interfaceEndpoints: s.network.interfaceEndpoints,
      gatewayEndpoints: s.network.gatewayEndpoints,
      key: this.key.key,
      logRetentionDays: s.observability.logRetentionDays,
    });
    this.alerts = new RegionalAlerts(this, 'Alerts', {
      key: this.key.key,
      prefix: naming.region(region.id),
      chat: config.global.alerts.chat,
    });
    this.planLayer = new ResidencyPlanLayer(this, 'ResidencyPlan', { plan: config.plan });
    const { index } = props;
    const allClasses = config.plan.dataClasses.map((c) => c.id);
    const membership = auroraMembership(index, region.id, allClasses);
    this.backup = new RegionalBackup(this, 'Backup', {
      key: this.key.key,
      retentionDays: s.replication.backupRetentionDays,
    });
    if (membership) {
      this.aurora = new AuroraGlobal(this, 'Aurora', {
        vpc: this.network.vpc,
        vpcCidr: region.cidr,
        key: this.key.key,
        role: membership.role,
        globalClusterIdentifier: naming.cell(membership.jurisdiction),
        clusterIdentifier: naming.region(region.id),
        engineVersion: s.data.auroraEngineVersion,
        minAcu: s.data.auroraMinAcu,
        maxAcu: s.data.auroraMaxAcu,
        readers: s.data.auroraReaders,
        backupRetentionDays: s.replication.backupRetentionDays,
        logRetentionDays: s.observability.logRetentionDays,
      });
      this.backup.add('Aurora', [
        backup.BackupResource.fromRdsDatabaseCluster(this.aurora.cluster),
      ]);
    }
    this.cache = new RegionalCache(this, 'Cache', {
      vpc: this.network.vpc,
      vpcCidr: region.cidr,
      key: this.key.key,
      replicationGroupId: naming.region(region.id),
      membership: cacheMembership(index, region.id, allClasses, (j) => naming.cell(j)),
      engine: s.cache.engine,
      engineVersion: s.cache.engineVersion,
      nodeType: s.cache.nodeType,
      replicas: s.cache.replicas,
      snapshotRetentionDays: s.cache.snapshotRetentionDays,
      logRetentionDays: s.observability.logRetentionDays,
    });
    this.search = new RegionalSearch(this, 'Search', {
      vpc: this.network.vpc,
      vpcCidr: region.cidr,
      key: this.key.key,
      domainName: naming.searchDomain(region.id),
      maxAzs: s.network.maxAzs,
      dataNodes: s.search.dataNodes,
      dataNodeType: s.search.dataNodeType,
      masterNodes: s.search.masterNodes,
      masterNodeType: s.search.masterNodeType,
      volumeGb: s.search.volumeGb,
      logRetentionDays: s.observability.logRetentionDays,
      followers: followersOf(index, region.id),
    });
    const follow = followRoutes(index, region.id);
    if (follow.length > 0) {
      const handler = new MeridianFunction(this, 'OpenSearchReplication', {
        handler: 'opensearch-replication',
        description:
          'Custom resource: cross-cluster replication from leaders the residency plan allows',
        vpc: this.network.vpc,
        key: this.key.key,
        logRetentionDays: s.observability.logRetentionDays,
        memoryMb: s.lambda.memoryMb,
        // Waits for connections to turn ACTIVE.
        timeoutSeconds: 900,
        reservedConcurrency: s.lambda.reservedConcurrency,
        environment: { MERIDIAN_SEARCH_ADMIN_ROLE_ARN: this.search.adminRole.roleArn },
        requiredEnvironment: ['MERIDIAN_SEARCH_ADMIN_ROLE_ARN'],
        bundling: props.bundling,
      });
      this.searchReplication = new CrossClusterReplication(this, 'SearchReplication', {
        search: this.search,
        followerDomainName: naming.searchDomain(region.id),
        routes: follow,
        leaderDomainName: (r) => naming.searchDomain(r),
        handler,
      });
    }
    this.buckets = new RegionalBuckets(this, 'Buckets', {
      naming,
      key: this.key.key,
      dataRoutes: objectRoutes(index, region.id),
      auditTargets: auditRoutes(index, region.id),
      transitionToIaDays: s.storage.transitionToIaDays,
      transitionToGlacierDays: s.storage.transitionToGlacierDays,
      expireNoncurrentDays: s.storage.expireNoncurrentDays,
      auditRetentionDays: s.replication.auditRetentionDays,
      replicationTimeControl: s.replication.s3ReplicationTimeControl,
      accessLogRetentionDays: s.observability.logRetentionDays,
    });
    this.syncQueues = new SyncQueues(this, 'SyncQueues', {
      key: this.key.key,
      namePrefix: naming.region(region.id),
      maxReceiveCount: s.sync.maxAttempts,
    });
    const replicaCluster =
      this.aurora && membership?.role === 'secondary' ? naming.region(region.id) : undefined;
    this.health = this.healthFunction(props, replicaCluster);
    const dbSecret = this.aurora?.secret;
    const cacheSecret = this.cache.authSecret;
    if (dbSecret && cacheSecret) {
      const cell = index.cellOf(region.id);
      this.sync = new RegionalSync(this, 'Sync', {
        region: region.id,
        account: region.account ?? config.global.account,
        targets: syncTargets(index, region.id),
        jurisdiction: region.jurisdiction,
        jurisdictionPeers: (cell?.regions ?? []).filter((r) => r !== region.id),
        prefix: naming.keyAlias,
        vpc: this.network.vpc,
        key: this.key.key,
        planLayer: this.planLayer.layer,
        queues: this.syncQueues,
        dbSecret,
        cacheSecret,
        cacheEndpoint: `${this.cache.replicationGroup.attrPrimaryEndPointAddress}:${this.cache.replicationGroup.attrPrimaryEndPointPort}`,
        auditBucket: this.buckets.audit,
        alerts: this.alerts,
        settings: s,
        regionStateTable: `${naming.cell(region.jurisdiction)}-failover-lock`,
        bundling: props.bundling,
      });
    }

    const { dns, routing } = config.global;
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: dns.hostedZoneId,
      zoneName: dns.zoneName,
    });
    const names = routingNames(config.global, region);
    this.ingress = new RegionalIngress(this, 'Ingress', {
      hostnames: [names.regional, names.api, names.jurisdiction],
      zone,
      healthFunction: this.health.function,
      healthPath: routing.healthPath,
      key: this.key.key,
      logRetentionDays: s.observability.logRetentionDays,
    });
    const ingressTarget = this.ingress.regionalDomainOf(names.regional);
    this.routing = new RegionalRouting(this, 'Routing', {
      zone,
      region: region.id,
      names,
      healthHost: this.ingress.executeApiHost,
      healthPath: routing.healthPath,
      intervalSeconds: s.failover.healthCheckIntervalSeconds,
      failureThreshold: s.failover.failureThreshold,
      checkerRegions: routing.healthCheckRegions,
      replicaCluster,
      maxReplicationLagSeconds: s.health.maxReplicationLagSeconds,
      slots: Object.entries(s.routing.slots).map(([name, slot]) => ({
        name,
        weight: slot.weight,
        target: slot.origin ?? ingressTarget,
      })),
      ttlSeconds: routing.ttlSeconds,
      alerts: this.alerts,
      lagAlarmName: `${naming.region(region.id)}-critical-replication-lag`,
    });
    this.failover = this.failoverRunbook(props, naming, allClasses);
    // For the record (info): a failover or failback ran from this region.
    for (const [id, machine] of [
      ['FailoverStarted', this.failover.stateMachine],
      ['FailbackStarted', this.failover.failback],
    ] as const)
      this.alerts.route(
        new cloudwatch.Alarm(this, id, {
          alarmDescription: `${machine === this.failover.stateMachine ? 'A failover' : 'A failback'} execution started in ${region.id}; its report is in the audit bucket under failover/`,
          metric: machine.metricStarted({ period: Duration.minutes(5), statistic: 'Sum' }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
        'info',
      );
    this.drift = new ConfigDrift(this, 'ConfigDrift', {
      config,
      region,
      version: MERIDIAN_VERSION,
      vpc: this.network.vpc,
      key: this.key.key,
      alerts: this.alerts,
      bundling: props.bundling,
    });
    this.residencyCheck = new MeridianFunction(this, 'ResidencyCheck', {
      handler: 'residency-check',
      description: 'Decides whether records may replicate to a region, from the residency plan',
      vpc: this.network.vpc,
      key: this.key.key,
      logRetentionDays: s.observability.logRetentionDays,
      memoryMb: s.lambda.memoryMb,
      timeoutSeconds: s.lambda.timeoutSeconds,
      reservedConcurrency: s.lambda.reservedConcurrency,
      layers: [this.planLayer.layer],
      environment: {
        MERIDIAN_REGION: region.id,
        MERIDIAN_RESIDENCY_PLAN_FILE: ResidencyPlanLayer.PLAN_FILE,
      },
      requiredEnvironment: ['MERIDIAN_REGION', 'MERIDIAN_RESIDENCY_PLAN_FILE'],
      bundling: props.bundling,
    });
    this.dashboard = this.regionalDashboard(naming, replicaCluster);
    if (region.id === globalDashboardRegion(config))
      this.globalDashboard = new GlobalDashboard(this, 'GlobalDashboard', {
        dashboardName: `${naming.keyAlias}-global`,
        regions: config.regions.map((r) => ({
          region: r.id,
          jurisdiction: r.jurisdiction,
          auroraSecondaryCluster:
            auroraMembership(index, r.id, allClasses)?.role === 'secondary'
              ? naming.region(r.id)
              : undefined,
          cacheReplicationGroupId: naming.region(r.id),
          syncDeadLetterQueue:
            index.cellOf(r.id)?.primary === r.id
              ? `${naming.region(r.id)}-sync-dead-letter.fifo`
              : undefined,
          failoverStateMachineArn: stateMachineArn(
            this.partition,
            r.id,
            r.account ?? config.global.account,
            runbookName(naming.keyAlias, r.id),
          ),
        })),
      });
  }

  /** The region's dashboard: every alarm of the stack, then the metrics behind them. */
  private regionalDashboard(naming: Naming, auroraSecondaryCluster?: string): RegionalDashboard {
    return new RegionalDashboard(this, 'Dashboard', {
      region: this.region,
      dashboardName: naming.region(this.region),
      auroraSecondaryCluster,
      cacheReplicationGroupId: naming.region(this.region),
      replicatingBuckets: [this.buckets.data, this.buckets.audit]
        .filter((b) => (b.node.defaultChild as s3.CfnBucket).replicationConfiguration)
        .map((b) => b.bucketName),
      sync: this.sync
        ? {
            inboundQueue: this.syncQueues.inbound.queueName,
            deadLetterQueue: this.syncQueues.deadLetter.queueName,
          }
        : undefined,
      healthChecks: [
        { id: this.routing.regionCheck.healthCheckId, label: `${this.region} (calculated)` },
        { id: this.routing.endpointCheck.healthCheckId, label: `${this.region} /health` },
      ],
      stateMachines: [
        { arn: this.failover.stateMachine.stateMachineArn, label: 'failover' },
        { arn: this.failover.failback.stateMachineArn, label: 'failback' },
      ],
      alarms: this.node
        .findAll()
        .filter((c): c is cloudwatch.Alarm => c instanceof cloudwatch.Alarm)
        .sort((a, b) => a.node.path.localeCompare(b.node.path)),
    });
  }

  /**
   * The health endpoint's function: checks Aurora (writer on a primary, reader everywhere, lag on
   * a secondary), the cache, the data bucket and the sync queue depth, each with a deadline.
   */
  private healthFunction(props: RegionalStackProps, replicaCluster?: string): MeridianFunction {
    const { region } = props;
    const s = region.settings;
    const environment: Record<string, string> = {
      MERIDIAN_REGION: region.id,
      MERIDIAN_HEALTH_TIMEOUT_MS: String(s.health.timeoutMs),
      MERIDIAN_HEALTH_CACHE_SECONDS: String(s.health.cacheSeconds),
      MERIDIAN_MAX_REPLICATION_LAG_SECONDS: String(s.health.maxReplicationLagSeconds),
      MERIDIAN_MAX_QUEUE_DEPTH: String(s.health.maxQueueDepth),
      MERIDIAN_CACHE_ENDPOINT: `${this.cache.replicationGroup.attrPrimaryEndPointAddress}:${this.cache.replicationGroup.attrPrimaryEndPointPort}`,
      MERIDIAN_BUCKET: this.buckets.data.bucketName,
      MERIDIAN_SYNC_QUEUE_URL: this.syncQueues.inbound.queueUrl,
    };
    if (this.aurora) {
      // A secondary has no usable writer until it is promoted: check its readers only.
      if (!replicaCluster)
        environment.MERIDIAN_AURORA_WRITER = this.aurora.cluster.clusterEndpoint.socketAddress;
      environment.MERIDIAN_AURORA_READER = this.aurora.cluster.clusterReadEndpoint.socketAddress;
    }
    if (replicaCluster) environment.MERIDIAN_AURORA_CLUSTER = replicaCluster;
    const fn = new MeridianFunction(this, 'Health', {
      handler: 'health',
      description: 'Regional health endpoint: Aurora, replication lag, cache, bucket, sync queue',
      vpc: this.network.vpc,
      key: this.key.key,
      logRetentionDays: s.observability.logRetentionDays,
      memoryMb: s.lambda.memoryMb,
      // Route 53 waits 2 s for an answer; each check has its own shorter deadline.
      timeoutSeconds: 5,
      reservedConcurrency: s.lambda.reservedConcurrency,
      environment,
      requiredEnvironment: ['MERIDIAN_REGION', 'MERIDIAN_BUCKET', 'MERIDIAN_SYNC_QUEUE_URL'],
      bundling: props.bundling,
    });
    fn.allow('HeadDataBucket', ['s3:ListBucket'], [this.buckets.data.bucketArn]);
    fn.allow('SyncQueueDepth', ['sqs:GetQueueAttributes'], [this.syncQueues.inbound.queueArn]);
    if (replicaCluster) {
      fn.allow('ReplicationLagMetric', ['cloudwatch:GetMetricData'], ['*']);
      acknowledge(fn.role, [
        {
          pack: PACKS.aws,
          rule: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'cloudwatch:GetMetricData supports no resource-level permissions; the function only reads the replication-lag metric.',
        },
      ]);
    }
    return fn;
  }

  /** The cell's runbook configuration, from regions/ (names, never cross-region references). */
  private failoverRunbook(
    props: RegionalStackProps,
    naming: Naming,
    allClasses: readonly string[],
  ): FailoverRunbook {
    const { config, region, index } = props;
    const s = region.settings;
    const { dns, routing } = config.global;
    const account = region.account ?? config.global.account;
    const cellRegions = config.regions.filter((r) => r.jurisdiction === region.jurisdiction);
    const membership = (r: string) => cacheMembership(index, r, allClasses, (j) => naming.cell(j));
    const own = membership(region.id);
    return new FailoverRunbook(this, 'Failover', {
      config: {
        region: region.id,
        account,
        prefix: naming.keyAlias,
        zoneName: dns.zoneName,
        hostedZoneId: dns.hostedZoneId,
        healthPath: routing.healthPath,
        apiName: routing.apiName,
        ttlSeconds: routing.ttlSeconds,
        lockTable: `${naming.cell(region.jurisdiction)}-failover-lock`,
        auditBucket: naming.bucket(region.id, 'audit', account),
        quorum: s.failover.quorum,
        leaseSeconds: s.failover.leaseSeconds,
        maxSwitchoverLagSeconds: s.failover.switchoverLagThresholdSeconds,
        cloudflare: { accountId: config.global.cloudflare.accountId, tokenSecretArn: '' },
        cell: {
          jurisdiction: region.jurisdiction,
          globalCluster: naming.cell(region.jurisdiction),
          ...(own.role !== 'standalone'
            ? {
                datastore: {
                  id: own.globalId,
                  members: Object.fromEntries(
                    cellRegions
                      .filter((r) => membership(r.id).role !== 'standalone')
                      .map((r) => [r.id, naming.region(r.id)]),
                  ),
                },
              }
            : {}),
          regions: cellRegions.map((r) => ({
            id: r.id,
            jurisdiction: r.jurisdiction,
            failoverPriority: r.failoverPriority,
            capacity: r.capacity,
            ...(r.failoverTo ? { failoverTo: r.failoverTo } : {}),
          })),
        },
      },
      createLockTable: index.cellOf(region.id)?.primary === region.id,
      vpc: this.network.vpc,
      key: this.key.key,
      auditBucket: this.buckets.audit,
      alerts: this.alerts,
      settings: s,
      bundling: props.bundling,
    });
  }

  /** Fixed from regions/ so synth never asks AWS which zones exist. */
  override get availabilityZones(): string[] {
    return this.azs;
  }
}

/**
 * The region whose stack carries the global dashboard: us-east-1 when it is one of ours (Route 53
 * publishes its metrics there), else the first region by id.
 */
export function globalDashboardRegion(config: MeridianConfig): string {
  const ids = config.regions.map((r) => r.id).sort();
  return ids.includes('us-east-1') ? 'us-east-1' : (ids[0] as string);
}
