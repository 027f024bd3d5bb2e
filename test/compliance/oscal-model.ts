/**
 * The required structure of an OSCAL 1.1.2 assessment-results document, as zod: the fields the
 * NIST model marks required, their cardinalities (arrays of at least one), the allowed values
 * of the enumerations used here, and the UUID, token and date-time-with-time-zone datatypes
 * (https://pages.nist.gov/OSCAL-Reference/models/v1.1.2/assessment-results/json-reference/).
 * Not the whole model: what Meridian writes, held to it.
 */
import { z } from 'zod';

const uuid = z
  .string()
  .regex(
    /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[45][0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$/,
  );
const token = z.string().regex(/^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$/u);
const dateTimeWithTimezone = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
const markup = z.string().min(1);
const prop = z.strictObject({
  name: token,
  ns: z.string().url().optional(),
  value: z.string().min(1),
  remarks: markup.optional(),
});
const atLeastOne = <T extends z.ZodTypeAny>(t: T) => z.array(t).min(1);

const observation = z.strictObject({
  uuid,
  title: z.string().optional(),
  description: markup,
  props: atLeastOne(prop).optional(),
  methods: atLeastOne(z.enum(['EXAMINE', 'INTERVIEW', 'TEST', 'UNKNOWN'])),
  types: atLeastOne(
    z.enum(['ssp-statement-issue', 'control-objective', 'mitigation', 'finding', 'historic']),
  ).optional(),
  'relevant-evidence': atLeastOne(
    z.strictObject({ href: z.string().min(1).optional(), description: markup }),
  ).optional(),
  collected: dateTimeWithTimezone,
});

const finding = z.strictObject({
  uuid,
  title: z.string().min(1),
  description: markup,
  target: z.strictObject({
    type: z.enum(['statement-id', 'objective-id']),
    'target-id': token,
    status: z.strictObject({ state: z.enum(['satisfied', 'not-satisfied']) }),
  }),
  'related-observations': atLeastOne(z.strictObject({ 'observation-uuid': uuid })).optional(),
});

const controlSelection = z
  .strictObject({
    'include-all': z.strictObject({}).optional(),
    'include-controls': atLeastOne(z.strictObject({ 'control-id': token })).optional(),
  })
  .refine((s) => (s['include-all'] === undefined) !== (s['include-controls'] === undefined), {
    message: 'one of include-all and include-controls',
  });

const result = z.strictObject({
  uuid,
  title: z.string().min(1),
  description: markup,
  start: dateTimeWithTimezone,
  'reviewed-controls': z.strictObject({ 'control-selections': atLeastOne(controlSelection) }),
  observations: atLeastOne(observation).optional(),
  findings: atLeastOne(finding).optional(),
});

export const assessmentResults = z.strictObject({
  'assessment-results': z.strictObject({
    uuid,
    metadata: z.strictObject({
      title: z.string().min(1),
      'last-modified': dateTimeWithTimezone,
      version: z.string().min(1),
      'oscal-version': z.string().regex(/^1\.1\.\d+$/),
      remarks: markup.optional(),
    }),
    'import-ap': z.strictObject({ href: z.string().min(1) }),
    results: atLeastOne(result),
  }),
});
