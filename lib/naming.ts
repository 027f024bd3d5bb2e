/**
 * Every physical name Meridian gives a resource, in one place. Names carry platform, env and region
 * (or jurisdiction) so they never collide, and are derived from regions/ so any region can name
 * another region's resources without a cross-region reference. The residency guard parses names
 * back with the same rules.
 */
import * as crypto from 'node:crypto';

/** `Meridian-<env>-<region>`: a region's stack name and construct id. */
export function regionalStackName(env: string, region: string): string {
  return `Meridian-${env}-${region}`;
}

/** `ap-southeast-1` → `apse1`: keeps domain names within OpenSearch's 28 characters. */
export function compactRegion(region: string): string {
  const [area = '', direction = '', n = ''] = region.split('-');
  const dir = direction
    .replace('north', 'n')
    .replace('south', 's')
    .replace('east', 'e')
    .replace('west', 'w')
    .replace('central', 'c');
  return `${area}${dir}${n}`;
}

/**
 * `<platform>-<env>-<compact region>`, e.g. `meridian-prod-euw1`. OpenSearch allows 28 characters;
 * a longer name keeps its region and gets a stable hash of the full name instead of its tail.
 */
export function searchDomainName(platform: string, env: string, region: string): string {
  const name = `${platform}-${env}-${compactRegion(region)}`;
  if (name.length <= 28) return name;
  const hash = crypto.createHash('sha256').update(name).digest('hex').slice(0, 6);
  const tail = `-${hash}-${compactRegion(region)}`;
  return `${name.slice(0, 28 - tail.length)}${tail}`;
}

export type BucketPurpose = 'data' | 'audit' | 'access-logs';

/** Names of one platform and environment. */
export class Naming {
  private readonly bucketPattern: RegExp;

  constructor(
    readonly platform: string,
    readonly env: string,
  ) {
    this.bucketPattern = new RegExp(
      `${platform}-${env}-([a-z]+(?:-[a-z]+)+-\\d+)-(data|audit|access-logs)-\\d{12}`,
    );
  }

  /** Alias of every region's customer key (the same name in each region). */
  get keyAlias(): string {
    return `${this.platform}-${this.env}`;
  }

  /** A region's own resource ids: Aurora cluster, cache replication group. */
  region(region: string): string {
    return `${this.platform}-${this.env}-${region}`;
  }

  /** A jurisdiction cell's shared resources: Aurora global cluster, cache datastore suffix. */
  cell(jurisdiction: string): string {
    return `${this.platform}-${this.env}-${jurisdiction}`;
  }

  /** `<platform>-<env>-<region>-<purpose>-<account>`: globally unique bucket names. */
  bucket(region: string, purpose: BucketPurpose, account: string): string {
    return `${this.platform}-${this.env}-${region}-${purpose}-${account}`;
  }

  /** The region and purpose of a Meridian bucket named (or referenced) in `text`. */
  parseBucket(text: string): { region: string; purpose: BucketPurpose } | undefined {
    const m = this.bucketPattern.exec(text);
    return m ? { region: m[1] as string, purpose: m[2] as BucketPurpose } : undefined;
  }

  searchDomain(region: string): string {
    return searchDomainName(this.platform, this.env, region);
  }

  /**
   * The cell's runbook lock table (lib/failover/lock-plan.ts: MRSC or one lock home). Named
   * `-runbook-lock` since the lock left the eventually consistent `-failover-lock` global table,
   * whose consistency mode cannot change in place (the old table is retained: delete it after
   * the upgrade).
   */
  failoverLockTable(jurisdiction: string): string {
    return `${this.cell(jurisdiction)}-runbook-lock`;
  }

  /**
   * A cell's pseudonymisation key (created in the plan primary's region, replicated to the cell's
   * others only): one key per cell, so a pseudonym is the same whichever region is the writer.
   */
  pseudonymKey(jurisdiction: string): string {
    return `${this.cell(jurisdiction)}-pseudonym-key`;
  }

  /**
   * The Glue database over a region's audit bucket (`meridian_prod_eu_west_1_audit`: Athena
   * wants lower-case letters, digits and underscores).
   */
  auditDatabase(region: string): string {
    return `${this.region(region)}-audit`.replace(/[^a-z0-9]/g, '_');
  }

  /** A region's part of a data-subject request (lambda/dsr-region), invoked by name. */
  subjectRequestFunction(region: string): string {
    return `${this.region(region)}-subject-request`;
  }

  /** The state machine that runs a data-subject request of the region's jurisdiction from it. */
  subjectRequestMachine(region: string): string {
    return `${this.region(region)}-subject-requests`;
  }

  /** The Athena workgroup a reviewer queries a region's lineage in. */
  lineageWorkgroup(region: string): string {
    return `${this.region(region)}-lineage`;
  }

  /** A region's sync inbound FIFO queue. */
  syncInboundQueue(region: string): string {
    return `${this.region(region)}-sync-inbound.fifo`;
  }

  /** A region's sync dead-letter FIFO queue (also where dispatch parks records). */
  syncDeadLetterQueue(region: string): string {
    return `${this.region(region)}-sync-dead-letter.fifo`;
  }

  /**
   * `<platform>-<env>-<region>-critical-`: every critical alarm *about* a region starts so, in
   * whichever region it lives (its own, or the region that watches it). The runbook's Verify step
   * lists alarms by this prefix: an alarm named otherwise is not a failure signal.
   */
  criticalAlarmPrefix(region: string): string {
    return `${this.region(region)}-critical-`;
  }

  /** A critical alarm about `region` (`signal`: what it watches, e.g. `endpoint`, `checkers`). */
  criticalAlarm(region: string, signal: string): string {
    return `${this.criticalAlarmPrefix(region)}${signal}`;
  }

  /** The alarm on a secondary's Aurora replication lag (the compliance report reads it as RPO). */
  replicationLagAlarm(region: string): string {
    return this.criticalAlarm(region, 'replication-lag');
  }

  /**
   * The composite "region down" alarm about `region`, in the region that would take over from it
   * (it pages, and may start the runbook). Not under the critical prefix: it is a verdict drawn
   * from the critical alarms, not one more signal.
   */
  regionDownAlarm(region: string): string {
    return `${this.region(region)}-region-down`;
  }

  /**
   * The warning that the watch of `region` (in the region that would take over from it) has
   * published no endpoint datapoint for minutes: while it is silent, the region-down alarm cannot
   * fire. Not under the critical prefix: it says nothing about `region` itself.
   */
  watchSilentAlarm(region: string): string {
    return `${this.region(region)}-watch-silent`;
  }

  /** The failover runbook's state machine in `region`. */
  runbook(region: string): string {
    return `${this.region(region)}-failover`;
  }

  /**
   * The writer keeper's sign in `region` (an SSM parameter, `open` or `fenced`), which its health
   * endpoint reads (lambda/shared/failover/writer-keeper.ts).
   */
  writerFenceParameter(region: string): string {
    return `/${this.platform}-${this.env}/${region}/writer-fence`;
  }

  /**
   * The runbook's search step in `region`: named, because a failback run from another region of
   * the cell invokes it there (its domain answers only inside its own VPC).
   */
  searchStep(region: string): string {
    return `${this.region(region)}-repoint-search`;
  }

  /** A region's Cloudflare load-balancer pool (the edge's, and what the runbook disables). */
  edgePool(region: string): string {
    return this.region(region);
  }

  /** The Cloudflare pool of the holding page (`cloudflare.fallback: holding`). */
  get holdingPool(): string {
    return `${this.keyAlias}-holding`;
  }

  /** The failback state machine in `region`. */
  failback(region: string): string {
    return `${this.region(region)}-failback`;
  }

  /**
   * A cell's Aurora master secret (in its writer's region, replicated to the cell's others). Not
   * `-` + six characters at the end: Secrets Manager would read a partial ARN of it as a full one.
   */
  auroraSecret(jurisdiction: string): string {
    return `${this.cell(jurisdiction)}-aurora-credentials`;
  }

  /** The all-regions dashboard. */
  get globalDashboard(): string {
    return `${this.keyAlias}-global`;
  }
}
