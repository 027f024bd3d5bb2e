import { Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ResidencyIndex } from '../lambda/shared/residency-plan';
import type { MeridianConfig } from './config/load';
import type { RegionConfig } from './config/schema';
import { SubjectRequestFunction } from './dsr/subject-request-function';
import { SubjectRequestMachine } from './dsr/subject-request-machine';
import { WriterKeeper } from './failover/writer-keeper';
import type { BundlingMode } from './functions/meridian-function';
import { Naming, regionalStackName } from './naming';
import { RegionalData } from './regional/data';
import {
  availabilityZonesOf,
  cellLockPlan,
  failoverRunbookConfig,
  globalDashboardRegion,
  globalDashboardRegions,
  hostedLocks,
  placementOf,
  regionalTags,
  subjectRequestCells,
  syncCellsOf,
} from './regional/derivations';
import { RegionalFoundation } from './regional/foundation';
import { RegionalOperations } from './regional/operations';
import { RegionalTraffic } from './regional/traffic';
import { routingNames } from './routing/traffic-plan';
import { RegionalSync } from './sync/regional-sync';

export interface RegionalStackProps extends StackProps {
  readonly config: MeridianConfig;
  readonly region: RegionConfig;
  /** Index of `config.plan`, built once per app and shared by every stack. */
  readonly index: ResidencyIndex;
  /** @default 'once' */
  readonly bundling?: BundlingMode;
}

/**
 * One region: its foundation (key, VPC, alerts, residency plan, function defaults), its data
 * (Aurora, cache, search, buckets, sync queues), the sync pipeline where it writes, its traffic
 * (health endpoint, ingress, Route 53) and its operations (runbook, drift check, dashboards).
 * What each part gets is derived first, as plain data (`./regional/derivations`). The parts build
 * into this stack itself, so splitting it into parts moved no logical id.
 */
export class RegionalStack extends Stack {
  readonly foundation: RegionalFoundation;
  readonly data: RegionalData;
  /** The sync pipeline, in a cell's writer region (it owns the Aurora writer and its secret). */
  readonly sync?: RegionalSync;
  /** The writer lease and self-fence, in a region with an Aurora cluster of its cell. */
  readonly writerKeeper?: WriterKeeper;
  readonly traffic: RegionalTraffic;
  readonly operations: RegionalOperations;
  private readonly azs: string[];

  constructor(scope: Construct, props: RegionalStackProps) {
    const { config, region, index } = props;
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

    const settings = region.settings;
    const naming = new Naming(config.global.platform, config.env);
    const placement = placementOf(config, region, index, naming);
    const base = new RegionalFoundation(this, {
      region: region.id,
      cidr: region.cidr,
      keyAlias: naming.keyAlias,
      alertPrefix: naming.region(region.id),
      chat: config.global.alerts.chat,
      plan: config.plan,
      settings,
      bundling: props.bundling,
    });
    const { functions, alerts } = base;
    const data = new RegionalData(this, {
      naming,
      placement,
      cidr: region.cidr,
      settings,
      functions,
      backup: base.backup,
    });
    const syncCells = syncCellsOf(config, index, naming, region.id);
    if (data.aurora && syncCells.own)
      this.sync = new RegionalSync(this, 'Sync', {
        region: region.id,
        account: placement.account,
        targets: syncCells.targets,
        ownCell: syncCells.own,
        jurisdiction: region.jurisdiction,
        jurisdictionPeers: placement.jurisdictionPeers,
        createsPseudonymKey: placement.cellPrimary,
        naming,
        functions,
        planLayer: base.planLayer.layer,
        queues: data.syncQueues,
        aurora: data.aurora,
        ...(data.cache.authSecret ? { cacheSecret: data.cache.authSecret } : {}),
        cacheEndpoint: data.cacheEndpoint,
        auditBucket: data.buckets.audit,
        alerts,
        sync: settings.sync,
        regionStateTable: naming.failoverLockTable(region.jurisdiction),
        regionStateRegion:
          cellLockPlan(config, region.jurisdiction).endpoints[region.id]?.[0] ?? region.id,
      });
    if (data.aurora)
      new SubjectRequestFunction(this, 'SubjectRequests', {
        naming,
        region: region.id,
        functions,
        planLayer: base.planLayer.layer,
        aurora: data.aurora,
        auditBucket: data.buckets.audit,
        dataBucket: data.buckets.data,
        ...(data.cache.authSecret ? { cacheSecret: data.cache.authSecret } : {}),
        cacheEndpoint: data.cacheEndpoint,
        search: {
          domain: data.search.domain,
          adminRoleArn: data.search.adminRole.roleArn,
          trustAdmin: (role) => data.search.trustAdmin(role),
        },
      });
    const requestCells = subjectRequestCells(config, index, naming, region.jurisdiction);
    if (data.aurora && requestCells.length > 0)
      new SubjectRequestMachine(this, 'SubjectRequestMachine', {
        stateMachineName: naming.subjectRequestMachine(region.id),
        region: region.id,
        jurisdiction: region.jurisdiction,
        cells: requestCells,
        deadlineDays:
          config.global.jurisdictions[region.jurisdiction]?.subjectRequests.deadlineDays ?? 30,
        functions,
        auditBucket: data.buckets.audit,
        alerts: alerts.topics.warning,
      });
    const aurora = data.aurora;
    const cell = placement.aurora?.jurisdiction;
    if (aurora && cell)
      this.writerKeeper = new WriterKeeper(this, 'WriterKeeper', {
        region: region.id,
        cell,
        lockTable: naming.failoverLockTable(cell),
        lockEndpoints: cellLockPlan(config, cell).endpoints[region.id] ?? [region.id],
        initialWriter: placement.aurora?.role === 'primary',
        aurora,
        signName: naming.writerFenceParameter(region.id),
        functions,
      });
    this.traffic = new RegionalTraffic(this, {
      region: region.id,
      names: routingNames(config.global, region),
      dns: config.global.dns,
      routing: config.global.routing,
      settings,
      functions,
      checks: data.healthTargets(
        region.id,
        naming.writerFenceParameter(region.id),
        placement.replicaCluster,
      ),
      dataBucket: data.buckets.data,
      syncQueue: data.syncQueues.inbound,
      alerts,
      lagAlarmName: naming.replicationLagAlarm(region.id),
    });
    this.operations = new RegionalOperations(this, {
      config,
      region,
      naming,
      runbook: failoverRunbookConfig(config, region, index, naming),
      locks: hostedLocks(config, naming, region.id),
      search: {
        adminRoleArn: data.search.adminRole.roleArn,
        trustAdmin: (role) => data.search.trustAdmin(role),
      },
      replicaCluster: placement.replicaCluster,
      functions,
      alerts,
      auditBucket: data.buckets.audit,
      replicatingBuckets: data.replicatingBuckets,
      syncQueues: this.sync && data.syncQueues,
      routing: this.traffic.routing,
      globalDashboard:
        region.id === globalDashboardRegion(config)
          ? globalDashboardRegions(config, index, naming, this.partition)
          : undefined,
    });
    this.foundation = base;
    this.data = data;
  }

  /** Fixed from regions/ so synth never asks AWS which zones exist. */
  override get availabilityZones(): string[] {
    return this.azs;
  }
}
