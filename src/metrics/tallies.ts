// What the hot paths touch: plain numbers per app. prom-client's bound children hash and validate
// their label object on every inc/observe; these only add, and the Prometheus instruments
// (metrics.ts) read them when scraped.

/** A per-app counter or gauge. */
export class Tally {
  value = 0;

  inc(by = 1): void {
    this.value += by;
  }

  dec(by = 1): void {
    this.value -= by;
  }
}

/** A per-app histogram: a count per bucket (the last one above every bound), sum and count. */
export class Buckets {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** prom-client's placement: the first bucket whose upper bound is ≥ the value. */
  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}
