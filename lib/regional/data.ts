import * as backup from 'aws-cdk-lib/aws-backup';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { RegionalCache } from '../cache/regional-cache';
import type { Settings } from '../config/schema';
import { AuroraGlobal } from '../data/aurora-global';
import type { RegionalBackup } from '../data/regional-backup';
import type { FunctionDefaults } from '../functions/function-defaults';
import type { Naming } from '../naming';
import { CrossClusterReplication } from '../search/cross-cluster-replication';
import { RegionalSearch } from '../search/regional-search';
import { RegionalBuckets } from '../storage/regional-buckets';
import { SyncQueues } from '../sync/sync-queues';
import type { HealthTargets, Placement } from './derivations';

export interface RegionalDataProps {
  readonly naming: Naming;
  /** Memberships and routes of the region, from the residency plan. */
  readonly placement: Placement;
  /** The VPC's range: the data stores accept connections from it only. */
  readonly cidr: string;
  readonly settings: Pick<
    Settings,
    'data' | 'cache' | 'search' | 'storage' | 'replication' | 'network' | 'observability' | 'sync'
  >;
  /** The region's function defaults (VPC and key too). */
  readonly functions: FunctionDefaults;
  /** The vault the Aurora cluster is backed up to. */
  readonly backup: RegionalBackup;
}

/**
 * The region's data: its Aurora member, cache, search domain (and what it follows), buckets and
 * sync queues, each placed by the residency plan. Builds into `scope` itself (no construct of its
 * own), so the stateful resources kept the construct paths, and so the logical ids, they had.
 */
export class RegionalData {
  /** This region's member of its cell's Aurora global database, if the plan allows one. */
  readonly aurora?: AuroraGlobal;
  /** A member of its cell's Global Datastore where AWS supports one. */
  readonly cache: RegionalCache;
  readonly search: RegionalSearch;
  /** Cross-cluster replication into this region's domain, where the plan allows any. */
  readonly searchReplication?: CrossClusterReplication;
  /** Data, audit and access-log buckets. */
  readonly buckets: RegionalBuckets;
  /** The sync inbound FIFO queue and its dead-letter queue. */
  readonly syncQueues: SyncQueues;

  constructor(scope: Construct, props: RegionalDataProps) {
    const { naming, placement: p, functions } = props;
    const s = props.settings;
    const own = naming.region(p.region);
    const logRetentionDays = s.observability.logRetentionDays;
    const network = { vpc: functions.vpc, vpcCidr: props.cidr, key: functions.key };
    if (p.aurora) {
      this.aurora = new AuroraGlobal(scope, 'Aurora', {
        ...network,
        role: p.aurora.role,
        globalClusterIdentifier: naming.cell(p.aurora.jurisdiction),
        clusterIdentifier: own,
        engineVersion: s.data.auroraEngineVersion,
        minAcu: s.data.auroraMinAcu,
        maxAcu: s.data.auroraMaxAcu,
        readers: s.data.auroraReaders,
        backupRetentionDays: s.replication.backupRetentionDays,
        logRetentionDays,
        secretName: naming.auroraSecret(p.aurora.jurisdiction),
        // The cell's other regions (same jurisdiction): the promoted one needs the credentials.
        secretReplicaRegions: p.jurisdictionPeers,
        keyAlias: naming.keyAlias,
      });
      props.backup.add('Aurora', [
        backup.BackupResource.fromRdsDatabaseCluster(this.aurora.cluster),
      ]);
    }
    this.cache = new RegionalCache(scope, 'Cache', {
      ...network,
      replicationGroupId: own,
      membership: p.cache,
      engine: s.cache.engine,
      engineVersion: s.cache.engineVersion,
      nodeType: s.cache.nodeType,
      replicas: s.cache.replicas,
      snapshotRetentionDays: s.cache.snapshotRetentionDays,
      logRetentionDays,
    });
    this.search = new RegionalSearch(scope, 'Search', {
      ...network,
      domainName: naming.searchDomain(p.region),
      maxAzs: s.network.maxAzs,
      dataNodes: s.search.dataNodes,
      dataNodeType: s.search.dataNodeType,
      masterNodes: s.search.masterNodes,
      masterNodeType: s.search.masterNodeType,
      volumeGb: s.search.volumeGb,
      logRetentionDays,
      followers: p.searchFollowers,
    });
    if (p.searchLeaders.length > 0)
      this.searchReplication = followLeaders(scope, this.search, naming, p, functions);
    this.buckets = new RegionalBuckets(scope, 'Buckets', {
      naming,
      key: functions.key,
      dataRoutes: p.objectRoutes,
      auditTargets: p.auditTargets,
      transitionToIaDays: s.storage.transitionToIaDays,
      transitionToGlacierDays: s.storage.transitionToGlacierDays,
      expireNoncurrentDays: s.storage.expireNoncurrentDays,
      auditRetentionDays: s.replication.auditRetentionDays,
      replicationTimeControl: s.replication.s3ReplicationTimeControl,
      accessLogRetentionDays: logRetentionDays,
    });
    this.syncQueues = new SyncQueues(scope, 'SyncQueues', {
      key: functions.key,
      inboundQueueName: naming.syncInboundQueue(p.region),
      deadLetterQueueName: naming.syncDeadLetterQueue(p.region),
      maxReceiveCount: s.sync.maxAttempts,
    });
  }

  /** `host:port` of the cache primary. */
  get cacheEndpoint(): string {
    const group = this.cache.replicationGroup;
    return `${group.attrPrimaryEndPointAddress}:${group.attrPrimaryEndPointPort}`;
  }

  /** Names of the buckets that replicate (the dashboard shows their replication). */
  get replicatingBuckets(): string[] {
    return [this.buckets.data, this.buckets.audit]
      .filter((b) => (b.node.defaultChild as s3.CfnBucket).replicationConfiguration)
      .map((b) => b.bucketName);
  }

  /** What the health endpoint checks here (`fenceParameter`: Naming.writerFenceParameter). */
  healthTargets(region: string, fenceParameter: string, replicaCluster?: string): HealthTargets {
    const cluster = this.aurora?.cluster;
    return {
      region,
      cacheEndpoint: this.cacheEndpoint,
      bucket: this.buckets.data.bucketName,
      syncQueueUrl: this.syncQueues.inbound.queueUrl,
      aurora: cluster && {
        writer: cluster.clusterEndpoint.socketAddress,
        reader: cluster.clusterReadEndpoint.socketAddress,
        fenceParameter,
      },
      replicaCluster,
    };
  }
}

/** The custom resources (and their provider) that make this region's domain follow its leaders. */
function followLeaders(
  scope: Construct,
  search: RegionalSearch,
  naming: Naming,
  p: Placement,
  functions: FunctionDefaults,
): CrossClusterReplication {
  return new CrossClusterReplication(scope, 'SearchReplication', {
    search,
    followerDomainName: naming.searchDomain(p.region),
    routes: p.searchLeaders,
    leaderDomainName: (r) => naming.searchDomain(r),
    functions,
  });
}
