import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeResidencyPlan } from '../../lambda/shared/residency-plan';
import { RESIDENCY_FIX, residencyPlanWidening } from '../../lib/config/load';
import { LIMIT_PER_FILE, oneLine } from '../../lib/config/problems';
import { LIMITS } from '../../lib/config/sources';
import { copyRegions, EIGHT_REGIONS, edit, load, problemsOf, write } from '../support/fixture';

/** Problem lines of `dir`, each checked to be one line, and all found within 5 s. */
function linesOf(dir: string, options: Parameters<typeof problemsOf>[1] = {}): string[] {
  const started = performance.now();
  const lines = problemsOf(dir, options);
  expect(performance.now() - started).toBeLessThan(5000);
  for (const line of lines) expect(oneLine(line)).toBe(line);
  return lines;
}

const REFUSED = `expected no change of the residency plan here: ${RESIDENCY_FIX}`;

/**
 * Refused in an overlay or a variable: global.dataClasses and global.jurisdictions (what each class
 * may do, each jurisdiction's rules) and a region's jurisdiction and residency (which cell it is in,
 * which countries): each changes the plan's edges or cells. tier, failoverPriority and capacity are
 * allowed: they order and size a cell (the staging overlay sets capacity) and move no data.
 */
describe('residency is decided by global.yaml and the region files only', () => {
  test('an overlay that moves a region and widens classes is refused field by field', () => {
    const dir = copyRegions();
    write(
      dir,
      'overlays/move.yaml',
      [
        'regions:',
        '  eu-west-1: {jurisdiction: us, failoverPriority: 3}',
        'global:',
        '  dataClasses: {phi: {scope: global}}',
        '  jurisdictions:',
        '    eu: {maskedExportTo: [us]}',
        '',
      ].join('\n'),
    );
    expect(linesOf(dir, { env: 'move' })).toEqual([
      `regions/overlays/move.yaml:2 regions.eu-west-1.jurisdiction: got "us"; ${REFUSED}`,
      `regions/overlays/move.yaml:4 global.dataClasses: got {"phi":{"scope":"global"}}; ${REFUSED}`,
      `regions/overlays/move.yaml:5 global.jurisdictions: got {"eu":{"maskedExportTo":["us"]}}; ${REFUSED}`,
    ]);
  });

  test('variables that widen a class or a jurisdiction, or set a whole region, are refused', () => {
    const dir = copyRegions();
    expect(
      linesOf(dir, {
        environ: {
          MERIDIAN__GLOBAL__DATA_CLASSES__PII__SCOPE: 'global',
          MERIDIAN__GLOBAL__JURISDICTIONS__EU__MASKED_EXPORT_TO: '[us, apac]',
          MERIDIAN__REGIONS__EU_WEST_1__RESIDENCY__COUNTRIES: '[US]',
        },
      }),
    ).toEqual([
      `env MERIDIAN__GLOBAL__DATA_CLASSES__PII__SCOPE global.dataClasses.pii.scope: got {"pii":{"scope":"global"}}; ${REFUSED}`,
      `env MERIDIAN__GLOBAL__JURISDICTIONS__EU__MASKED_EXPORT_TO global.jurisdictions.eu.maskedExportTo: got {"eu":{"maskedExportTo":["us","apac"]}}; ${REFUSED}`,
      `env MERIDIAN__REGIONS__EU_WEST_1__RESIDENCY__COUNTRIES regions.eu-west-1.residency.countries: got {"countries":["US"]}; ${REFUSED}`,
    ]);
  });

  test('variables that would declare a class not personal or add a transfer basis are refused', () => {
    const dir = copyRegions();
    expect(
      linesOf(dir, {
        environ: {
          MERIDIAN__GLOBAL__DATA_CLASSES__PII__PERSONAL_DATA: 'false',
          MERIDIAN__GLOBAL__JURISDICTIONS__US__TRANSFERS: '{eu: {basis: consent, reference: x}}',
        },
      }),
    ).toEqual([
      `env MERIDIAN__GLOBAL__DATA_CLASSES__PII__PERSONAL_DATA global.dataClasses.pii.personalData: got {"pii":{"personalData":false}}; ${REFUSED}`,
      `env MERIDIAN__GLOBAL__JURISDICTIONS__US__TRANSFERS global.jurisdictions.us.transfers: got {"us":{"transfers":{"eu":{"basis":"consent","reference":"x"}}}}; ${REFUSED}`,
    ]);
  });

  test('tier, failoverPriority and capacity may still change in an overlay; staging loads', () => {
    const dir = copyRegions();
    write(
      dir,
      'overlays/order.yaml',
      'regions:\n  eu-central-1: {tier: tertiary, failoverPriority: 9, capacity: 5}\n',
    );
    expect(linesOf(dir, { env: 'order' })).toEqual([]);
    expect(linesOf(dir, { env: 'staging' })).toEqual([]);
    // The fixture's staging overlay; test/example/ loads every overlay of your own regions/.
    expect(linesOf(EIGHT_REGIONS, { env: 'staging' })).toEqual([]);
  });

  test('any plan edge or cell member that layer 1 does not allow is reported by name', () => {
    const config = load(copyRegions());
    const base = config.plan;
    const wider = computeResidencyPlan({
      dataClasses: {
        ...config.global.dataClasses,
        pii: { maskedProjection: true, requiresEncryption: true, scope: 'global' },
      },
      jurisdictions: config.global.jurisdictions,
      regions: config.regions.map((r) => ({
        ...r,
        countries: r.residency.countries,
        jurisdiction: r.id === 'eu-central-1' ? 'us' : r.jurisdiction,
      })),
    });
    const found = residencyPlanWidening(base, wider).map((p) => p.value);
    expect(found).toContain('replication edge pii eu-west-1 → us-east-1 (full)');
    expect(found).toContain('eu-central-1 in the us cell');
    expect(residencyPlanWidening(base, base)).toEqual([]);
  });
});

describe('variable values are held to the limits of a file', () => {
  const bomb = `{a: &a [x,x,x,x,x,x,x,x,x,x,x], b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], c: [${Array(90).fill('*b').join(',')}]}`;
  test.each([
    ['MERIDIAN__GLOBAL__FOO', bomb, `at most ${LIMITS.aliases} alias expansions`],
    ['MERIDIAN__GLOBAL__FOO', '&a [*a]', 'an alias outside the node it names'],
    ['MERIDIAN__REGIONS__EU_WEST_1__SETTINGS', '&a {x: *a}', 'an alias outside the node it names'],
    ['MERIDIAN__GLOBAL__TAGS__X', '{__proto__: {a: 1}}', 'a key other than __proto__'],
  ])('%s=%s is one problem line naming the variable', (name, value, expected) => {
    const lines = linesOf(copyRegions(), { environ: { [name]: value } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^env ${name}\\b`));
    expect(lines[0]).toContain(expected);
  });
});

test('a small file that aliases expand into a huge one is one line, quickly', () => {
  const dir = copyRegions();
  const keys = Array.from({ length: 1000 }, (_, i) => `k${i}: 1`).join(', ');
  const js = Array.from({ length: 99 }, (_, i) => `  j${i}: *a`).join('\n');
  edit(dir, 'global.yaml', 'platform: meridian', `x-junk: &a {${keys}}\nplatform: meridian`);
  edit(dir, 'global.yaml', 'jurisdictions:', `jurisdictions:\n${js}`);
  expect(linesOf(dir)).toEqual([
    `regions/global.yaml: got "more than ${LIMITS.expanded} entries once aliases are expanded"; expected at most ${LIMITS.expanded} entries in all, counting each alias (*name) as a copy of what it names: write the entries out once, or fewer of them`,
  ]);
});

test(`at most ${LIMIT_PER_FILE} problems per file, then one line counting the rest`, () => {
  const dir = copyRegions();
  const junk = Array.from({ length: 50 }, (_, i) => `junk${i}: 1`).join('\n');
  edit(dir, 'eu-west-1.yaml', 'capacity: 100', `capacity: 100\n${junk}`);
  const lines = linesOf(dir);
  expect(lines).toHaveLength(LIMIT_PER_FILE + 1);
  expect(lines.at(-1)).toBe(
    `regions/eu-west-1.yaml: … and ${50 - LIMIT_PER_FILE} more problems in regions/eu-west-1.yaml`,
  );
});

describe('no control character reaches a problem line', () => {
  test('a key with an escape and a newline is printed escaped, on one line', () => {
    const dir = copyRegions();
    edit(
      dir,
      'eu-west-1.yaml',
      'capacity: 100',
      'capacity: 100\n"evil\\u001b[2J\\nregions/fake.yaml:1 ok\\u2028x\\u009b": 1',
    );
    const [line, ...rest] = linesOf(dir);
    expect(rest).toEqual([]);
    expect(line).toContain('evil\\u001b[2J\\u000aregions/fake.yaml:1 ok\\u2028x\\u009b');
  });

  test('a region file name and a variable name with escapes are printed escaped', () => {
    const dir = copyRegions();
    fs.copyFileSync(path.join(dir, 'eu-central-1.yaml'), path.join(dir, 'x\u001b[2J\nfake.yaml'));
    const lines = linesOf(dir, { environ: { 'MERIDIAN__\u001b]0;pwned\u0007': '1' } });
    expect(lines.some((l) => l.includes('x\\u001b[2J\\u000afake'))).toBe(true);
    expect(lines.some((l) => l.startsWith('env MERIDIAN__\\u001b]0;pwned\\u0007'))).toBe(true);
  });
});

test('a symbolic link in regions/ is refused without reading its target', () => {
  const dir = copyRegions();
  const secret = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-')), '.env');
  fs.writeFileSync(secret, 'DATABASE_URL=postgres://admin:hunter2@db\n');
  fs.symlinkSync(secret, path.join(dir, 'eu-south-1.yaml'));
  const lines = linesOf(dir);
  expect(lines).toContain(
    'regions/eu-south-1.yaml: got nothing; expected a regular file, not a symbolic link (it could read a file outside regions/): copy the file here instead of linking it',
  );
  expect(lines.join('\n')).not.toContain('hunter2');
});

describe('messages for variables and ids', () => {
  test('an id in a variable is taken as written, leading zero and all', () => {
    const config = load(copyRegions(), {
      environ: { MERIDIAN__REGIONS__EU_WEST_1__ACCOUNT: '011111111111' },
    });
    expect(config.regions.find((r) => r.id === 'eu-west-1')?.account).toBe('011111111111');
  });

  test('a number where text is expected in a variable gets a hint in shell quoting', () => {
    expect(
      linesOf(copyRegions(), { environ: { MERIDIAN__GLOBAL__CLOUDFLARE__HOLDING_ORIGIN: '0123' } }),
    ).toEqual([
      `env MERIDIAN__GLOBAL__CLOUDFLARE__HOLDING_ORIGIN global.cloudflare.holdingOrigin: got 123 (a YAML number in the variable; leading zeros are lost); expected a string: write MERIDIAN__GLOBAL__CLOUDFLARE__HOLDING_ORIGIN='"0123"'`,
    ]);
  });

  test('an id that quoting would not make valid is not suggested quoted', () => {
    const dir = copyRegions();
    edit(dir, 'global.yaml', 'account: "111111111111"', 'account: 0o17');
    expect(linesOf(dir)).toEqual([
      'regions/global.yaml:2 account: got 15 (a YAML number); expected a 12-digit string in quotes, e.g. account: "012345678901" (0o17 as written is not one)',
    ]);
  });

  test('segments are checked as written: PROTO and PRO_TO_TYPE are unknown fields, not refused', () => {
    const lines = linesOf(copyRegions(), {
      environ: { MERIDIAN__GLOBAL____PROTO__: '1', MERIDIAN__GLOBAL__TAGS__PRO_TO_TYPE: 'x' },
    });
    expect(lines.join('\n')).not.toContain('refused by name');
    expect(lines).toHaveLength(1); // proToType is a valid tag key; proto an unknown field
    expect(lines[0]).toMatch(
      /^env MERIDIAN__GLOBAL____PROTO__ global\.proto: got 1; expected no field named proto/,
    );
  });

  test('a region variable without a field is a problem, not ignored', () => {
    expect(
      linesOf(copyRegions(), { environ: { MERIDIAN__REGIONS__EU_WEST_1: 'garbage' } }),
    ).toEqual([
      'env MERIDIAN__REGIONS__EU_WEST_1: got "MERIDIAN__REGIONS__EU_WEST_1"; expected MERIDIAN__GLOBAL__<FIELD>[__<FIELD>...] or MERIDIAN__REGIONS__<REGION_ID>__<FIELD>[...]',
    ]);
  });
});
