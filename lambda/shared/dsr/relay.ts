/**
 * The subject-request state machine's one function (lambda/dsr-relay), in the region the machine
 * runs from. Step Functions invokes Lambda only in its own region, so each region's part reaches
 * that region's subject-request function through here (`region`), and the run ends with one
 * request-level record that says, per cell, which regions acted, which one was the writer, and
 * what is missing (`summary`). Both check their input as if hostile, reach only the regions this
 * machine was built for (the plan's reach of its jurisdiction, at synth) and carry no personal
 * value into what they return or write.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { datePath } from '../date-path';
import type { CompletionRecord } from './region-run';
import { parseSubjectRequest, type SubjectRequest, SubjectRequestError } from './subject';

/** One cell the machine reaches, home first: its regions with their subject-request functions. */
export interface RelayCell {
  readonly cell: string;
  readonly regions: readonly { readonly region: string; readonly functionName: string }[];
}

export interface RelayConfig {
  /** The jurisdiction whose requests this machine takes (another's reach is not this one's). */
  readonly jurisdiction: string;
  /** The region the machine runs in (its request records go to this region's audit bucket). */
  readonly region: string;
  readonly cells: readonly RelayCell[];
  readonly auditBucket: string;
}

/** A region did not answer (network, throttling, Lambda service error): the machine retries. */
export class RegionUnreachable extends Error {
  override readonly name = 'RegionUnreachable';
}

/** A region's function failed (its database, its bucket): the machine retries. */
export class RegionFailed extends Error {
  override readonly name = 'RegionFailed';
}

/** The request itself is bad (a region's function said so, or this one did): no retry. */
export class SubjectRequestRejected extends Error {
  override readonly name = 'SubjectRequestRejected';
}

/** What a region's step hands on: its completion record's facts, no value, no entity key. */
export interface RegionOutcome {
  readonly region: string;
  readonly outcome: CompletionRecord['outcome'] | 'unreachable';
  readonly database?: CompletionRecord['database'];
  readonly onTime?: boolean;
  /** s3:// URI of the region's completion record. */
  readonly completion?: string;
  /** access: how many export objects the region wrote (one per entity). */
  readonly exports?: number;
  /** unreachable: the error's name after the retries ran out. */
  readonly error?: string;
  /** rectify: entities whose corrected version has not reached the region yet. */
  readonly awaiting?: number;
  /** rectify: current objects older than the correction (not rewritten by the application). */
  readonly notRewritten?: number;
}

export interface RegionStep {
  readonly step: 'region';
  /** Tried in order until one answers (access: any region of a cell; erasure: one region). */
  readonly regions: readonly string[];
  readonly request: unknown;
  readonly deadline: unknown;
}

export interface SummaryStep {
  readonly step: 'summary';
  readonly request: unknown;
  readonly deadline: unknown;
  /** Per cell, what its regions' steps returned (arrays: the Parallel of each cell). */
  readonly results: unknown;
}

/** The request-level evidence record (`dsr/requests/<yyyy>/<mm>/<dd>/<request id>.json`). */
export interface RequestRecord {
  readonly v: 1;
  readonly requestId: string;
  readonly action: SubjectRequest['action'];
  readonly jurisdiction: string;
  readonly runFrom: string;
  readonly at: string;
  readonly deadline: string;
  readonly onTime: boolean;
  readonly entities: number;
  readonly cells: readonly {
    readonly cell: string;
    /** The region that acted as the cell's writer (erasure of the tables), if any did. */
    readonly writer?: string;
    readonly regions: readonly RegionOutcome[];
  }[];
  /** What keeps the request from being complete, one line each (empty: complete). */
  readonly gaps: readonly string[];
  readonly outcome: 'complete' | 'incomplete';
}

export interface RelayDeps {
  readonly config: RelayConfig;
  readonly lambda: (region: string) => LambdaClient;
  readonly s3: S3Client;
  readonly now?: () => Date;
}

function checked(raw: unknown, deadline: unknown, jurisdiction: string) {
  let request: SubjectRequest;
  try {
    request = parseSubjectRequest(raw);
  } catch (err) {
    throw new SubjectRequestRejected((err as Error).message);
  }
  if (request.jurisdiction !== jurisdiction)
    throw new SubjectRequestRejected(
      `jurisdiction: this machine takes ${jurisdiction} requests (start the one of the subject's jurisdiction)`,
    );
  const due = new Date(typeof deadline === 'string' ? deadline : Number.NaN);
  if (Number.isNaN(due.getTime()))
    throw new SubjectRequestRejected('deadline: expected an ISO 8601 date');
  return { request, deadline: due };
}

const functionOf = (config: RelayConfig, region: string) =>
  config.cells.flatMap((c) => c.regions).find((r) => r.region === region)?.functionName;

/** Invokes the subject-request function of each of `regions` in turn until one answers. */
export async function runRegionStep(deps: RelayDeps, input: RegionStep): Promise<RegionOutcome> {
  const { request, deadline } = checked(input.request, input.deadline, deps.config.jurisdiction);
  const regions = Array.isArray(input.regions) ? input.regions : [];
  if (
    regions.length === 0 ||
    !regions.every((r) => typeof r === 'string' && functionOf(deps.config, r))
  )
    throw new SubjectRequestRejected(
      'regions: expected regions this machine reaches (the plan of its jurisdiction, at synth)',
    );
  const payload = new TextEncoder().encode(
    JSON.stringify({ request, deadline: deadline.toISOString() }),
  );
  const missed: string[] = [];
  let answered = false;
  for (const region of regions) {
    const FunctionName = functionOf(deps.config, region) as string;
    let out: { Payload?: Uint8Array; FunctionError?: string };
    try {
      out = await deps.lambda(region).send(new InvokeCommand({ FunctionName, Payload: payload }));
    } catch (err) {
      missed.push(`${region}: ${(err as Error).name}`);
      continue;
    }
    answered = true;
    const body = JSON.parse(new TextDecoder().decode(out.Payload ?? new Uint8Array())) as {
      errorType?: string;
      record?: CompletionRecord;
      completion?: string;
      exports?: readonly string[];
    };
    if (out.FunctionError) {
      // The function's error type names the fault; its message is not kept.
      if (body.errorType === SubjectRequestError.name)
        throw new SubjectRequestRejected(`${region}: the region's function refused the request`);
      missed.push(`${region}: ${body.errorType ?? out.FunctionError}`);
      continue;
    }
    const record = body.record;
    if (!record || record.requestId !== request.requestId || record.region !== region)
      throw new RegionFailed(`${region}: the answer is not this request's completion record`);
    return {
      region,
      outcome: record.outcome,
      database: record.database,
      onTime: record.onTime,
      ...(body.completion ? { completion: body.completion } : {}),
      ...(body.exports ? { exports: body.exports.length } : {}),
      ...(record.corrected ? { awaiting: record.corrected.awaiting } : {}),
      ...(record.objects?.notRewritten !== undefined
        ? { notRewritten: record.objects.notRewritten }
        : {}),
    };
  }
  // No region answered (network, throttling, Lambda itself), or their functions failed.
  throw answered ? new RegionFailed(missed.join('; ')) : new RegionUnreachable(missed.join('; '));
}

const OUTCOMES = new Set(['done', 'incomplete', 'unreachable']);

/**
 * The key of a cell's results in the machine's state (`$.results.<key>`): its id with `-` as `_`,
 * since a JSONPath reference path names a field by letters, digits and `_`.
 */
export const resultKey = (cell: string): string => cell.replace(/-/g, '_');

/** Reads a cell's step results as if hostile: only this cell's regions, known outcomes. */
function outcomesOf(cell: RelayCell, raw: unknown): RegionOutcome[] {
  const items = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return items.map((x) => {
    const o = (x ?? {}) as Record<string, unknown>;
    if (
      !cell.regions.some((r) => r.region === o.region) ||
      !OUTCOMES.has(String(o.outcome)) ||
      (o.database !== undefined && o.database !== 'writer' && o.database !== 'reader')
    )
      throw new SubjectRequestRejected(
        `results.${cell.cell}: expected region outcomes of cell ${cell.cell}`,
      );
    return {
      region: String(o.region),
      outcome: o.outcome as RegionOutcome['outcome'],
      ...(o.database ? { database: o.database as 'writer' | 'reader' } : {}),
      ...(typeof o.onTime === 'boolean' ? { onTime: o.onTime } : {}),
      ...(typeof o.completion === 'string' ? { completion: o.completion } : {}),
      ...(typeof o.exports === 'number' ? { exports: o.exports } : {}),
      ...(typeof o.error === 'string' ? { error: o.error.slice(0, 100) } : {}),
      ...(Number.isSafeInteger(o.awaiting) ? { awaiting: o.awaiting as number } : {}),
      ...(Number.isSafeInteger(o.notRewritten) ? { notRewritten: o.notRewritten as number } : {}),
    };
  });
}

/**
 * The request-level record: per cell, what each region did and which was the writer, and every
 * gap. An erasure or a rectification is complete when every region of every reached cell acted on
 * its own (objects, cache) and one region of each cell acted on the tables as its writer (and, for
 * a rectification, the corrected version is everywhere and no current object predates it); an
 * access request when one region of each cell answered.
 */
export function summarize(
  config: RelayConfig,
  input: SummaryStep,
  now: Date = new Date(),
): RequestRecord {
  const { request, deadline } = checked(input.request, input.deadline, config.jurisdiction);
  const results = (input.results ?? {}) as Record<string, unknown>;
  const gaps: string[] = [];
  const cells = config.cells.map((cell) => {
    const regions = outcomesOf(cell, results[resultKey(cell.cell)]);
    const writer = regions.find((r) => r.database === 'writer' && r.outcome === 'done')?.region;
    if (!regions.some((r) => r.outcome === 'done'))
      gaps.push(`cell ${cell.cell}: no region of it answered`);
    for (const r of regions) {
      if (r.outcome === 'unreachable')
        gaps.push(`${r.region}: not reached after the retries (${r.error ?? 'no answer'})`);
      if (r.outcome === 'incomplete')
        gaps.push(`${r.region}: incomplete, copies remain (its completion record counts them)`);
    }
    for (const r of regions) {
      if ((r.awaiting ?? 0) > 0)
        gaps.push(
          `${r.region}: the corrected version of ${r.awaiting} entit${r.awaiting === 1 ? 'y has' : 'ies have'} not arrived yet (sync): run the request again later`,
        );
      if ((r.notRewritten ?? 0) > 0)
        gaps.push(
          `${r.region}: ${r.notRewritten} current object(s) older than the correction: the application has not rewritten them`,
        );
    }
    if (request.action !== 'access') {
      for (const { region } of cell.regions)
        if (!regions.some((r) => r.region === region)) gaps.push(`${region}: no step ran there`);
      if (!writer && regions.some((r) => r.outcome === 'done'))
        gaps.push(
          `cell ${cell.cell}: no region answered as its writer, so its tables are not erased (a failover under way?): run the request again once the cell has one`,
        );
    }
    return { cell: cell.cell, ...(writer ? { writer } : {}), regions };
  });
  const late = cells.some((c) => c.regions.some((r) => r.onTime === false)) || now > deadline;
  return {
    v: 1,
    requestId: request.requestId,
    action: request.action,
    jurisdiction: request.jurisdiction,
    runFrom: config.region,
    at: now.toISOString(),
    deadline: deadline.toISOString(),
    onTime: !late,
    entities: request.entities.length,
    cells,
    gaps: [...new Set(gaps)],
    outcome: gaps.length === 0 ? 'complete' : 'incomplete',
  };
}

/** `dsr/requests/<yyyy>/<mm>/<dd>/<request id>.json` in the audit bucket of the machine's region. */
export function requestRecordKey(requestId: string, at: Date): string {
  return `dsr/requests/${datePath(at)}/${requestId}.json`;
}

/** The summary step: the record, kept in the Object Lock audit bucket, and handed on. */
export async function runSummaryStep(
  deps: RelayDeps,
  input: SummaryStep,
): Promise<RequestRecord & { readonly record: string }> {
  const summary = summarize(deps.config, input, deps.now?.() ?? new Date());
  const key = requestRecordKey(summary.requestId, new Date(summary.at));
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: deps.config.auditBucket,
      Key: key,
      Body: JSON.stringify(summary),
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  return { ...summary, record: `s3://${deps.config.auditBucket}/${key}` };
}

/** The relay's one entry: `step` says which part. */
export async function relay(deps: RelayDeps, event: unknown) {
  const step = (event as { step?: unknown } | null)?.step;
  if (step === 'region') return runRegionStep(deps, event as RegionStep);
  if (step === 'summary') return runSummaryStep(deps, event as SummaryStep);
  throw new SubjectRequestRejected('step: expected region or summary');
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The machine's cells from its environment (JSON), or undefined when they are not that shape. */
export function parseRelayCells(raw: string): RelayCell[] | undefined {
  try {
    const v = JSON.parse(raw) as unknown;
    const ok =
      Array.isArray(v) &&
      v.length > 0 &&
      v.every(
        (c) =>
          c &&
          typeof c.cell === 'string' &&
          Array.isArray(c.regions) &&
          c.regions.length > 0 &&
          c.regions.every(
            (r: { region?: unknown; functionName?: unknown }) =>
              typeof r?.region === 'string' &&
              typeof r.functionName === 'string' &&
              NAME.test(r.functionName),
          ),
      );
    return ok ? (v as RelayCell[]) : undefined;
  } catch {
    return undefined;
  }
}
