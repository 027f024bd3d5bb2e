import * as fs from 'node:fs';
import * as path from 'node:path';
import { LIMITS, rawObject } from '../../lib/config/sources';
import { copyRegions, edit, load, problemsOf, write } from '../support/fixture';

/**
 * Files written by someone careless or hostile: each ends in problem lines (file:line field: got …;
 * expected …), never a stack trace, a hang or a change outside the loader. The bound tells a hang
 * from slowness on a loaded machine: the syntax-error file takes ~1.4 s alone here and took 5.5 s
 * once with the whole suite on two cores, so it is 15 s, not the 5 s it was.
 */
const SECONDS = 15;
const ALIAS_BOMB = path.join(__dirname, '..', 'fixtures', 'hostile', 'alias-bomb.yaml');

/** The problem lines of loading `dir`, checked to be single lines and quick. */
function linesOf(dir: string, environ: NodeJS.ProcessEnv = {}): string[] {
  const started = performance.now();
  const lines = problemsOf(dir, { environ });
  expect((performance.now() - started) / 1000).toBeLessThan(SECONDS);
  for (const line of lines) {
    expect(line).toMatch(/^(regions\/\S+|env MERIDIAN__\S+)[ :]/);
    expect(line).not.toMatch(/\n|\bat .+:\d+:\d+/);
  }
  return lines;
}

const PROTO_REFUSED =
  'expected a key other than __proto__, constructor or prototype: __proto__ is refused by name, since it could change how every object of the loader behaves';

describe('hostile regions/ files', () => {
  afterEach(() => {
    // Nothing a file says may reach Object.prototype.
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_KEYS);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

  test('a YAML alias bomb ("billion laughs") is one line naming the file and the limit', () => {
    const dir = copyRegions();
    fs.appendFileSync(path.join(dir, 'us-east-1.yaml'), fs.readFileSync(ALIAS_BOMB));
    expect(linesOf(dir)).toEqual([
      `regions/us-east-1.yaml: got nothing; expected at most ${LIMITS.aliases} alias expansions (Excessive alias count indicates a resource exhaustion attack)`,
    ]);
  });

  test('an alias inside the node it names (a loop) is refused, not followed', () => {
    const dir = copyRegions();
    edit(dir, 'us-east-1.yaml', 'capacity: 100', 'capacity: 100\nloop: &x {again: *x}');
    expect(linesOf(dir)).toEqual([
      'regions/us-east-1.yaml:6 loop.again: got "*x"; expected an alias outside the node it names (it would contain itself)',
    ]);
  });

  test('__proto__ is refused by name and pollutes nothing (was: 115 false lines)', () => {
    const dir = copyRegions();
    edit(
      dir,
      'us-east-1.yaml',
      'capacity: 100',
      'capacity: 100\n__proto__:\n  polluted: yes\n  tier: 7',
    );
    edit(
      dir,
      'global.yaml',
      'platform: meridian',
      'platform: meridian\ntags: {__proto__: {polluted: yes}}',
    );
    expect(linesOf(dir)).toEqual([
      `regions/global.yaml:2 tags.__proto__: got "__proto__"; ${PROTO_REFUSED}`,
      `regions/us-east-1.yaml:6 __proto__: got "__proto__"; ${PROTO_REFUSED}`,
    ]);
  });

  test('the loader builds objects without a prototype (a second wall behind the refused keys)', () => {
    const o = rawObject();
    expect(Object.getPrototypeOf(o)).toBeNull();
    // What a naive merge of a parsed `__proto__:` key does: with `{}` it would swap the prototype.
    Object.assign(o, JSON.parse('{"__proto__": {"polluted": "yes"}}'));
    expect(Object.keys(o)).toEqual(['__proto__']);
  });

  test('constructor and prototype keys, files and environment paths are refused too', () => {
    const dir = copyRegions();
    edit(dir, 'eu-west-1.yaml', 'capacity: 100', 'capacity: 100\nsettings:\n  constructor: {x: 1}');
    edit(dir, 'global.yaml', 'platform: meridian', 'platform: meridian\ntags: {prototype: x}');
    write(dir, 'constructor.yaml', 'id: constructor\n');
    const refused = (key: string) => PROTO_REFUSED.replace(/: __proto__ is/, `: ${key} is`);
    expect(
      linesOf(dir, {
        MERIDIAN__REGIONS__US_EAST_1__CONSTRUCTOR__POLLUTED: 'yes',
        MERIDIAN__GLOBAL____PROTO____POLLUTED: 'yes',
      }),
    ).toEqual([
      // Segments are checked as written: PROTO is not __proto__, just an unknown field (proto).
      'env MERIDIAN__GLOBAL____PROTO____POLLUTED global.proto.polluted: got {"polluted":"yes"}; expected no field named proto here: remove it or fix its spelling (fields: platform, account, dns, tags, routing, cloudflare, alerts, dataClasses, jurisdictions, defaults)',
      `env MERIDIAN__REGIONS__US_EAST_1__CONSTRUCTOR__POLLUTED regions.us-east-1: got "CONSTRUCTOR"; ${refused('CONSTRUCTOR')}`,
      `regions/constructor.yaml: got "constructor"; ${refused('constructor')}`,
      `regions/eu-west-1.yaml:7 settings.constructor: got "constructor"; ${refused('constructor')}`,
      `regions/global.yaml:2 tags.prototype: got "prototype"; ${refused('prototype')}`,
    ]);
  });

  test('a value named like an Object.prototype member is no jurisdiction', () => {
    const dir = copyRegions();
    edit(dir, 'us-east-1.yaml', 'jurisdiction: us', 'jurisdiction: constructor');
    expect(linesOf(dir)).toContain(
      'regions/us-east-1.yaml:2 jurisdiction: got "constructor"; expected a jurisdiction defined in regions/global.yaml (eu, us)',
    );
  });

  test('200,000 tags: one line about the file size, at once (was: a hang)', () => {
    const dir = copyRegions();
    const tags = Array.from({ length: 200_000 }, (_, i) => `  t${i}: v`).join('\n');
    edit(dir, 'global.yaml', 'platform: meridian', `platform: meridian\ntags:\n${tags}`);
    const size = fs.statSync(path.join(dir, 'global.yaml')).size;
    expect(linesOf(dir)).toEqual([
      `regions/global.yaml: got nothing; expected a file of at most ${LIMITS.fileBytes} bytes (it has ${size}; split it or remove repeats)`,
    ]);
  });

  test('20,000 tags within the size: one line about the map size (was: 10.5 s, quadratic)', () => {
    const dir = copyRegions();
    const tags = Array.from({ length: 20_000 }, (_, i) => `t${i}: v`).join(', ');
    edit(dir, 'global.yaml', 'platform: meridian', `platform: meridian\ntags: {${tags}}`);
    expect(linesOf(dir)).toEqual([
      `regions/global.yaml:2 tags: got "20000 entries"; expected at most ${LIMITS.items} entries in one map or list`,
    ]);
  });

  test('a huge single string: beyond the file size one line, within it shown shortened', () => {
    const big = copyRegions();
    edit(big, 'us-east-1.yaml', 'tier: primary', `tier: ${'x'.repeat(300_000)}`);
    expect(linesOf(big)).toEqual([
      expect.stringMatching(
        /^regions\/us-east-1\.yaml: got nothing; expected a file of at most 262144 bytes/,
      ),
    ]);
    const long = copyRegions();
    edit(long, 'us-east-1.yaml', 'tier: primary', `tier: ${'x'.repeat(200_000)}`);
    expect(linesOf(long)).toEqual([
      `regions/us-east-1.yaml:3 tier: got "${'x'.repeat(76)}...; expected one of primary, secondary, tertiary`,
    ]);
  });

  test('deep nesting is refused before the parser recurses', () => {
    const flow = copyRegions();
    edit(
      flow,
      'us-east-1.yaml',
      'capacity: 100',
      `capacity: 100\ndeep: ${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    );
    expect(linesOf(flow)).toEqual([
      `regions/us-east-1.yaml:6: got "${LIMITS.depth + 1}+ levels"; expected maps and lists nested at most ${LIMITS.depth} deep`,
    ]);
    const block = copyRegions();
    const lines = Array.from({ length: 40 }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n');
    edit(block, 'us-east-1.yaml', 'capacity: 100', `capacity: 100\n${lines} end`);
    expect(linesOf(block)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^regions/us-east-1\\.yaml:\\d+ k0(\\.k\\d+)+: got "${LIMITS.depth + 1} levels"; expected maps and lists nested at most ${LIMITS.depth} deep$`,
        ),
      ),
    ]);
  });

  test('a directory, a binary file and an empty file are one line each', () => {
    const dir = copyRegions();
    fs.mkdirSync(path.join(dir, 'eu-north-1.yaml'));
    fs.writeFileSync(
      path.join(dir, 'eu-south-1.yaml'),
      Buffer.from([0x69, 0x64, 0x3a, 0x20, 0xff, 0xfe, 0x00]),
    );
    write(dir, 'eu-south-2.yaml', 'id: eu-south-2\0\n');
    write(dir, 'eu-west-2.yaml', '');
    write(dir, 'eu-west-3.yaml', '# nothing yet\n');
    expect(linesOf(dir)).toEqual([
      'regions/eu-north-1.yaml: got nothing; expected a YAML file (this is not a regular file)',
      'regions/eu-south-1.yaml: got nothing; expected UTF-8 text (this file is binary)',
      'regions/eu-south-2.yaml: got nothing; expected UTF-8 text (this file is binary)',
      'regions/eu-west-2.yaml: got nothing; expected a YAML map describing one region (the file is empty)',
      'regions/eu-west-3.yaml: got nothing; expected a YAML map describing one region (the file is empty)',
    ]);
  });

  test('a repeated key is named with both lines; a map as a key is refused', () => {
    const dir = copyRegions();
    edit(dir, 'us-east-1.yaml', 'capacity: 100', 'capacity: 100\ncapacity: 200');
    expect(linesOf(dir)).toEqual([
      'regions/us-east-1.yaml:6 capacity: got "capacity"; expected each key once per map (capacity is also on line 5)',
    ]);
    const keyed = copyRegions();
    edit(keyed, 'us-east-1.yaml', 'capacity: 100', 'capacity: 100\n? {a: 1}\n: x');
    expect(linesOf(keyed)).toEqual([
      'regions/us-east-1.yaml:6: got nothing; expected a plain text key (not a map or list as a key)',
    ]);
  });
});

describe('AWS tag limits on global.tags', () => {
  const withTags = (tags: string) => {
    const dir = copyRegions();
    edit(dir, 'global.yaml', 'platform: meridian', `platform: meridian\ntags:\n${tags}`);
    return dir;
  };
  const many = (n: number) => Array.from({ length: n }, (_, i) => `  team${i}: core`).join('\n');

  test('43 tags fit (50 per resource less Meridian’s 7); 44 do not', () => {
    expect(load(withTags(many(43))).global.tags).toHaveProperty('team42', 'core');
    expect(linesOf(withTags(many(44)))).toEqual([
      'regions/global.yaml:2 tags: got "44 tags"; expected at most 43 tags: AWS allows 50 per resource and Meridian adds 7 meridian:* tags of its own',
    ]);
  });

  test('keys and values within AWS’s lengths and characters, no reserved prefix', () => {
    const lines = linesOf(
      withTags(
        [
          '  "aws:owner": x',
          '  "meridian:env": x',
          `  ${'k'.repeat(129)}: x`,
          '  "cost#centre": x',
          `  long: ${'v'.repeat(257)}`,
          '  origin: "aws:made"',
          '  "Cost Centre": "Bâtiment 7 / étage 2 + @team=x.y_z-1"',
        ].join('\n'),
      ),
    );
    const key =
      'expected a tag key of 1-128 letters, digits, spaces and _ . : / = + - @, not starting with aws: (AWS reserves it) or meridian: (Meridian sets those)';
    const value =
      'expected a tag value of at most 256 letters, digits, spaces and _ . : / = + - @, not starting with aws: (AWS reserves it)';
    expect(lines).toEqual([
      `regions/global.yaml:3 tags.aws:owner: got "aws:owner"; ${key}`,
      `regions/global.yaml:4 tags.meridian:env: got "meridian:env"; ${key}`,
      `regions/global.yaml:5 tags.${'k'.repeat(129)}: got "${'k'.repeat(76)}...; ${key}`,
      `regions/global.yaml:6 tags.cost#centre: got "cost#centre"; ${key}`,
      `regions/global.yaml:7 tags.long: got "${'v'.repeat(76)}...; ${value}`,
      `regions/global.yaml:8 tags.origin: got "aws:made"; ${value}`,
    ]);
  });
});

describe('one run reports every problem', () => {
  test('rule problems of a file that fails its schema, and of other files, come with it', () => {
    const dir = copyRegions();
    edit(dir, 'us-east-1.yaml', 'capacity: 100', 'capacity: lots');
    edit(dir, 'us-east-1.yaml', 'cidr: 10.10.0.0/16', 'cidr: 10.20.0.0/16');
    edit(dir, 'eu-central-1.yaml', 'failoverPriority: 2', 'failoverPriority: 1');
    edit(dir, 'global.yaml', 'platform: meridian', 'platform: Meridian!');
    edit(
      dir,
      'global.yaml',
      'hostname: app.example.com',
      'hostname: app.example.com\n  fallback: mars-1',
    );
    expect(linesOf(dir)).toEqual([
      'regions/eu-west-1.yaml:4 failoverPriority: got 1; expected a priority not used by eu-central-1, also in jurisdiction eu',
      'regions/eu-west-1.yaml:6 cidr: got "10.20.0.0/16"; expected a CIDR that does not overlap us-east-1 (10.20.0.0/16); every region needs its own range',
      'regions/global.yaml:1 platform: got "Meridian!"; expected 2-16 lower-case letters/digits, starting with a letter',
      'regions/global.yaml:40 cloudflare.fallback: got "mars-1"; expected holding, or a region id (eu-central-1, eu-west-1, us-east-1)',
      'regions/us-east-1.yaml:5 capacity: got "lots"; expected a number',
      'regions/us-east-1.yaml:6 cidr: got "10.20.0.0/16"; expected a CIDR that does not overlap eu-west-1 (10.20.0.0/16); every region needs its own range',
    ]);
  });

  test('a field that failed causes no knock-on problem elsewhere', () => {
    const dir = copyRegions();
    // The only primary of us fails its schema: no "us has no primary" line.
    edit(dir, 'us-east-1.yaml', 'tier: primary', 'tier: main');
    // A jurisdiction that failed: a failover target pointing there is not "missing".
    edit(dir, 'eu-central-1.yaml', 'jurisdiction: eu', 'jurisdiction: [eu]');
    edit(dir, 'eu-west-1.yaml', 'capacity: 100', 'capacity: 100\nfailoverTo: [eu-central-1]');
    expect(linesOf(dir)).toEqual([
      'regions/eu-central-1.yaml:2 jurisdiction: got ["eu"]; expected a string',
      'regions/us-east-1.yaml:3 tier: got "main"; expected one of primary, secondary, tertiary',
    ]);
  });
});

describe('YAML that is not what it seems', () => {
  test.each([
    [
      'global account',
      'global.yaml',
      'account: "111111111111"',
      'account: 012345678901',
      'regions/global.yaml:2 account: got 12345678901 (a YAML number; leading zeros are lost); expected a 12-digit string: write account: "012345678901"',
    ],
    [
      'region account',
      'us-east-1.yaml',
      'capacity: 100',
      'capacity: 100\naccount: 000000000042',
      'regions/us-east-1.yaml:6 account: got 42 (a YAML number; leading zeros are lost); expected a 12-digit string: write account: "000000000042"',
    ],
    [
      'Cloudflare account id of digits only',
      'global.yaml',
      'accountId: 0123456789abcdef0123456789abcdef',
      'accountId: 01234567890123456789012345678901',
      'regions/global.yaml:37 cloudflare.accountId: got 1.2345678901234568e+30 (a YAML number; leading zeros are lost); expected a string of 32 hex characters: write accountId: "01234567890123456789012345678901"',
    ],
    [
      'a number where any text is expected',
      'global.yaml',
      'name: US',
      'name: 1e3',
      'regions/global.yaml:30 jurisdictions.us.name: got 1000 (a YAML number); expected a string: write name: "1e3"',
    ],
  ])('%s read as a number gets a "quote it" hint', (_name, file, from, to, expected) => {
    const dir = copyRegions();
    edit(dir, file, from, to);
    expect(linesOf(dir)).toEqual([expected]);
  });

  test.each([
    [
      'an unclosed [',
      'capacity: [100',
      'regions/us-east-1.yaml:5: got "capacity: [100"; expected valid YAML (Flow sequence in block collection must be sufficiently indented and end with a ])',
    ],
    [
      'an unclosed {',
      'capacity: {a: 100',
      'regions/us-east-1.yaml:5: got "capacity: {a: 100"; expected valid YAML (Flow map in block collection must be sufficiently indented and end with a })',
    ],
    [
      'an unclosed quote',
      'capacity: "100',
      'regions/us-east-1.yaml:5: got "capacity: \\"100"; expected valid YAML (Missing closing "quote)',
    ],
    [
      'a tab as indentation',
      'capacity: 100\n\tx: 1',
      'regions/us-east-1.yaml:6: got "x: 1"; expected valid YAML (Tabs are not allowed as indentation)',
    ],
  ])(
    'a syntax error (%s) is reported at its own line, first sentence only',
    (_name, to, expected) => {
      const dir = copyRegions();
      edit(dir, 'us-east-1.yaml', 'capacity: 100', to);
      expect(linesOf(dir)).toEqual([expected]);
    },
  );

  test('a file of syntax errors is one line with the first and a count', () => {
    const dir = copyRegions();
    edit(dir, 'us-east-1.yaml', 'capacity: 100', `capacity: 100\n${'\tx: 1\n'.repeat(20_000)}`);
    expect(linesOf(dir)).toEqual([
      'regions/us-east-1.yaml:6: got "x: 1"; expected valid YAML (Tabs are not allowed as indentation; 19999 more error(s) after it)',
    ]);
  });
});

describe('Cloudflare region claims', () => {
  test('a second claim of a Cloudflare region names both files and the fix', () => {
    const dir = copyRegions();
    edit(dir, 'eu-central-1.yaml', 'regions: [EEU]', 'regions: [EEU, WEU]');
    expect(linesOf(dir)).toEqual([
      'regions/eu-west-1.yaml:10 cloudflare.regions[0]: got "WEU"; expected a Cloudflare region no other region claims: regions/eu-central-1.yaml already claims WEU; remove it from one of regions/eu-central-1.yaml and regions/eu-west-1.yaml',
    ]);
  });
});
