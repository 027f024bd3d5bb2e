/**
 * What a section of the report renders to, in both Markdown and HTML (./render.ts): an intro, and
 * a table, a list or the replication diagram. Each section's facts and its wording live together
 * in ./sections/<section>.ts; no section reads another's words.
 */
export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly intro: string;
  readonly table?: Table;
  readonly list?: readonly string[];
  /** Where the replication diagram goes. */
  readonly diagram?: boolean;
}

/** `every region` when a finding holds in all of them, else their list. */
export function regionList(regions: readonly string[], all: number): string {
  return regions.length === all ? 'every region' : [...regions].sort().join(', ');
}
