/**
 * Hybrid logical clocks (Kulkarni et al.): wall-clock milliseconds plus a logical counter, so
 * versions written in different regions get timestamps that respect causality and stay close to
 * real time even when clocks drift. Every change carries one.
 */
export interface Hlc {
  /** Milliseconds since the epoch (the largest physical time seen). */
  readonly wall: number;
  /** Counter within one millisecond. */
  readonly logical: number;
}

export const compareHlc = (a: Hlc, b: Hlc): number => a.wall - b.wall || a.logical - b.logical;

/** How far ahead of the receiver's clock a remote timestamp may be, by default (ms). */
export const MAX_DRIFT_MS = 60_000;

/** Whether `remote` is further ahead of `now` than `maxMs`: a broken clock that must not win. */
export const tooFarAhead = (remote: Hlc, now: number, maxMs: number): boolean =>
  remote.wall - now > maxMs;

/** A clock for one writer; `now` is injectable for tests. */
export class HlcClock {
  private last: Hlc = { wall: 0, logical: 0 };

  constructor(
    private readonly now: () => number = Date.now,
    /** Remote timestamps further ahead than this are refused (a broken clock must not win). */
    private readonly maxDriftMs = MAX_DRIFT_MS,
  ) {}

  /** Timestamp for a local write or send. */
  tick(): Hlc {
    const pt = this.now();
    this.last =
      pt > this.last.wall
        ? { wall: pt, logical: 0 }
        : { wall: this.last.wall, logical: this.last.logical + 1 };
    return this.last;
  }

  /** Merges a received timestamp, so later local writes order after it. */
  receive(remote: Hlc): Hlc {
    const pt = this.now();
    if (tooFarAhead(remote, pt, this.maxDriftMs))
      throw new Error(
        `remote clock ${remote.wall} is ${remote.wall - pt} ms ahead (max ${this.maxDriftMs})`,
      );
    const wall = Math.max(pt, this.last.wall, remote.wall);
    const logical =
      wall === this.last.wall && wall === remote.wall
        ? Math.max(this.last.logical, remote.logical) + 1
        : wall === this.last.wall
          ? this.last.logical + 1
          : wall === remote.wall
            ? remote.logical + 1
            : 0;
    this.last = { wall, logical };
    return this.last;
  }
}
