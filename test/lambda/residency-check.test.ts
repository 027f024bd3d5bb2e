import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkRecords,
  InvalidRequestError,
  parseCheckRequest,
} from '../../lambda/residency-check/check';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { loadResidencyIndex, PlanFileError } from '../../lambda/shared/residency-plan-file';
import { EIGHT_REGIONS, load } from '../support/fixture';

const plan = load(EIGHT_REGIONS).plan;
const index = new ResidencyIndex(plan);

function planFile(content: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plan-')), 'residency-plan.json');
  fs.writeFileSync(file, content);
  return file;
}

describe('residency-check logic', () => {
  test('decides each record, with the record’s own home region when it has one', () => {
    const res = checkRecords(index, {
      from: 'eu-west-1',
      to: 'us-east-1',
      records: [
        { id: 'a', dataClass: 'public' },
        { id: 'b', dataClass: 'pii' },
        // apac → us rests on consent: only a record whose subject consented goes.
        { id: 'c', dataClass: 'pii', from: 'ap-southeast-1', consent: true },
        { id: 'd', dataClass: 'pii', from: 'ap-southeast-1' },
      ],
    });
    expect(res).toMatchObject({ to: 'us-east-1', allowed: 2, denied: 2 });
    expect(res.results.map((r) => [r.id, r.allowed, r.allowed ? r.mode : 'denied'])).toEqual([
      ['a', true, 'full'],
      ['b', false, 'denied'],
      ['c', true, 'masked'],
      ['d', false, 'denied'],
    ]);
  });

  test.each([
    [
      null,
      'from: expected a region id string; to: expected a region id string; records: expected an array',
    ],
    [
      { from: 'eu-west-1', to: 'us-east-1', records: [{ id: 1 }] },
      'records[0].id: expected a string; records[0].dataClass: expected a string',
    ],
    [
      {
        from: 'eu-west-1',
        to: 'us-east-1',
        records: [{ id: 'x', dataClass: 'pii', consent: 'yes' }],
      },
      'records[0].consent: expected true or false',
    ],
  ])('rejects a malformed request with every fault: %j', (event, message) => {
    expect(() => parseCheckRequest(event)).toThrow(new InvalidRequestError(message));
  });
});

describe('residency-check handler', () => {
  const original = process.env.MERIDIAN_RESIDENCY_PLAN_FILE;
  afterEach(() => {
    process.env.MERIDIAN_RESIDENCY_PLAN_FILE = original;
  });

  test('loads the plan file of its layer once and answers from it', async () => {
    process.env.MERIDIAN_RESIDENCY_PLAN_FILE = planFile(JSON.stringify(plan));
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const { handler } = await import('../../lambda/residency-check/index');
      const res = await handler({
        from: 'eu-west-1',
        to: 'eu-central-1',
        records: [{ id: 'x', dataClass: 'phi' }],
      });
      expect(res).toMatchObject({
        allowed: 1,
        denied: 0,
        results: [{ id: 'x', allowed: true, mode: 'full' }],
      });
      const logged = write.mock.calls
        .map((c) => String(c[0]))
        .find((l) => l.includes('residency check'));
      expect(JSON.parse(logged ?? '{}')).toMatchObject({
        from: 'eu-west-1',
        to: 'eu-central-1',
        allowed: 1,
        denied: 0,
      });
    } finally {
      write.mockRestore();
    }
  });

  test.each([
    [
      'missing',
      '/nonexistent/plan.json',
      /cannot read the residency plan \/nonexistent\/plan.json: ENOENT/,
    ],
    ['not JSON', planFile('{'), /cannot read the residency plan .*: .*JSON/],
    [
      'wrong version',
      planFile('{"version":2}'),
      /is not a version 1 residency plan \(got version 2\)/,
    ],
  ])('a %s plan file fails the cold start with a clear error', (_n, file, message) => {
    expect(() => loadResidencyIndex(file)).toThrow(PlanFileError);
    expect(() => loadResidencyIndex(file)).toThrow(message);
  });
});
