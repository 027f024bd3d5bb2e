/**
 * What `npm run dsr` prints for a data-subject request: the request (ids and entity references;
 * the erasure's clock), its deadline from `jurisdictions.<j>.subjectRequests`, and one
 * `aws lambda invoke` of the dsr-region function: an access request in one region per cell the
 * plan let the subject's records reach (Aurora and S3 replication give it the cell's copies), an
 * erasure in every region of those cells (each region's bucket holds its own versions, and
 * replication carries no version deletion) — the home cell first, so nothing is sent from it
 * again while the others erase.
 */
import {
  type DsrAction,
  type EntityRef,
  personalClasses,
  reachOf,
  type SubjectRequest,
  SubjectRequestError,
} from '../../lambda/shared/dsr/subject';
import { startCommand } from '../../lambda/shared/failover/start';
import type { ResidencyIndex } from '../../lambda/shared/residency-plan';
import type { MeridianConfig } from '../config/load';
import { stateMachineArn } from '../failover/failover-runbook';
import { accountOf, placeholderAccountWarning } from '../failover/runner';
import { Naming } from '../naming';

/** The largest logical counter of an HLC (a Postgres integer): the last moment of a millisecond. */
const MAX_LOGICAL = 2_147_483_647;

export interface DsrPlan {
  readonly request: SubjectRequest;
  readonly deadline: Date;
  readonly deadlineDays: number;
  readonly reference: string;
  /** One region per cell (its plan primary), home cell first. */
  readonly steps: readonly {
    readonly cell: string;
    readonly region: string;
    readonly others: readonly string[];
  }[];
}

/**
 * The cells a subject of `jurisdiction` can have records in, by the plan: those holding a region
 * its *personal* classes may reach (a subject's records are of the classes that identify someone),
 * home first, then by jurisdiction. The same at synth (the subject-request machine) and in
 * `npm run dsr`.
 */
export function dsrCells(
  index: ResidencyIndex,
  jurisdiction: string,
): { readonly cell: string; readonly primary: string; readonly regions: readonly string[] }[] {
  const reach = new Set(reachOf(index, jurisdiction, personalClasses(index)));
  return index.plan.cells
    .filter((c) => c.regions.some((r) => reach.has(r)))
    .sort((a, b) =>
      a.jurisdiction === jurisdiction
        ? -1
        : b.jurisdiction === jurisdiction
          ? 1
          : a.jurisdiction.localeCompare(b.jurisdiction),
    )
    .map((c) => ({ cell: c.jurisdiction, primary: c.primary, regions: c.regions }));
}

export function dsrPlan(
  config: MeridianConfig,
  index: ResidencyIndex,
  o: {
    action: DsrAction;
    jurisdiction: string;
    entities: readonly EntityRef[];
    requestId: string;
    now: Date;
    /** rectify: when the corrected version was written; every version before it goes. */
    correctedAt?: Date;
  },
): DsrPlan {
  const j = config.global.jurisdictions[o.jurisdiction];
  if (!j)
    throw new SubjectRequestError(
      `--jurisdiction: ${o.jurisdiction} is not a jurisdiction of regions/`,
    );
  const cells = dsrCells(index, o.jurisdiction);
  if (o.action === 'rectify') {
    const t = o.correctedAt?.getTime() ?? Number.NaN;
    if (Number.isNaN(t))
      throw new SubjectRequestError(
        '--corrected-at: a rectification needs the time the corrected version was written (ISO 8601)',
      );
    if (t > o.now.getTime())
      throw new SubjectRequestError(
        '--corrected-at: in the future; write the correction first, then give the time it was written',
      );
  }
  // Everything written at or before this clock goes (erase: now; rectify: just before the correction).
  const at =
    o.action === 'rectify' && o.correctedAt
      ? { wall: o.correctedAt.getTime() - 1, logical: MAX_LOGICAL }
      : { wall: o.now.getTime(), logical: 0 };
  const days = j.subjectRequests.deadlineDays;
  return {
    request: {
      requestId: o.requestId,
      action: o.action,
      jurisdiction: o.jurisdiction,
      entities: o.entities,
      at,
    },
    deadline: new Date(o.now.getTime() + days * 86_400_000),
    deadlineDays: days,
    reference: j.subjectRequests.reference,
    steps: cells.map((c) => ({
      cell: c.cell,
      region: c.primary,
      others: c.regions.filter((r) => r !== c.primary),
    })),
  };
}

/**
 * The script: comments, the payload file, the command that starts the jurisdiction's state machine
 * in its home cell's primary region (execution named by the request id, so the same request
 * cannot be started twice by mistake), and the same steps by hand, one invoke per region, for when
 * Step Functions is not an option.
 */
export function dsrScript(config: MeridianConfig, p: DsrPlan): string {
  const naming = new Naming(config.global.platform, config.env);
  const id = p.request.requestId;
  const file = `dsr-${id}.json`;
  const payload = JSON.stringify(
    { request: p.request, deadline: p.deadline.toISOString() },
    null,
    2,
  );
  const [home] = p.steps;
  const from = home?.region ?? '';
  const machine = naming.subjectRequestMachine(from);
  const account = accountOf(config, from);
  const arn = stateMachineArn('aws', from, account, machine);
  const execution = `arn:aws:states:${from}:${account}:execution:${machine}:${id}`;
  const warning = placeholderAccountWarning(config, from, 'state machine');
  return [
    `# ${{ erase: 'Erasure', access: 'Access', rectify: 'Rectification' }[p.request.action]} request ${id} (jurisdiction ${p.request.jurisdiction}), ${p.request.entities.length} entit${p.request.entities.length === 1 ? 'y' : 'ies'}`,
    `# Due by ${p.deadline.toISOString().slice(0, 10)}: ${p.deadlineDays} days (${p.reference})`,
    '# Where the plan let the records go, by cell, home first:',
    ...p.steps.map(
      (s) => `#   ${s.cell}: ${s.region}${s.others.length ? ` (also ${s.others.join(', ')})` : ''}`,
    ),
    ...(p.request.action === 'access'
      ? ["# One region per cell: Aurora and S3 replication give it the cell's copies."]
      : [
          `# Every region: each ${p.request.action === 'erase' ? 'erases' : 'removes the superseded versions of'} its own objects and cache; the cell's writer (whichever region it is now)`,
          '# does the tables and Aurora carries that to the others. Each cell needs a record saying "database": "writer".',
        ]),
    ...(p.request.action === 'rectify'
      ? [
          `# Every version written before ${new Date(p.request.at.wall + 1).toISOString()} goes (history, sent log, review, outbox, old object`,
          '# versions) and cannot come back; the corrected version, written through the application, stays and travels as usual.',
        ]
      : []),
    '# Each region leaves a completion record (counts, no value) under dsr/ in its audit bucket;',
    ...(p.request.action === 'access'
      ? [
          "# the copies it found go to dsr-exports/<entity hash>/<request id>/<region>.json in the region's data bucket (30 days).",
        ]
      : ['# its tombstones keep late messages, replays and redrives from bringing anything back.']),
    `cat > ${file} <<'JSON'`,
    payload,
    'JSON',
    `# Start it: the ${p.request.jurisdiction} state machine in ${from} runs every region's part, home cell first, retries a`,
    `# region that does not answer (about 5 hours), and keeps the request record under dsr/requests/ in ${from}'s audit`,
    '# bucket; it fails "SubjectRequestIncomplete", with an alert naming each gap, if anything is left to do.',
    `# Every region of ${p.request.jurisdiction} has the same machine (its own name and --region). To run it again, use another --name.`,
    ...(warning ? [warning] : []),
    startCommand(from, arn, id, `file://${file}`),
    `aws stepfunctions describe-execution --region ${from} --execution-arn ${execution}`,
    '# Or by hand, what the machine does, region by region in this order:',
    ...p.steps
      .flatMap((s) => (p.request.action === 'access' ? [s.region] : [s.region, ...s.others]))
      .map(
        (r) =>
          `aws lambda invoke --region ${r} --function-name ${naming.subjectRequestFunction(r)} --cli-binary-format raw-in-base64-out --payload file://${file} dsr-${id}-${r}.out.json`,
      ),
    '',
  ].join('\n');
}
