import {
  compareHomeWins,
  compareVersions,
  type ReplicaRow,
  resolve,
} from '../../lambda/shared/sync/conflict';
import type { ChangeEvent } from '../../lambda/shared/sync/events';
import { compareHlc, HlcClock } from '../../lambda/shared/sync/hlc';
import { change } from './events';

const T = 1_700_000_000_000;
const apply = (strategy: Parameters<typeof resolve>[0], events: ChangeEvent[]) =>
  events.reduce<ReplicaRow | undefined>(
    (row, e) => resolve(strategy, row, e).row ?? row,
    undefined,
  );

describe('total order', () => {
  const v = (wall: number, logical: number, region: string, eventId: string) => ({
    wall,
    logical,
    region,
    eventId,
  });
  test.each([
    ['later wall clock wins', v(T + 1, 0, 'a', 'a'), v(T, 9, 'z', 'z'), 1],
    ['same wall: higher logical wins', v(T, 2, 'a', 'a'), v(T, 1, 'z', 'z'), 1],
    ['same HLC: region id breaks the tie', v(T, 1, 'us-east-1', 'a'), v(T, 1, 'eu-west-1', 'z'), 1],
    ['same HLC and region: event id breaks the tie', v(T, 1, 'r', 'b'), v(T, 1, 'r', 'a'), 1],
    ['identical versions are equal', v(T, 1, 'r', 'a'), v(T, 1, 'r', 'a'), 0],
  ])('%s', (_n, a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(-expected || 0);
  });

  test('home-wins: a home-region version beats a later foreign one', () => {
    const home = v(T, 0, 'eu-west-1', 'a');
    const later = v(T + 5000, 0, 'us-east-1', 'b');
    expect(compareHomeWins('eu-west-1', home, later)).toBe(1);
    expect(compareHomeWins('us-east-1', home, later)).toBe(-1);
  });
});

describe('strategies', () => {
  const eu = (wall: number, payload: Record<string, unknown>, seed: string) =>
    change({ seed, hlc: { wall, logical: 0 }, originRegion: 'eu-west-1', payload });
  const us = (wall: number, payload: Record<string, unknown>, seed: string) =>
    change({ seed, hlc: { wall, logical: 0 }, originRegion: 'us-east-1', payload });

  test('lww: the later write wins in either arrival order; the loser is reported', () => {
    const a = eu(T, { name: 'A' }, 'a');
    const b = us(T + 1, { name: 'B' }, 'b');
    expect(apply('lww', [a, b])?.payload).toEqual({ name: 'B' });
    expect(apply('lww', [b, a])?.payload).toEqual({ name: 'B' });
    const r = resolve('lww', apply('lww', [b]), a);
    expect(r).toMatchObject({ conflict: true, loser: a });
    expect(r.row).toBeUndefined();
  });

  test('lww: an exact tie is broken by region, never by arrival', () => {
    const a = eu(T, { name: 'EU' }, 'a');
    const b = us(T, { name: 'US' }, 'b');
    expect(apply('lww', [a, b])?.payload).toEqual({ name: 'US' });
    expect(apply('lww', [b, a])?.payload).toEqual({ name: 'US' });
  });

  test('the same event twice changes nothing', () => {
    const a = eu(T, { name: 'A' }, 'a');
    const row = apply('lww', [a]);
    expect(resolve('lww', row, a)).toEqual({ conflict: false, review: false });
  });

  test('home-wins: the home region keeps its version against a later foreign write', () => {
    const home = eu(T, { dose: 5 }, 'a');
    const foreign = us(T + 60_000, { dose: 50 }, 'b');
    expect(apply('home-wins', [home, foreign])?.payload).toEqual({ dose: 5 });
    expect(apply('home-wins', [foreign, home])?.payload).toEqual({ dose: 5 });
  });

  test('field-merge: each field keeps its latest writer', () => {
    const a = eu(T, { name: 'Ada', email: 'a@x' }, 'a');
    const b = us(T + 1, { email: 'b@x' }, 'b');
    const c = eu(T + 2, { phone: '1' }, 'c');
    const expected = { name: 'Ada', email: 'b@x', phone: '1' };
    expect(apply('field-merge', [a, b, c])?.payload).toEqual(expected);
    expect(apply('field-merge', [c, b, a])?.payload).toEqual(expected);
    expect(apply('field-merge', [b, c, a])?.payload).toEqual(expected);
  });

  test('field-merge: a delete removes fields written before it, not after', () => {
    const a = eu(T, { name: 'Ada', email: 'a@x' }, 'a');
    const del = change({ seed: 'd', op: 'delete', payload: {}, hlc: { wall: T + 1, logical: 0 } });
    const b = us(T + 2, { email: 'b@x' }, 'b');
    for (const order of [
      [a, del, b],
      [b, del, a],
      [del, b, a],
    ])
      expect(apply('field-merge', order)).toMatchObject({
        payload: { email: 'b@x' },
        deleted: false,
      });
    // toMatchObject lets extra fields through: the field written before the delete is gone.
    for (const order of [
      [a, del, b],
      [del, b, a],
      [del, a],
    ])
      expect(Object.keys(apply('field-merge', order)?.payload ?? {})).not.toContain('name');
    expect(apply('field-merge', [a, del])).toMatchObject({ payload: {}, deleted: true });
  });

  test('a first write stores the event; a first delete stores an empty, deleted row', () => {
    const a = eu(T, { name: 'A' }, 'a');
    expect(resolve('lww', undefined, a)).toEqual({
      row: expect.objectContaining({ payload: { name: 'A' }, deleted: false }),
      conflict: false,
      review: false,
    });
    const del = change({
      seed: 'd',
      op: 'delete',
      payload: { name: 'A' },
      hlc: { wall: T, logical: 0 },
    });
    expect(resolve('lww', undefined, del).row).toMatchObject({ deleted: true });
    expect(resolve('lww', undefined, del).row?.payload).toEqual({});
  });

  test('lww and home-wins never ask for review, even on a conflict', () => {
    const row = apply('lww', [eu(T, { name: 'A' }, 'a')]);
    expect(resolve('lww', row, us(T + 1, { name: 'B' }, 'b'))).toMatchObject({
      conflict: true,
      review: false,
    });
    expect(resolve('home-wins', row, us(T + 1, { name: 'B' }, 'b')).review).toBe(false);
  });

  test('field-merge: a stale or repeated write changes nothing, and never asks for review', () => {
    const a = eu(T, { name: 'Ada' }, 'a');
    const b = us(T + 1, { name: 'Bea' }, 'b');
    const row = apply('field-merge', [b]);
    expect(resolve('field-merge', row, a)).toEqual({
      row: undefined,
      conflict: true,
      review: false,
    });
    expect(resolve('field-merge', row, b).row).toBeUndefined();
    const del = change({ seed: 'd', op: 'delete', payload: {}, hlc: { wall: T + 5, logical: 0 } });
    const older = change({
      seed: 'o',
      op: 'delete',
      payload: {},
      hlc: { wall: T + 3, logical: 0 },
    });
    const deleted = apply('field-merge', [b, del]);
    expect(resolve('field-merge', deleted, del).row).toBeUndefined();
    expect(resolve('field-merge', deleted, older).row).toBeUndefined();
    const newer = change({
      seed: 'n',
      op: 'delete',
      payload: {},
      hlc: { wall: T + 7, logical: 0 },
    });
    expect(resolve('field-merge', deleted, newer).row?.clocks?.$deleted?.wall).toBe(T + 7);
  });

  test('field-merge: the row version is its greatest field clock, whatever the arrival order', () => {
    const a = eu(T, { name: 'Ada' }, 'a');
    const b = us(T + 1, { email: 'b@x' }, 'b');
    const c = eu(T + 2, { phone: '1' }, 'c');
    for (const order of [
      [c, b, a],
      [a, c, b],
    ])
      expect(apply('field-merge', order)?.version.wall).toBe(T + 2);
  });

  test('field-merge over a row written under another strategy: its version stands for every field', () => {
    const row = apply('lww', [us(T + 1, { email: 'b@x' }, 'b')]);
    expect(row?.clocks).toBeUndefined();
    const merged = resolve('field-merge', row, eu(T, { email: 'a@x', name: 'Ada' }, 'a')).row;
    expect(merged?.payload).toEqual({ email: 'b@x', name: 'Ada' });
    expect(merged?.clocks?.email?.wall).toBe(T + 1);
  });

  test('manual: converges like lww and flags versions from different regions for review', () => {
    const a = eu(T, { limit: 1 }, 'a');
    const b = us(T + 1, { limit: 2 }, 'b');
    expect(apply('manual', [a, b])?.payload).toEqual({ limit: 2 });
    expect(resolve('manual', apply('manual', [a]), b)).toMatchObject({ review: true });
    // Same region, sequential writes: no review.
    expect(resolve('manual', apply('manual', [a]), eu(T + 1, { limit: 3 }, 'c'))).toMatchObject({
      review: false,
    });
  });
});

describe('hybrid logical clock', () => {
  test('ticks move forward even when the wall clock stands still or goes back', () => {
    let now = 1000;
    const clock = new HlcClock(() => now);
    const a = clock.tick();
    const b = clock.tick();
    now = 900;
    const c = clock.tick();
    expect([a, b, c]).toEqual([
      { wall: 1000, logical: 0 },
      { wall: 1000, logical: 1 },
      { wall: 1000, logical: 2 },
    ]);
  });

  test('receiving a remote timestamp orders later local writes after it', () => {
    const clock = new HlcClock(() => 1000);
    expect(clock.receive({ wall: 1500, logical: 4 })).toEqual({ wall: 1500, logical: 5 });
    expect(clock.tick()).toEqual({ wall: 1500, logical: 6 });
  });

  test('a remote clock far ahead is refused, saying by how much; up to the limit is accepted', () => {
    const clock = new HlcClock(() => 1000, 1000);
    expect(() => clock.receive({ wall: 5000, logical: 0 })).toThrow(
      'remote clock 5000 is 4000 ms ahead (max 1000)',
    );
    expect(clock.receive({ wall: 2000, logical: 0 })).toEqual({ wall: 2000, logical: 1 });
    expect(new HlcClock(() => 500, 1000).receive({ wall: 1400, logical: 0 }).wall).toBe(1400);
  });

  test('receive: the counter follows whichever clocks share the largest wall time', () => {
    const at = (pt: number, last: number, lastLogical: number) => {
      let now = last;
      const clock = new HlcClock(() => now);
      for (let i = 0; i <= lastLogical; i++) clock.tick();
      now = pt;
      return clock;
    };
    // local and remote at the same wall time, ahead of the physical clock: max of both + 1
    expect(at(500, 1000, 3).receive({ wall: 1000, logical: 1 })).toEqual({
      wall: 1000,
      logical: 4,
    });
    expect(at(500, 1000, 3).receive({ wall: 1000, logical: 7 })).toEqual({
      wall: 1000,
      logical: 8,
    });
    // local ahead of remote and of the physical clock: local + 1
    expect(at(500, 1000, 3).receive({ wall: 900, logical: 9 })).toEqual({ wall: 1000, logical: 4 });
    // remote ahead of local and of the physical clock: remote + 1, whatever the local counter
    expect(at(500, 1000, 3).receive({ wall: 1200, logical: 1 })).toEqual({
      wall: 1200,
      logical: 2,
    });
    // the physical clock ahead of both: it starts over at 0
    expect(at(2000, 1000, 3).receive({ wall: 1500, logical: 9 })).toEqual({
      wall: 2000,
      logical: 0,
    });
  });

  test('compareHlc: wall time first, then the counter', () => {
    expect(compareHlc({ wall: 1, logical: 9 }, { wall: 2, logical: 0 })).toBeLessThan(0);
    expect(compareHlc({ wall: 3, logical: 0 }, { wall: 2, logical: 9 })).toBeGreaterThan(0);
    expect(compareHlc({ wall: 2, logical: 1 }, { wall: 2, logical: 2 })).toBeLessThan(0);
    expect(compareHlc({ wall: 2, logical: 3 }, { wall: 2, logical: 2 })).toBeGreaterThan(0);
    expect(compareHlc({ wall: 2, logical: 2 }, { wall: 2, logical: 2 })).toBe(0);
  });
});
