import { copyRegions, edit, problemsOf, write } from '../support/fixture';

/**
 * Every validation rule with one bad input, asserting the exact line a user sees:
 * file:line field: got <value>; expected <fix>.
 */
type Case = [name: string, mutate: (dir: string) => void, expected: string[]];

const cases: Case[] = [
  [
    'unknown field (schema, with the known fields)',
    (d) => edit(d, 'us-east-1.yaml', 'capacity: 100', 'capacity: 100\ncapacty: 5'),
    [
      'regions/us-east-1.yaml:6 capacty: got 5; expected no field named capacty here: remove it or fix its spelling (fields: id, account, jurisdiction, tier, failoverPriority, failoverTo, capacity, cidr, availabilityZones, compliance, residency, cloudflare, settings)',
    ],
  ],
  [
    'wrong type',
    (d) => edit(d, 'us-east-1.yaml', 'capacity: 100', 'capacity: lots'),
    ['regions/us-east-1.yaml:5 capacity: got "lots"; expected a number'],
  ],
  [
    'out of range',
    (d) => edit(d, 'us-east-1.yaml', 'failoverPriority: 1', 'failoverPriority: 0'),
    ['regions/us-east-1.yaml:4 failoverPriority: got 0; expected a number ≥ 1'],
  ],
  [
    'missing required field',
    (d) => edit(d, 'us-east-1.yaml', 'cidr: 10.10.0.0/16\n', ''),
    ['regions/us-east-1.yaml cidr: got nothing; expected a string (required)'],
  ],
  [
    'enum',
    (d) => edit(d, 'us-east-1.yaml', 'tier: primary', 'tier: main'),
    ['regions/us-east-1.yaml:3 tier: got "main"; expected one of primary, secondary, tertiary'],
  ],
  [
    'log retention not a CloudWatch period',
    (d) =>
      edit(
        d,
        'global.yaml',
        'natGateways: 1',
        'natGateways: 1\n  observability:\n    logRetentionDays: 31',
      ),
    [
      'regions/global.yaml:37 defaults.observability.logRetentionDays: got 31; expected one of the CloudWatch retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653',
    ],
  ],
  [
    'region id differs from the file name',
    (d) => edit(d, 'us-east-1.yaml', 'id: us-east-1', 'id: us-east-2'),
    ['regions/us-east-1.yaml:1 id: got "us-east-2"; expected us-east-1 (the file name)'],
  ],
  [
    'file named after no AWS region',
    (d) =>
      write(
        d,
        'mars-east-1.yaml',
        'id: mars-east-1\njurisdiction: us\ntier: tertiary\nfailoverPriority: 3\ncapacity: 10\ncidr: 10.99.0.0/16\ncloudflare: {latitude: 0, longitude: 0}\n',
      ),
    [
      'regions/mars-east-1.yaml:1 id: got "mars-east-1"; expected an AWS region id such as eu-west-1, and the file named after it',
    ],
  ],
  [
    'jurisdiction not defined',
    (d) => edit(d, 'us-east-1.yaml', 'jurisdiction: us', 'jurisdiction: usa'),
    [
      'regions/global.yaml:29 jurisdictions.us: got "us"; expected at least one region file with jurisdiction: us, or remove the jurisdiction',
      'regions/us-east-1.yaml:2 jurisdiction: got "usa"; expected a jurisdiction defined in regions/global.yaml (eu, us)',
    ],
  ],
  [
    'two primaries in one jurisdiction',
    (d) => edit(d, 'eu-central-1.yaml', 'tier: secondary', 'tier: primary'),
    [
      'regions/eu-central-1.yaml:3 tier: got "primary"; expected secondary or tertiary: jurisdiction eu has 2 primaries (eu-central-1, eu-west-1); exactly one may be primary',
      'regions/eu-west-1.yaml:3 tier: got "primary"; expected secondary or tertiary: jurisdiction eu has 2 primaries (eu-central-1, eu-west-1); exactly one may be primary',
    ],
  ],
  [
    'no primary in a jurisdiction',
    (d) => edit(d, 'eu-west-1.yaml', 'tier: primary', 'tier: tertiary'),
    [
      'regions/eu-central-1.yaml:3 tier: got "secondary"; expected primary: jurisdiction eu has no primary region (eu-central-1, eu-west-1); exactly one must be tier: primary',
    ],
  ],
  [
    'same failover priority twice in a jurisdiction',
    (d) => edit(d, 'eu-central-1.yaml', 'failoverPriority: 2', 'failoverPriority: 1'),
    [
      'regions/eu-west-1.yaml:4 failoverPriority: got 1; expected a priority not used by eu-central-1, also in jurisdiction eu',
    ],
  ],
  [
    'failover target that does not exist',
    (d) => edit(d, 'eu-west-1.yaml', 'capacity: 100', 'capacity: 100\nfailoverTo: [eu-north-1]'),
    [
      'regions/eu-west-1.yaml:6 failoverTo[0]: got "eu-north-1"; expected a region that has a file in regions/ (eu-central-1, eu-west-1, us-east-1)',
    ],
  ],
  [
    'failover target in another jurisdiction (residency)',
    (d) => edit(d, 'eu-west-1.yaml', 'capacity: 100', 'capacity: 100\nfailoverTo: [us-east-1]'),
    [
      'regions/eu-west-1.yaml:6 failoverTo[0]: got "us-east-1"; expected a region of jurisdiction eu: failing over to us-east-1 (us) would move jurisdiction-bound data out of eu',
    ],
  ],
  [
    'failover target that is the region itself',
    (d) => edit(d, 'eu-west-1.yaml', 'capacity: 100', 'capacity: 100\nfailoverTo: [eu-west-1]'),
    [
      'regions/eu-west-1.yaml:6 failoverTo[0]: got "eu-west-1"; expected another region than this one',
    ],
  ],
  [
    'failover.start auto in a jurisdiction of one region (nothing watches it)',
    (d) => edit(d, 'global.yaml', 'name: US\n', 'name: US\n    failover:\n      start: auto\n'),
    [
      'regions/global.yaml:32 jurisdictions.us.failover.start: got "auto"; expected approve: jurisdiction us has one region (us-east-1), so no other region watches it or could take over, and auto would never start a runbook',
    ],
  ],
  [
    'failover.lockHome for a cell inside one MRSC Region set (its own lock has a witness)',
    (d) =>
      edit(d, 'global.yaml', 'name: EU\n', 'name: EU\n    failover:\n      lockHome: us-east-1\n'),
    [
      'regions/global.yaml:23 jurisdictions.eu.failover.lockHome: got "us-east-1"; expected no lockHome (remove the field): jurisdiction eu\'s regions (eu-central-1, eu-west-1) lie in one MRSC Region set, so its lock is a strongly consistent table with a witness outside the pair',
    ],
  ],
  [
    'failover.lockHome inside the cell it arbitrates',
    (d) =>
      edit(d, 'global.yaml', 'name: US\n', 'name: US\n    failover:\n      lockHome: us-east-1\n'),
    [
      'regions/global.yaml:32 jurisdictions.us.failover.lockHome: got "us-east-1"; expected a region outside jurisdiction us (eu-central-1, eu-west-1): a lock inside the cell is lost or taken with the regions it arbitrates',
    ],
  ],
  [
    'failover.lockHome in a region regions/ does not have (no stack would create the table)',
    (d) =>
      edit(d, 'global.yaml', 'name: US\n', 'name: US\n    failover:\n      lockHome: ap-south-1\n'),
    [
      'regions/global.yaml:32 jurisdictions.us.failover.lockHome: got "ap-south-1"; expected a region of regions/ outside jurisdiction us (eu-central-1, eu-west-1): its stack creates the lock table',
    ],
  ],
  [
    'a cell of three regions across Region sets with no region outside it: nowhere for its lock',
    (d) => {
      edit(d, 'us-east-1.yaml', 'jurisdiction: us', 'jurisdiction: eu');
      edit(d, 'us-east-1.yaml', 'failoverPriority: 1', 'failoverPriority: 3');
    },
    [
      'regions/eu-west-1.yaml:3 tier: got "primary"; expected secondary or tertiary: jurisdiction eu has 2 primaries (eu-west-1, us-east-1); exactly one may be primary',
      'regions/global.yaml:20 jurisdictions.eu: got ["eu-central-1","eu-west-1","us-east-1"]; expected a cell whose runbook lock can live outside it: add a region of another jurisdiction to regions/ (its stack keeps the lock, which holds no personal data), or keep the cell\'s regions inside one MRSC Region set (US: us-east-1, us-east-2, us-west-2; EU: eu-west-1, eu-west-2, eu-west-3, eu-central-1; AP: ap-northeast-1, ap-northeast-2, ap-northeast-3); a lock inside the cell can be taken by the side of a partition that must not act',
      'regions/global.yaml:29 jurisdictions.us: got "us"; expected at least one region file with jurisdiction: us, or remove the jurisdiction',
      'regions/us-east-1.yaml:3 tier: got "primary"; expected secondary or tertiary: jurisdiction eu has 2 primaries (eu-west-1, us-east-1); exactly one may be primary',
      'regions/us-east-1.yaml:8 residency.countries[0]: got "US"; expected a country of jurisdiction eu: US belongs to us, so homing its residents\' data here would take it out of us',
    ],
  ],
  [
    'a lease shorter than the longest runbook step (it could run out while the step acts)',
    (d) =>
      edit(
        d,
        'global.yaml',
        'natGateways: 1',
        'natGateways: 1\n  failover:\n    leaseSeconds: 100',
      ),
    [
      'regions/global.yaml:37 defaults.failover.leaseSeconds: got 100; expected at least 125: the longest runbook step may run 120 s after renewing the lease, and two clocks may differ by 5 s',
    ],
  ],
  [
    'failover.start and minMinutesBetweenStarts out of their ranges',
    (d) =>
      edit(
        d,
        'global.yaml',
        'name: EU\n',
        'name: EU\n    failover: {start: sometimes, minMinutesBetweenStarts: 0}\n',
      ),
    [
      'regions/global.yaml:22 jurisdictions.eu.failover.minMinutesBetweenStarts: got 0; expected a number ≥ 1',
      'regions/global.yaml:22 jurisdictions.eu.failover.start: got "sometimes"; expected one of auto, approve',
    ],
  ],
  [
    'fewer availability zones than maxAzs',
    (d) =>
      edit(
        d,
        'us-east-1.yaml',
        'capacity: 100',
        'capacity: 100\navailabilityZones: [us-east-1a, us-east-1b]',
      ),
    [
      'regions/us-east-1.yaml:6 availabilityZones: got ["us-east-1a","us-east-1b"]; expected at least settings.network.maxAzs (3) zones',
    ],
  ],
  [
    'malformed CIDR',
    (d) => edit(d, 'us-east-1.yaml', 'cidr: 10.10.0.0/16', 'cidr: 10.10.0.1/16'),
    [
      'regions/us-east-1.yaml:6 cidr: got "10.10.0.1/16"; expected an IPv4 network CIDR with a /16 to /22 prefix on its network boundary, e.g. 10.20.0.0/16',
    ],
  ],
  [
    'overlapping CIDRs (reported in both files)',
    (d) => edit(d, 'us-east-1.yaml', 'cidr: 10.10.0.0/16', 'cidr: 10.20.128.0/17'),
    [
      'regions/eu-west-1.yaml:6 cidr: got "10.20.0.0/16"; expected a CIDR that does not overlap us-east-1 (10.20.128.0/17); every region needs its own range',
      'regions/us-east-1.yaml:6 cidr: got "10.20.128.0/17"; expected a CIDR that does not overlap eu-west-1 (10.20.0.0/16); every region needs its own range',
    ],
  ],
  [
    'unknown residency country',
    (d) => edit(d, 'us-east-1.yaml', 'countries: [US]', 'countries: [US, QQ]'),
    [
      'regions/us-east-1.yaml:8 residency.countries[1]: got "QQ"; expected a known ISO 3166-1 alpha-2 country code',
    ],
  ],
  [
    'residency country of another jurisdiction',
    (d) => edit(d, 'us-east-1.yaml', 'countries: [US]', 'countries: [US, DE]'),
    [
      'regions/us-east-1.yaml:8 residency.countries[1]: got "DE"; expected a country of jurisdiction us: DE belongs to eu, so homing its residents\' data here would take it out of eu',
    ],
  ],
  [
    'country homed in two regions',
    (d) => edit(d, 'eu-central-1.yaml', 'countries: [DE]', 'countries: [DE, FR]'),
    [
      'regions/eu-west-1.yaml:8 residency.countries[1]: got "FR"; expected a country not already homed in eu-central-1 (each country has one home region)',
    ],
  ],
  [
    'country in two jurisdictions',
    (d) => edit(d, 'global.yaml', 'countries: [US, CA]', 'countries: [US, CA, FR]'),
    [
      'regions/global.yaml:31 jurisdictions.us.countries[2]: got "FR"; expected a country not already governed by jurisdiction eu',
    ],
  ],
  [
    'masked export to an unknown jurisdiction',
    (d) => edit(d, 'global.yaml', 'maskedExportTo: [us]', 'maskedExportTo: [us, mars]'),
    [
      'regions/global.yaml:24 jurisdictions.eu.maskedExportTo[1]: got "mars"; expected another jurisdiction (us)',
    ],
  ],
  [
    'a border crossing of personal data with no transfer basis, and a basis for no jurisdiction',
    (d) =>
      edit(
        d,
        'global.yaml',
        / {4}transfers:\n {6}us:\n/,
        '    transfers:\n      mars: {basis: consent, reference: x}\n      moon:\n',
      ),
    [
      'regions/global.yaml:25 jurisdictions.eu.transfers.us: got nothing; expected the legal basis of the transfer the plan allows from eu to us (pii masked): {basis: adequacy | contractual-clauses | binding-corporate-rules | consent | not-restricted, reference: "<the instrument>"}; or stop it (maskedExportTo, the class\'s scope, or personalData: false for a class that identifies no one)',
      'regions/global.yaml:26 jurisdictions.eu.transfers.mars: got "mars"; expected another jurisdiction (us)',
      'regions/global.yaml:27 jurisdictions.eu.transfers.moon: got "moon"; expected another jurisdiction (us)',
    ],
  ],
  [
    'a class that does not say it identifies no one crosses borders only on a basis',
    (d) =>
      edit(
        d,
        'global.yaml',
        / {2}internal:\n {4}scope: global\n {4}personalData: false\n/,
        '  internal:\n    scope: global\n',
      ),
    [
      'regions/global.yaml:28 jurisdictions.us.transfers.eu: got nothing; expected the legal basis of the transfer the plan allows from us to eu (internal full): {basis: adequacy | contractual-clauses | binding-corporate-rules | consent | not-restricted, reference: "<the instrument>"}; or stop it (maskedExportTo, the class\'s scope, or personalData: false for a class that identifies no one)',
    ],
  ],
  [
    'localised class that does not exist',
    (d) => edit(d, 'global.yaml', 'localisedClasses: []', 'localisedClasses: [secret]'),
    [
      'regions/global.yaml:32 jurisdictions.us.localisedClasses[0]: got "secret"; expected a data class (public, internal, pii, phi)',
    ],
  ],
  [
    'more NAT gateways than AZs',
    (d) =>
      edit(
        d,
        'us-east-1.yaml',
        'capacity: 100',
        'capacity: 100\nsettings:\n  network:\n    maxAzs: 2\n    natGateways: 3\n  search:\n    dataNodes: 2',
      ),
    [
      'regions/us-east-1.yaml:9 settings.network.natGateways: got 3; expected at most settings.network.maxAzs (2): one NAT gateway per AZ at the most',
    ],
  ],
  [
    'availability zone of another region',
    (d) =>
      edit(
        d,
        'us-east-1.yaml',
        'capacity: 100',
        'capacity: 100\navailabilityZones: [us-east-1a, us-east-1b, us-west-2c]',
      ),
    [
      'regions/us-east-1.yaml:6 availabilityZones[2]: got "us-west-2c"; expected an AZ of us-east-1, e.g. us-east-1a',
    ],
  ],
  [
    'Aurora minimum capacity above the maximum',
    (d) =>
      edit(
        d,
        'us-east-1.yaml',
        'capacity: 100',
        'capacity: 100\nsettings:\n  data:\n    auroraMinAcu: 32',
      ),
    [
      'regions/us-east-1.yaml:8 settings.data.auroraMinAcu: got 32; expected at most settings.data.auroraMaxAcu (16)',
    ],
  ],
  [
    'Glacier transition not after Infrequent Access',
    (d) =>
      edit(
        d,
        'global.yaml',
        'natGateways: 1',
        'natGateways: 1\n  storage:\n    transitionToIaDays: 60\n    transitionToGlacierDays: 45',
      ),
    [
      'regions/global.yaml:38 defaults.storage.transitionToGlacierDays: got 45; expected more than settings.storage.transitionToIaDays (60): objects move to Glacier after Infrequent Access',
    ],
  ],
  [
    'search data nodes not a multiple of the zones',
    (d) =>
      edit(
        d,
        'us-east-1.yaml',
        'capacity: 100',
        'capacity: 100\nsettings:\n  search:\n    dataNodes: 5',
      ),
    [
      'regions/us-east-1.yaml:8 settings.search.dataNodes: got 5; expected a number that spreads evenly over 3 or 2 availability zones (a multiple of 3 or 2)',
    ],
  ],
  [
    'Cloudflare fallback pool in another jurisdiction than a residency-bound one',
    (d) =>
      edit(
        d,
        'global.yaml',
        'hostname: app.example.com',
        'hostname: app.example.com\n  fallback: us-east-1',
      ),
    [
      'regions/global.yaml:40 cloudflare.fallback: got "us-east-1"; expected holding: us-east-1 (us) would receive traffic of residency-bound countries of eu whenever their own pools are down',
    ],
  ],
  [
    'Cloudflare fallback that is no pool',
    (d) =>
      edit(
        d,
        'global.yaml',
        'hostname: app.example.com',
        'hostname: app.example.com\n  fallback: mars-1',
      ),
    [
      'regions/global.yaml:40 cloudflare.fallback: got "mars-1"; expected holding, or a region id (eu-central-1, eu-west-1, us-east-1)',
    ],
  ],
  [
    'Cloudflare monitor faster than the plan allows, timeout not below interval, body that matches unhealthy answers',
    (d) =>
      edit(
        d,
        'global.yaml',
        'hostname: app.example.com',
        'hostname: app.example.com\n  plan: business\n  monitor:\n    intervalSeconds: 10\n    timeoutSeconds: 10\n    expectedBody: healthy',
      ),
    [
      'regions/global.yaml:42 cloudflare.monitor.intervalSeconds: got 10; expected at least 15 (the shortest interval the business plan allows)',
      'regions/global.yaml:43 cloudflare.monitor.timeoutSeconds: got 10; expected less than intervalSeconds (10)',
      `regions/global.yaml:44 cloudflare.monitor.expectedBody: got "healthy"; expected text only a healthy answer contains, such as "\\"status\\":\\"healthy\\""`,
    ],
  ],
  [
    'residency-bound jurisdiction without a region (its countries could not be pinned)',
    (d) =>
      edit(
        d,
        'global.yaml',
        '  us:\n    name: US',
        '  ae:\n    name: UAE\n    residencyBound: true\n    countries: [AE]\n  us:\n    name: US',
      ),
    [
      'regions/global.yaml:29 jurisdictions.ae: got "ae"; expected at least one region file with jurisdiction: ae, or remove the jurisdiction',
    ],
  ],
  [
    'deployment slots that carry no traffic',
    (d) =>
      edit(
        d,
        'us-east-1.yaml',
        'capacity: 100',
        'capacity: 100\nsettings:\n  routing:\n    slots:\n      blue: { weight: 0 }\n      green: { weight: 0, origin: green.example.com }',
      ),
    [
      'regions/us-east-1.yaml:8 settings.routing.slots: got {"blue":{"weight":0},"green":{"weight":0,"origin":"green.example.com"}}; expected at least one slot with a weight above 0 (all 0 would split traffic evenly)',
    ],
  ],
  [
    'masking rules for a jurisdiction that does not exist',
    (d) =>
      edit(
        d,
        'global.yaml',
        '    maskedProjection: true',
        '    maskedProjection: true\n    masking:\n      fields: { email: pseudonymise }\n      jurisdictions:\n        mars: { email: keep }',
      ),
    [
      'regions/global.yaml:20 dataClasses.pii.masking.jurisdictions.mars: got "mars"; expected a jurisdiction id (eu, us)',
    ],
  ],
  [
    'YAML syntax error',
    (d) => edit(d, 'us-east-1.yaml', 'capacity: 100', 'capacity: [100'),
    [
      'regions/us-east-1.yaml:5: got "capacity: [100"; expected valid YAML (Flow sequence in block collection must be sufficiently indented and end with a ])',
    ],
  ],
];

describe('regions/ validation', () => {
  test.each(cases)('%s', (_name, mutate, expected) => {
    const dir = copyRegions();
    mutate(dir);
    expect(problemsOf(dir)).toEqual(expected);
  });

  test('the minimal fixture is valid', () => {
    expect(problemsOf(copyRegions())).toEqual([]);
  });

  test('every problem of a file is reported in one run, sorted by file and line', () => {
    const dir = copyRegions();
    edit(dir, 'us-east-1.yaml', 'tier: primary', 'tier: main');
    edit(dir, 'us-east-1.yaml', 'capacity: 100', 'capacity: -1');
    edit(dir, 'eu-west-1.yaml', 'cidr: 10.20.0.0/16', 'cidr: 10.20.0.0/8');
    expect(problemsOf(dir)).toEqual([
      'regions/eu-west-1.yaml:6 cidr: got "10.20.0.0/8"; expected an IPv4 network CIDR with a /16 to /22 prefix on its network boundary, e.g. 10.20.0.0/16',
      'regions/us-east-1.yaml:3 tier: got "main"; expected one of primary, secondary, tertiary',
      'regions/us-east-1.yaml:5 capacity: got -1; expected a number ≥ 1',
    ]);
  });
});
