/** One benchmark figure beside its baseline from the same run; ratio > 1 means faster/smaller. */
export interface Result {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  note?: string;
}
