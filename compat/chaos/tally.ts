// Counters and problems of one phase. Problems are grouped by message with a count and the
// first example, so a defect hit 100,000 times is one line of the report, not 100,000.

export class Tally {
  private readonly counts = new Map<string, number | string>();
  private readonly problems = new Map<string, { count: number; example?: string }>();

  add(name: string, n = 1): void {
    this.counts.set(name, this.count(name) + n);
  }

  /** A figure as measured: a count, or a word such as how a probe ended. */
  set(name: string, value: number | string): void {
    this.counts.set(name, value);
  }

  count(name: string): number {
    const value = this.counts.get(name);
    return typeof value === 'number' ? value : 0;
  }

  problem(message: string, example?: string): void {
    const seen = this.problems.get(message);
    if (seen) seen.count++;
    else this.problems.set(message, { count: 1, example: example === undefined ? undefined : printable(example.slice(0, 200)) });
  }

  /**
   * Figures and problems for the report. `goals` are minimum counts the full mode promises (one
   * million frames); falling short of one is reported, since the run then proved less.
   */
  outcome(goals: Record<string, number> = {}, extra: Record<string, string> = {}): { figures: Record<string, number | string>; problems: string[] } {
    const problems = [...this.problems].map(([message, { count, example }]) => `${message} (×${count})${example ? `; e.g. ${example}` : ''}`);
    for (const [name, goal] of Object.entries(goals)) {
      if (this.count(name) < goal) problems.push(`coverage: ${this.count(name).toLocaleString('en-US')} ${name} within the time bound, the mode promises ${goal.toLocaleString('en-US')}`);
    }
    return { figures: { ...Object.fromEntries(this.counts), ...extra }, problems };
  }
}

/** Control characters (a fuzzed NUL, a newline) escaped, so a report line stays one line of text. */
const printable = (text: string) => text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
