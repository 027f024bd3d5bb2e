/**
 * (Drill, test and bench support: not deployed.)
 * The partition matrix: `npm run drill -- --matrix`. For every shipped cell of two or more regions,
 * the nodes that matter (the writer, the region that takes over, the writer's watchers, the lock's
 * replicas and witness) are split into two sides in every way (every side of at most half the
 * nodes); every single node is also cut off one way (its requests out time out, or requests to it
 * do); and every link between two nodes is cut, both ways and each way alone. Each cut is applied at four instants: with no failure at all, together with the writer's
 * failure, after the page, and in the middle of the runbook (as it fences the old region). Every
 * run executes the synthesized state machines in the drill world, starting the runbook of each
 * side whose majority alarm fires (failover.start: auto), and checks two properties:
 *
 * 1. at no modelled instant do two regions of the cell accept writes (split-brain 0), and no change
 *    is made by an execution that does not hold the lock with a live lease at that instant;
 * 2. when the writer has really failed and the cut leaves the region that takes over with a
 *    majority of the lock's live members and a majority of the writer's watchers (each with a
 *    majority of the lock's live members: their votes are read there), the cell fails over, and
 *    writes are accepted in the target within the goal (150 s). A lock replica in the failed
 *    writer's region is down with it: in the us and eu cells, the writer's failure together with
 *    a cut of the witness leaves no majority, so nothing fails over (safe, and unavailable: the
 *    README's failure table).
 *
 * 3. when the writer has not failed and a majority of its watchers still see it (and reach the
 *    lock), nothing fails over: one observer, or one cut path, never moves a live writer.
 *
 * What the matrix does not model: which regions accept writes is read from the world's model of
 * the writer (Aurora's writer role, the region-state record read strongly through the lock
 * endpoints; a writer that cannot read it stands down); the writer's own lease (issue 25 item 3)
 * does not exist yet.
 */
import type { MeridianConfig } from '../../config/load';
import { runnerRegion } from '../runner';
import { watchersOf } from '../watchers';
import { type SynthesizedRunbook, synthesizedRunbooks } from './run';
import { type Context, detect, execute, worldOf, writesAccepted } from './scenarios';
import type { DrillWorldOptions } from './world';

/** Writes accepted in the target within this many seconds of the failure (issue 25 acceptance). */
export const WRITES_ACCEPTED_GOAL_SECONDS = 150;

export const INSTANTS = ['no-failure', 'with-failure', 'after-page', 'mid-runbook'] as const;
export type Instant = (typeof INSTANTS)[number];

export type Cut =
  | { readonly kind: 'split'; readonly side: readonly string[]; readonly rest: readonly string[] }
  | { readonly kind: 'link'; readonly a: string; readonly b: string }
  | { readonly kind: 'one-way'; readonly from: readonly string[]; readonly to: readonly string[] };

export interface MatrixRun {
  readonly cell: string;
  readonly cut: string;
  readonly instant: Instant;
  readonly splitBrain: number;
  /** Changes made by an execution that did not hold the lock with a live lease. */
  readonly actionsWithoutToken: number;
  /** The writer fenced its own database (it lost or could not renew its lease). */
  readonly writerFenced: boolean;
  /** Outcomes of the executions started (by the side that started them). */
  readonly outcomes: Readonly<Record<string, string>>;
  /** Property 2 applies: the writer failed and the takeover side can act. */
  readonly mustFailOver: boolean;
  /** Property 3 applies: the writer is alive and a majority of its watchers still see it. */
  readonly mustNotFailOver: boolean;
  readonly writesAcceptedSeconds?: number;
  /** What went wrong, when a property does not hold. */
  readonly problem?: string;
}

export interface MatrixResult {
  readonly cells: readonly string[];
  readonly cuts: number;
  readonly runs: readonly MatrixRun[];
  readonly failures: readonly MatrixRun[];
}

export const describeCut = (c: Cut): string =>
  c.kind === 'split'
    ? `${c.side.join('+')} | ${c.rest.join('+')}`
    : c.kind === 'link'
      ? `${c.a} <-/-> ${c.b}`
      : `${c.from.join('+')} -/-> ${c.to.join('+')}`;

/**
 * Every split of `nodes` into two sides (each once); every one-way cut of a single node (its
 * requests out time out, or requests to it do); and every link between two nodes cut, both ways
 * and each way alone (the India case: the takeover region cut from the writer only).
 */
export function cutsOf(nodes: readonly string[]): Cut[] {
  const n = nodes.length;
  const splits: Cut[] = [];
  const seen = new Set<string>();
  for (let mask = 1; mask < 2 ** n - 1; mask++) {
    const side = nodes.filter((_, i) => mask & (2 ** i));
    const rest = nodes.filter((_, i) => !(mask & (2 ** i)));
    if (side.length > rest.length) continue;
    const key = [side.join('+'), rest.join('+')].sort().join('|');
    if (seen.has(key)) continue;
    seen.add(key);
    splits.push({ kind: 'split', side, rest });
  }
  const oneWay = nodes.flatMap((node): Cut[] => {
    const rest = nodes.filter((x) => x !== node);
    return [
      { kind: 'one-way', from: [node], to: rest },
      { kind: 'one-way', from: rest, to: [node] },
    ];
  });
  const links = nodes.flatMap((a, i) =>
    nodes.slice(i + 1).flatMap((b): Cut[] => [
      { kind: 'link', a, b },
      { kind: 'one-way', from: [a], to: [b] },
      { kind: 'one-way', from: [b], to: [a] },
    ]),
  );
  return [...splits, ...oneWay, ...links];
}

interface Cell {
  readonly jurisdiction: string;
  readonly writer: string;
  readonly peer: string;
  readonly nodes: readonly string[];
  readonly lockMembers: readonly string[];
  readonly watchers: readonly string[];
}

function cellsOf(config: MeridianConfig, runbook: (region: string) => SynthesizedRunbook): Cell[] {
  const byJurisdiction = new Map<string, string[]>();
  for (const r of [...config.regions].sort((a, b) => a.failoverPriority - b.failoverPriority))
    byJurisdiction.set(r.jurisdiction, [...(byJurisdiction.get(r.jurisdiction) ?? []), r.id]);
  return [...byJurisdiction]
    .filter(([, members]) => members.length > 1)
    .map(([jurisdiction, members]) => {
      const writer = members[0] as string;
      const peer = runnerRegion(config, writer);
      const lock = runbook(peer).config.lock;
      const lockMembers = [...lock.replicas, ...(lock.witness ? [lock.witness] : [])];
      const watchers = watchersOf(config, writer);
      const nodes = [...new Set([writer, peer, ...watchers, ...lockMembers])];
      return { jurisdiction, writer, peer, nodes, lockMembers, watchers };
    });
}

/** Whether `a` can still reach `b` once the cut is applied (down regions aside). */
function connected(cut: Cut, a: string, b: string): boolean {
  if (a === b) return true;
  if (cut.kind === 'split') return cut.side.includes(a) === cut.side.includes(b);
  if (cut.kind === 'link') return !((a === cut.a && b === cut.b) || (a === cut.b && b === cut.a));
  return !(cut.from.includes(a) && cut.to.includes(b));
}

/**
 * Property 3's precondition: the writer did not fail and reaches a majority of the lock's members
 * (so it keeps its lease: a writer that cannot fences itself and answers 503, which is no longer
 * "live"), and a majority of its watchers reach both it and a majority of the lock's members
 * (their "up" votes are counted).
 */
function writerSeen(cell: Cell, cut: Cut, instant: Instant): boolean {
  if (instant !== 'no-failure') return false;
  const majority = (n: number) => Math.floor(n / 2) + 1;
  const lockFrom = (x: string) =>
    cell.lockMembers.filter((m) => connected(cut, x, m)).length >=
    majority(cell.lockMembers.length);
  const seeing = cell.watchers.filter((w) => connected(cut, w, cell.writer) && lockFrom(w));
  return lockFrom(cell.writer) && seeing.length >= majority(cell.watchers.length);
}

/**
 * Property 2's precondition: the writer failed, and the takeover region reaches a majority of the
 * lock's members, and a majority of the writer's watchers reach the lock (their votes are read).
 */
function takeoverCanAct(cell: Cell, cut: Cut, instant: Instant): boolean {
  if (instant === 'no-failure') return false;
  // One-way cuts are checked for properties 1 and 3 only.
  if (cut.kind === 'one-way') return false;
  const majority = (n: number) => Math.floor(n / 2) + 1;
  // The failed writer is down: a lock replica there counts for no one.
  const lockFrom = (x: string) =>
    cell.lockMembers.filter((m) => m !== cell.writer && connected(cut, x, m)).length >=
    majority(cell.lockMembers.length);
  const voters = cell.watchers.filter((w) => w !== cell.writer && lockFrom(w));
  return lockFrom(cell.peer) && voters.length >= majority(cell.watchers.length);
}

async function runOne(
  ctx: Context,
  cell: Cell,
  cut: Cut,
  instant: Instant,
  settleMs: number,
  options: DrillWorldOptions,
): Promise<MatrixRun> {
  const world = worldOf({ ...ctx, writer: cell.writer, peer: cell.peer }, options);
  const apply = async () => {
    if (cut.kind === 'split') world.partition(cut.side, cut.rest);
    else if (cut.kind === 'link') world.partition([cut.a], [cut.b]);
    else world.cut(cut.from, cut.to);
  };
  try {
    const failedAt = world.now();
    if (instant !== 'no-failure') world.fail(cell.writer);
    if (instant === 'no-failure' || instant === 'with-failure') await apply();
    // Each side whose majority alarm fires starts its runbook (auto): the peer against the
    // writer, and the writer against the peer when the peer looks down to its own watchers.
    const rb = ctx.runbook(cell.peer);
    const spec = rb.alarms.get(`${rb.config.prefix}-${cell.writer}-critical-watchers`);
    const writerDown = detect(world, cell.writer, cell.peer, true, spec);
    if (instant === 'after-page') await apply();
    const runs: Promise<[string, string, number | undefined]>[] = [];
    if (writerDown.page !== undefined)
      runs.push(
        execute(
          ctx,
          world,
          cell.peer,
          { cell: cell.jurisdiction, failedRegion: cell.writer, mode: 'auto' },
          'from-peer',
          instant === 'mid-runbook' ? { before: { 'Fence old region': apply } } : {},
        ).then((r) => [
          'from-peer',
          r.status === 'SUCCEEDED' ? String(r.output?.outcome) : 'FAILED',
          undefined,
        ]),
      );
    else if (instant === 'mid-runbook') await apply();
    if (instant === 'no-failure' && world.untilWatchersSeeDown(cell.peer, 6) !== undefined)
      runs.push(
        execute(
          ctx,
          world,
          cell.writer,
          { cell: cell.jurisdiction, failedRegion: cell.peer, mode: 'auto' },
          'from-writer',
        ).then((r) => [
          'from-writer',
          r.status === 'SUCCEEDED' ? String(r.output?.outcome) : 'FAILED',
          undefined,
        ]),
      );
    const done = await Promise.all(runs);
    world.advance(settleMs);
    const outcomes = Object.fromEntries(done.map(([who, o]) => [who, o]));
    // The writer's clients writing again, through Route 53 as modelled, after the settling time.
    const writesAcceptedSeconds = done.some(([who]) => who === 'from-peer')
      ? writesAccepted(world, cell, failedAt).writesAcceptedSeconds
      : undefined;
    const mustFailOver = takeoverCanAct(cell, cut, instant);
    const mustNotFailOver = writerSeen(cell, cut, instant);
    const failedOver = world.calls.some((c) => c.startsWith('rds:Failover'));
    const problem =
      world.splitBrain > 0
        ? `split-brain: two regions accepted writes at ${world.splitBrain} modelled instant(s)`
        : world.actionsWithoutToken > 0
          ? `${world.actionsWithoutToken} change(s) made by an execution that did not hold the lock`
          : mustNotFailOver && failedOver
            ? 'a live writer that a majority of its watchers still see was failed over'
            : mustFailOver && outcomes['from-peer'] !== 'failed over'
              ? `no failover (${outcomes['from-peer'] ?? 'never started: no page'})`
              : mustFailOver &&
                  (writesAcceptedSeconds ?? Number.POSITIVE_INFINITY) > WRITES_ACCEPTED_GOAL_SECONDS
                ? `writes accepted after ${writesAcceptedSeconds} s (goal ${WRITES_ACCEPTED_GOAL_SECONDS} s)`
                : undefined;
    return {
      cell: cell.jurisdiction,
      cut: describeCut(cut),
      instant,
      splitBrain: world.splitBrain,
      actionsWithoutToken: world.actionsWithoutToken,
      writerFenced: world.fencedAt.has(cell.writer),
      outcomes,
      mustFailOver,
      mustNotFailOver,
      ...(writesAcceptedSeconds !== undefined ? { writesAcceptedSeconds } : {}),
      ...(problem ? { problem } : {}),
    };
  } finally {
    world.restore();
  }
}

/**
 * Runs the matrix over the cells of `config` (or the one of `o.region`), every cut at every instant,
 * or a seeded sample of `o.sample` runs on top of every single-node isolation.
 */
export async function runMatrix(
  config: MeridianConfig,
  o: {
    readonly region?: string;
    readonly load?: Context['load'];
    readonly runbooks?: Context['runbook'];
    readonly instants?: readonly Instant[];
    /** Which cuts to run (default: every one). */
    readonly only?: (cut: Cut) => boolean;
    readonly onRun?: (run: MatrixRun) => void;
    /** The world's options (the self-fence off, to show what it prevents). */
    readonly world?: DrillWorldOptions;
  } = {},
): Promise<MatrixResult> {
  const runbooks = o.runbooks ?? synthesizedRunbooks(config);
  const only = o.region && config.regions.find((r) => r.id === o.region)?.jurisdiction;
  const cells = cellsOf(config, (r) => runbooks(r)).filter((c) => !only || c.jurisdiction === only);
  const runs: MatrixRun[] = [];
  let cuts = 0;
  for (const cell of cells) {
    const ctx: Context = {
      config,
      runbook: runbooks,
      writer: cell.writer,
      peer: cell.peer,
      jurisdiction: cell.jurisdiction,
      ...(o.load ? { load: o.load } : {}),
    };
    const all = cutsOf(cell.nodes).filter((c) => o.only?.(c) ?? true);
    cuts += all.length;
    for (const cut of all)
      for (const instant of o.instants ?? INSTANTS) {
        const run = await runOne(ctx, cell, cut, instant, 120_000, o.world ?? {});
        runs.push(run);
        o.onRun?.(run);
      }
  }
  return {
    cells: cells.map((c) => c.jurisdiction),
    cuts,
    runs,
    failures: runs.filter((r) => r.problem !== undefined),
  };
}
