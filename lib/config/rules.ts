/**
 * Cross-field rules of `regions/`: what a schema alone cannot say. Each rule is a small pure
 * function from the (partially) parsed model to findings at model paths; the loader turns them into
 * problem lines with file and line. Rules run on every part that parsed, so a single run reports
 * schema and cross-field problems together.
 */
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { HEALTHY_MARKER, sampleBodies } from '../../lambda/health/report';
import { CLOCK_SKEW_BOUND_SECONDS } from '../../lambda/shared/failover/writer-lease';
import { basisOf, crossingMode, TRANSFER_BASES } from '../../lambda/shared/residency-plan';
import { lockInsideCell, lockPlan, MRSC_REGION_SETS, mrscSetOf } from '../failover/lock-plan';
import { MIN_LEASE_SECONDS, PROMOTE_STEP_TIMEOUT_SECONDS } from '../failover/step-timeouts';
import { searchZoneCount } from '../search/regional-search';
import { isCountryCode } from './countries';
import type { Path } from './problems';
import type { GlobalConfig, Jurisdiction, RegionConfig } from './schema';

export interface Finding {
  readonly at: Path;
  readonly value: unknown;
  readonly expected: string;
}

export interface RuleInput {
  /** The parsed global file, when it parsed. */
  readonly global?: GlobalConfig;
  /** Region files that parsed, by file key (the file name without extension). */
  readonly regions: ReadonlyMap<string, RegionConfig>;
  /**
   * Jurisdiction claimed by each region file that did not parse: rules about a jurisdiction's
   * membership skip those jurisdictions instead of reporting a false problem.
   */
  readonly unparsedJurisdictions?: ReadonlySet<unknown>;
  /** A region file could not even be read as YAML: its jurisdiction is unknown. */
  readonly someRegionUnreadable?: boolean;
  /**
   * Every region file, parsed or not, by key → the file as users see it (`regions/eu-west-1.yaml`).
   * A reference to a region that failed its schema is not reported as a missing region.
   */
  readonly files?: ReadonlyMap<string, string>;
}

export type Rule = (input: RuleInput) => Finding[];

const at = (key: string, ...rest: (string | number)[]): Path => ['regions', key, ...rest];
const list = (xs: Iterable<string>) => [...xs].join(', ') || '(none)';

export const regionIdMatchesFileName: Rule = ({ regions }) =>
  [...regions].flatMap(([key, r]) =>
    r.id === key ? [] : [{ at: at(key, 'id'), value: r.id, expected: `${key} (the file name)` }],
  );

export const regionIsAwsRegion: Rule = ({ regions }) => {
  const known = new Set(RegionInfo.regions.map((r) => r.name));
  return [...regions].flatMap(([key, r]) =>
    known.has(key)
      ? []
      : [
          {
            at: at(key, 'id'),
            value: r.id,
            expected: 'an AWS region id such as eu-west-1, and the file named after it',
          },
        ],
  );
};

export const jurisdictionExists: Rule = ({ global, regions }) =>
  global
    ? [...regions].flatMap(([key, r]) =>
        Object.hasOwn(global.jurisdictions, r.jurisdiction)
          ? []
          : [
              {
                at: at(key, 'jurisdiction'),
                value: r.jurisdiction,
                expected: `a jurisdiction defined in regions/global.yaml (${list(Object.keys(global.jurisdictions))})`,
              },
            ],
      )
    : [];

export const onePrimaryPerJurisdiction: Rule = ({
  global,
  regions,
  unparsedJurisdictions,
  someRegionUnreadable,
}) => {
  if (!global || someRegionUnreadable) return [];
  return Object.keys(global.jurisdictions).flatMap((j): Finding[] => {
    if (unparsedJurisdictions?.has(j)) return [];
    const members = [...regions].filter(([, r]) => r.jurisdiction === j);
    const primaries = members.filter(([, r]) => r.tier === 'primary');
    if (members.length === 0) {
      return [
        {
          at: ['global', 'jurisdictions', j],
          value: j,
          expected: `at least one region file with jurisdiction: ${j}, or remove the jurisdiction`,
        },
      ];
    }
    if (primaries.length === 1) return [];
    if (primaries.length === 0) {
      const [first] = members;
      return first
        ? [
            {
              at: at(first[0], 'tier'),
              value: first[1].tier,
              expected: `primary: jurisdiction ${j} has no primary region (${list(members.map(([k]) => k))}); exactly one must be tier: primary`,
            },
          ]
        : [];
    }
    return primaries.map(([key]) => ({
      at: at(key, 'tier'),
      value: 'primary',
      expected: `secondary or tertiary: jurisdiction ${j} has ${primaries.length} primaries (${list(primaries.map(([k]) => k))}); exactly one may be primary`,
    }));
  });
};

export const uniqueFailoverPriority: Rule = ({ regions }) => {
  const seen = new Map<string, string>();
  const out: Finding[] = [];
  for (const [key, r] of regions) {
    const k = `${r.jurisdiction}/${r.failoverPriority}`;
    const other = seen.get(k);
    if (other) {
      out.push({
        at: at(key, 'failoverPriority'),
        value: r.failoverPriority,
        expected: `a priority not used by ${other}, also in jurisdiction ${r.jurisdiction}`,
      });
    } else seen.set(k, key);
  }
  return out;
};

export const failoverTargetsValid: Rule = ({ regions, files }) =>
  [...regions].flatMap(([key, r]) =>
    (r.failoverTo ?? []).flatMap((target, i): Finding[] => {
      const t = regions.get(target);
      const where = at(key, 'failoverTo', i);
      if (target === key)
        return [{ at: where, value: target, expected: 'another region than this one' }];
      if (!t) {
        if (files?.has(target)) return []; // a region that failed its schema: reported there
        return [
          {
            at: where,
            value: target,
            expected: `a region that has a file in regions/ (${list(regions.keys())})`,
          },
        ];
      }
      if (t.jurisdiction !== r.jurisdiction) {
        return [
          {
            at: where,
            value: target,
            expected: `a region of jurisdiction ${r.jurisdiction}: failing over to ${target} (${t.jurisdiction}) would move jurisdiction-bound data out of ${r.jurisdiction}`,
          },
        ];
      }
      return [];
    }),
  );

/** Parses `a.b.c.d/n`; undefined when malformed. */
export function parseCidr(cidr: string): { base: number; prefix: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) return undefined;
  return { base, prefix };
}

export const cidrsValidAndDisjoint: Rule = ({ regions }) => {
  const out: Finding[] = [];
  const parsed: [string, { base: number; prefix: number }][] = [];
  for (const [key, r] of regions) {
    const c = parseCidr(r.cidr);
    if (!c || c.prefix < 16 || c.prefix > 22) {
      out.push({
        at: at(key, 'cidr'),
        value: r.cidr,
        expected:
          'an IPv4 network CIDR with a /16 to /22 prefix on its network boundary, e.g. 10.20.0.0/16',
      });
      continue;
    }
    for (const [otherKey, o] of parsed) {
      const lo = Math.max(c.base, o.base);
      const hi = Math.min(c.base + 2 ** (32 - c.prefix), o.base + 2 ** (32 - o.prefix));
      if (lo >= hi) continue;
      const otherCidr = regions.get(otherKey)?.cidr ?? '';
      // Reported on both sides: either file may be the one to change.
      for (const [k, mine, theirKey, theirs] of [
        [key, r.cidr, otherKey, otherCidr],
        [otherKey, otherCidr, key, r.cidr],
      ] as const) {
        out.push({
          at: at(k, 'cidr'),
          value: mine,
          expected: `a CIDR that does not overlap ${theirKey} (${theirs}); every region needs its own range`,
        });
      }
    }
    parsed.push([key, c]);
  }
  return out;
};

export const countriesKnownAndPlaced: Rule = ({ global, regions }) => {
  const out: Finding[] = [];
  const owner = new Map<string, string>();
  if (global) {
    for (const [j, def] of Object.entries(global.jurisdictions)) {
      def.countries.forEach((c, i) => {
        const where: Path = ['global', 'jurisdictions', j, 'countries', i];
        if (!isCountryCode(c)) {
          out.push({ at: where, value: c, expected: 'a known ISO 3166-1 alpha-2 country code' });
        } else if (owner.has(c)) {
          out.push({
            at: where,
            value: c,
            expected: `a country not already governed by jurisdiction ${owner.get(c)}`,
          });
        } else owner.set(c, j);
      });
    }
  }
  const homedIn = new Map<string, string>();
  for (const [key, r] of regions) {
    r.residency.countries.forEach((c, i) => {
      const where = at(key, 'residency', 'countries', i);
      if (!isCountryCode(c)) {
        out.push({ at: where, value: c, expected: 'a known ISO 3166-1 alpha-2 country code' });
        return;
      }
      const j = owner.get(c);
      // An undefined jurisdiction is reported by jurisdictionExists; don't pile on.
      if (global && !Object.hasOwn(global.jurisdictions, r.jurisdiction)) return;
      if (global && j !== r.jurisdiction) {
        out.push({
          at: where,
          value: c,
          expected: j
            ? `a country of jurisdiction ${r.jurisdiction}: ${c} belongs to ${j}, so homing its residents' data here would take it out of ${j}`
            : `a country listed in jurisdictions.${r.jurisdiction}.countries of regions/global.yaml`,
        });
        return;
      }
      const other = homedIn.get(c);
      if (other) {
        out.push({
          at: where,
          value: c,
          expected: `a country not already homed in ${other} (each country has one home region)`,
        });
      } else homedIn.set(c, key);
    });
  }
  return out;
};

export const jurisdictionReferencesValid: Rule = ({ global }) => {
  if (!global) return [];
  const classes = Object.keys(global.dataClasses);
  const jurisdictions = Object.keys(global.jurisdictions);
  return Object.entries(global.jurisdictions).flatMap(([j, def]) => [
    ...def.localisedClasses.flatMap((c, i) =>
      classes.includes(c)
        ? []
        : [
            {
              at: ['global', 'jurisdictions', j, 'localisedClasses', i],
              value: c,
              expected: `a data class (${list(classes)})`,
            },
          ],
    ),
    ...def.maskedExportTo.flatMap((t, i) =>
      jurisdictions.includes(t) && t !== j
        ? []
        : [
            {
              at: ['global', 'jurisdictions', j, 'maskedExportTo', i],
              value: t,
              expected: `another jurisdiction (${list(jurisdictions.filter((x) => x !== j))})`,
            },
          ],
    ),
  ]);
};

export const networkFitsAzs: Rule = ({ regions }) =>
  [...regions].flatMap(([key, r]): Finding[] => {
    const out: Finding[] = [];
    const { maxAzs, natGateways } = r.settings.network;
    if (natGateways > maxAzs) {
      out.push({
        at: at(key, 'settings', 'network', 'natGateways'),
        value: natGateways,
        expected: `at most settings.network.maxAzs (${maxAzs}): one NAT gateway per AZ at the most`,
      });
    }
    (r.availabilityZones ?? []).forEach((az, i) => {
      if (!new RegExp(`^${key}[a-z]$`).test(az)) {
        out.push({
          at: at(key, 'availabilityZones', i),
          value: az,
          expected: `an AZ of ${key}, e.g. ${key}a`,
        });
      }
    });
    if (r.availabilityZones && r.availabilityZones.length < maxAzs) {
      out.push({
        at: at(key, 'availabilityZones'),
        value: r.availabilityZones,
        expected: `at least settings.network.maxAzs (${maxAzs}) zones`,
      });
    }
    return out;
  });

export const auroraCapacityOrdered: Rule = ({ regions }) =>
  [...regions].flatMap(([key, r]) => {
    const { auroraMinAcu, auroraMaxAcu } = r.settings.data;
    return auroraMinAcu <= auroraMaxAcu
      ? []
      : [
          {
            at: at(key, 'settings', 'data', 'auroraMinAcu'),
            value: auroraMinAcu,
            expected: `at most settings.data.auroraMaxAcu (${auroraMaxAcu})`,
          },
        ];
  });

export const lifecycleOrdered: Rule = ({ regions }) =>
  [...regions].flatMap(([key, r]) => {
    const { transitionToIaDays, transitionToGlacierDays } = r.settings.storage;
    return transitionToGlacierDays > transitionToIaDays
      ? []
      : [
          {
            at: at(key, 'settings', 'storage', 'transitionToGlacierDays'),
            value: transitionToGlacierDays,
            expected: `more than settings.storage.transitionToIaDays (${transitionToIaDays}): objects move to Glacier after Infrequent Access`,
          },
        ];
  });

/** Search data nodes must spread evenly over 3 or 2 zones. */
export const searchNodesFitAzs: Rule = ({ regions }) =>
  [...regions].flatMap(([key, r]) => {
    const { dataNodes } = r.settings.search;
    const zones = r.settings.network.maxAzs >= 3 ? '3 or 2' : '2';
    return searchZoneCount(r.settings.network.maxAzs, dataNodes)
      ? []
      : [
          {
            at: at(key, 'settings', 'search', 'dataNodes'),
            value: dataNodes,
            expected: `a number that spreads evenly over ${zones} availability zones (a multiple of ${zones})`,
          },
        ];
  });

/** Aurora global databases take a primary and at most 5 secondary regions. */
export const cellFitsGlobalDatabase: Rule = ({ global, regions }) => {
  if (!global) return [];
  return Object.keys(global.jurisdictions).flatMap((j) => {
    const members = [...regions].filter(([, r]) => r.jurisdiction === j).map(([k]) => k);
    return members.length <= 6
      ? []
      : [
          {
            at: ['global', 'jurisdictions', j],
            value: members,
            expected: `at most 6 regions in one jurisdiction (an Aurora global database has 1 primary and up to 5 secondaries)`,
          },
        ];
  });
};

/**
 * Runs `check` on every jurisdiction whose membership is known (every region file was read and
 * none that failed its schema claims it), with the region files that parsed.
 */
function eachKnownCell(
  { global, regions, unparsedJurisdictions, someRegionUnreadable }: RuleInput,
  check: (j: string, def: Jurisdiction, all: readonly RegionConfig[]) => Finding[],
): Finding[] {
  if (!global || someRegionUnreadable) return [];
  const all = [...regions.values()];
  return Object.entries(global.jurisdictions).flatMap(([j, def]) =>
    unparsedJurisdictions?.has(j) ? [] : check(j, def, all),
  );
}

/**
 * `failover.start: auto` needs a region that watches the cell's regions and would take over: a
 * jurisdiction with one region has none (lib/failover/region-watch.ts), so auto would start nothing.
 */
export const autoStartHasATakeover: Rule = (input) =>
  eachKnownCell(input, (j, def, all) => {
    if (def.failover?.start !== 'auto') return [];
    const members = all.filter((r) => r.jurisdiction === j).map((r) => r.id);
    // No member at all is onePrimaryPerJurisdiction's problem.
    return members.length === 1
      ? [
          {
            at: ['global', 'jurisdictions', j, 'failover', 'start'],
            value: 'auto',
            expected: `approve: jurisdiction ${j} has one region (${members[0]}), so no other region watches it or could take over, and auto would never start a runbook`,
          },
        ]
      : [];
  });

/**
 * `failover.lockHome` names a region of regions/ outside the cell (its stack creates the lock
 * table; a lock inside the cell can be lost or taken with the pair it arbitrates), and only for a
 * cell that cannot keep an MRSC lock with a witness of its own (lib/failover/lock-plan.ts).
 */
export const lockHomeOutsideTheCell: Rule = (input) =>
  eachKnownCell(input, (j, def, all) => {
    const home = def.failover?.lockHome;
    if (home === undefined) return [];
    const at: Path = ['global', 'jurisdictions', j, 'failover', 'lockHome'];
    const cell = all.filter((r) => r.jurisdiction === j).map((r) => r.id);
    const others = all
      .filter((r) => r.jurisdiction !== j)
      .map((r) => r.id)
      .sort();
    if (cell.length >= 2 && mrscSetOf(cell))
      return [
        {
          at,
          value: home,
          expected: `no lockHome (remove the field): jurisdiction ${j}'s regions (${list(cell)}) lie in one MRSC Region set, so its lock is a strongly consistent table with a witness outside the pair`,
        },
      ];
    if (others.includes(home)) return [];
    return [
      {
        at,
        value: home,
        expected: cell.includes(home)
          ? `a region outside jurisdiction ${j} (${list(others)}): a lock inside the cell is lost or taken with the regions it arbitrates`
          : `a region of regions/ outside jurisdiction ${j} (${list(others)}): its stack creates the lock table`,
      },
    ];
  });

/**
 * A cell of two or more regions needs a lock that does not live only in its own regions: where the
 * platform has no other region and the cell lies in no MRSC Region set, there is nowhere to put it.
 */
export const lockOutsideTheCell: Rule = (input) =>
  eachKnownCell(input, (j, def, all) => {
    if (def.failover?.lockHome !== undefined) return [];
    const cell = all.filter((r) => r.jurisdiction === j);
    if (cell.length < 2) return [];
    const plan = lockPlan(cell, { outside: all.filter((r) => r.jurisdiction !== j) });
    if (
      !lockInsideCell(
        plan,
        cell.map((r) => r.id),
      )
    )
      return [];
    const sets = Object.entries(MRSC_REGION_SETS)
      .map(([name, set]) => `${name}: ${set.join(', ')}`)
      .join('; ');
    return [
      {
        at: ['global', 'jurisdictions', j],
        value: cell.map((r) => r.id).sort(),
        expected: `a cell whose runbook lock can live outside it: add a region of another jurisdiction to regions/ (its stack keeps the lock, which holds no personal data), or keep the cell's regions inside one MRSC Region set (${sets}); a lock inside the cell can be taken by the side of a partition that must not act`,
      },
    ];
  });

/**
 * The runbook lock's lease outlasts the longest step invocation plus the clock-skew bound
 * (lib/failover/step-timeouts.ts): a step acts after renewing the lease and within one
 * invocation, so a shorter lease could let another execution take the lock while it still acts.
 */
export const leaseOutlastsLongestStep: Rule = ({ regions }) =>
  [...regions].flatMap(([key, r]): Finding[] => {
    const { leaseSeconds } = r.settings.failover;
    return leaseSeconds >= MIN_LEASE_SECONDS
      ? []
      : [
          {
            at: at(key, 'settings', 'failover', 'leaseSeconds'),
            value: leaseSeconds,
            expected: `at least ${MIN_LEASE_SECONDS}: the longest runbook step may run ${PROMOTE_STEP_TIMEOUT_SECONDS} s after renewing the lease, and two clocks may differ by ${CLOCK_SKEW_BOUND_SECONDS} s`,
          },
        ];
  });

/** Shortest Cloudflare monitor interval (seconds) each plan allows. */
export const CLOUDFLARE_MIN_INTERVAL: Readonly<Record<string, number>> = {
  free: 60,
  pro: 60,
  business: 15,
  enterprise: 10,
};

export const cloudflareMonitorValid: Rule = ({ global }) => {
  if (!global) return [];
  const { plan, monitor } = global.cloudflare;
  const where = (field: string): Path => ['global', 'cloudflare', 'monitor', field];
  const min = CLOUDFLARE_MIN_INTERVAL[plan] ?? 60;
  const found: Finding[] = [];
  if (monitor.intervalSeconds < min)
    found.push({
      at: where('intervalSeconds'),
      value: monitor.intervalSeconds,
      expected: `at least ${min} (the shortest interval the ${plan} plan allows)`,
    });
  if (monitor.timeoutSeconds >= monitor.intervalSeconds)
    found.push({
      at: where('timeoutSeconds'),
      value: monitor.timeoutSeconds,
      expected: `less than intervalSeconds (${monitor.intervalSeconds})`,
    });
  const bodies = sampleBodies();
  if (
    !bodies.healthy.includes(monitor.expectedBody) ||
    bodies.unhealthy.includes(monitor.expectedBody)
  )
    found.push({
      at: where('expectedBody'),
      value: monitor.expectedBody,
      expected: `text only a healthy answer contains, such as ${JSON.stringify(HEALTHY_MARKER)}`,
    });
  return found;
};

/**
 * The load balancer has one fallback pool, used when every pool a client may use is down. A
 * region pool there would receive residency-bound countries' traffic from outside their
 * jurisdiction, so it is allowed only when every residency-bound jurisdiction is its own.
 */
export const cloudflareFallbackKeepsResidency: Rule = ({ global, regions, files }) => {
  if (!global) return [];
  const { fallback } = global.cloudflare;
  if (fallback === 'holding') return [];
  const where: Path = ['global', 'cloudflare', 'fallback'];
  const region = regions.get(fallback);
  if (!region && files?.has(fallback)) return []; // that region failed its schema: reported there
  if (!region)
    return [
      {
        at: where,
        value: fallback,
        expected: `holding, or a region id (${list([...regions.keys()].sort())})`,
      },
    ];
  const outside = Object.entries(global.jurisdictions)
    .filter(([j, def]) => def.residencyBound && j !== region.jurisdiction)
    .map(([j]) => j);
  return outside.length === 0
    ? []
    : [
        {
          at: where,
          value: fallback,
          expected: `holding: ${fallback} (${region.jurisdiction}) would receive traffic of residency-bound countries of ${list(outside)} whenever their own pools are down`,
        },
      ];
};

/** Masking overrides name jurisdictions that exist. */
export const maskingJurisdictionsExist: Rule = ({ global }) =>
  global
    ? Object.entries(global.dataClasses).flatMap(([c, def]) =>
        Object.keys(def.masking.jurisdictions)
          .filter((j) => !Object.hasOwn(global.jurisdictions, j))
          .map((j) => ({
            at: ['global', 'dataClasses', c, 'masking', 'jurisdictions', j],
            value: j,
            expected: `a jurisdiction id (${list(Object.keys(global.jurisdictions).sort())})`,
          })),
      )
    : [];

export const slotsCarryTraffic: Rule = ({ regions }) =>
  [...regions].flatMap(([key, r]) => {
    const slots = Object.values(r.settings.routing.slots);
    return slots.reduce((sum, s) => sum + s.weight, 0) > 0
      ? []
      : [
          {
            at: at(key, 'settings', 'routing', 'slots'),
            value: r.settings.routing.slots,
            expected: 'at least one slot with a weight above 0 (all 0 would split traffic evenly)',
          },
        ];
  });

/**
 * AWS allows 50 user tags per resource (keys `aws:…` are AWS's own and do not count); Meridian puts
 * 7 `meridian:*` tags on every resource (`regionalTags`, the regional stack's tags), leaving 43:
 * keep MERIDIAN_TAGS in step when that list changes.
 */
export const AWS_TAGS_PER_RESOURCE = 50;
export const MERIDIAN_TAGS = 7;
export const USER_TAGS = AWS_TAGS_PER_RESOURCE - MERIDIAN_TAGS;
/** Characters AWS accepts in tag keys and values (the Resource Groups Tagging API pattern). */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** `global.tags` within AWS's tag limits, leaving room for Meridian's own tags. */
export const tagsWithinAwsLimits: Rule = ({ global }) => {
  if (!global) return [];
  const where = (...rest: string[]): Path => ['global', 'tags', ...rest];
  const keys = Object.keys(global.tags);
  const out: Finding[] = [];
  if (keys.length > USER_TAGS) {
    out.push({
      at: where(),
      value: `${keys.length} tags`,
      expected: `at most ${USER_TAGS} tags: AWS allows ${AWS_TAGS_PER_RESOURCE} per resource and Meridian adds ${MERIDIAN_TAGS} meridian:* tags of its own`,
    });
    return out;
  }
  for (const [k, v] of Object.entries(global.tags)) {
    const chars = [...k].length;
    if (chars < 1 || chars > 128 || !TAG_TEXT.test(k) || /^(aws|meridian):/i.test(k)) {
      out.push({
        at: where(k),
        value: k,
        expected:
          'a tag key of 1-128 letters, digits, spaces and _ . : / = + - @, not starting with aws: (AWS reserves it) or meridian: (Meridian sets those)',
      });
    }
    if ([...v].length > 256 || !TAG_TEXT.test(v) || /^aws:/i.test(v)) {
      out.push({
        at: where(k),
        value: v,
        expected:
          'a tag value of at most 256 letters, digits, spaces and _ . : / = + - @, not starting with aws: (AWS reserves it)',
      });
    }
  }
  return out;
};

/**
 * A Cloudflare region steers to the region that claims it (then its jurisdiction, then the
 * nearest): two claims would leave one of them unused without a word. The first file claims it.
 */
export const cloudflareRegionsClaimedOnce: Rule = ({ regions, files }) => {
  const claimedBy = new Map<string, string>();
  const out: Finding[] = [];
  for (const key of [...regions.keys()].sort()) {
    (regions.get(key)?.cloudflare.regions ?? []).forEach((code, i) => {
      const first = claimedBy.get(code);
      if (first === undefined) {
        claimedBy.set(code, key);
        return;
      }
      const file = (k: string) => files?.get(k) ?? `regions/${k}.yaml`;
      out.push({
        at: at(key, 'cloudflare', 'regions', i),
        value: code,
        expected: `a Cloudflare region no other region claims: ${file(first)} already claims ${code}; remove it from one of ${file(first)} and ${file(key)}`,
      });
    });
  }
  return out;
};

/**
 * Every crossing of a border the residency plan would allow for personal data (a global class
 * not localised at home, a masked export) rests on a transfer basis of the home jurisdiction for
 * the target: without one the plan keeps the data home, and synth stops here so the gap is
 * decided in review, not found in production. A basis for a jurisdiction that does not exist is
 * a typo.
 */
export const transfersHaveABasis: Rule = ({ global, regions }) => {
  if (!global) return [];
  const input = {
    dataClasses: global.dataClasses,
    jurisdictions: global.jurisdictions,
    regions: [],
  };
  const present = new Set([...regions.values()].map((r) => r.jurisdiction));
  const jurisdictions = Object.keys(global.jurisdictions).sort();
  const out: Finding[] = [];
  for (const home of jurisdictions.filter((j) => present.has(j))) {
    const transfers = global.jurisdictions[home]?.transfers ?? {};
    for (const to of Object.keys(transfers).sort())
      if (to === home || !jurisdictions.includes(to))
        out.push({
          at: ['global', 'jurisdictions', home, 'transfers', to],
          value: to,
          expected: `another jurisdiction (${list(jurisdictions.filter((x) => x !== home))})`,
        });
    for (const to of jurisdictions.filter((j) => j !== home && present.has(j))) {
      const crossing = Object.keys(global.dataClasses)
        .sort()
        .flatMap((c) => {
          const mode = crossingMode(input, c, home, to);
          return typeof mode === 'string' && !basisOf(input, c, home, to) ? [`${c} ${mode}`] : [];
        });
      if (crossing.length > 0)
        out.push({
          at: ['global', 'jurisdictions', home, 'transfers', to],
          value: undefined,
          expected: `the legal basis of the transfer the plan allows from ${home} to ${to} (${crossing.join(', ')}): {basis: ${TRANSFER_BASES.join(' | ')}, reference: "<the instrument>"}; or stop it (maskedExportTo, the class's scope, or personalData: false for a class that identifies no one)`,
        });
    }
  }
  return out;
};

/** Every rule, in the order their findings are reported. */
export const RULES: readonly Rule[] = [
  regionIdMatchesFileName,
  regionIsAwsRegion,
  jurisdictionExists,
  onePrimaryPerJurisdiction,
  uniqueFailoverPriority,
  failoverTargetsValid,
  cidrsValidAndDisjoint,
  countriesKnownAndPlaced,
  jurisdictionReferencesValid,
  networkFitsAzs,
  auroraCapacityOrdered,
  lifecycleOrdered,
  searchNodesFitAzs,
  cellFitsGlobalDatabase,
  autoStartHasATakeover,
  lockHomeOutsideTheCell,
  lockOutsideTheCell,
  leaseOutlastsLongestStep,
  slotsCarryTraffic,
  maskingJurisdictionsExist,
  transfersHaveABasis,
  cloudflareMonitorValid,
  cloudflareFallbackKeepsResidency,
  cloudflareRegionsClaimedOnce,
  tagsWithinAwsLimits,
];
