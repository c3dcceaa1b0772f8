import { escapeLabelValue, familyHeader, formatValue } from './exposition.js';

export interface JobLabels {
  job_id: string;
  job_name: string;
}

interface Series {
  labels: string;
  value: number;
  /** The rendered line, until the value changes. */
  line: string | undefined;
}

/**
 * A self-metric family with one series per job (`job_id`, `job_name`), rendered by hand with a
 * per-series line cache. prom-client serialises such a family from scratch on every scrape, which
 * at 10,000 jobs costs more than all the cached build metrics together. Offers the subset of
 * prom-client's Counter/Gauge API the poller uses, with the same semantics (series keyed by both
 * labels).
 */
export class JobFamily {
  private readonly series = new Map<string, Series>();
  private readonly header: string;

  constructor(
    readonly name: string,
    type: 'counter' | 'gauge',
    help: string,
  ) {
    this.header = familyHeader(name, type, help);
  }

  set(labels: JobLabels, value: number): void {
    const series = this.entry(labels);
    if (series.value !== value) {
      series.value = value;
      series.line = undefined;
    }
  }

  inc(labels: JobLabels, by = 1): void {
    if (by < 0) throw new RangeError(`${this.name}: a counter cannot decrease (inc by ${by})`);
    const series = this.entry(labels);
    if (by === 0) return;
    series.value += by;
    series.line = undefined;
  }

  remove(labels: JobLabels): void {
    this.series.delete(key(labels));
  }

  get(labels: JobLabels): number | undefined {
    return this.series.get(key(labels))?.value;
  }

  /** HELP, TYPE and one line per series; an empty family still gets its HELP and TYPE. */
  render(): string {
    const parts = [this.header];
    for (const series of this.series.values()) {
      series.line ??= `${this.name}{${series.labels}} ${formatValue(series.value)}\n`;
      parts.push(series.line);
    }
    return parts.join('');
  }

  private entry(labels: JobLabels): Series {
    const id = key(labels);
    let series = this.series.get(id);
    if (!series) {
      series = { labels: `job_id="${escapeLabelValue(labels.job_id)}",job_name="${escapeLabelValue(labels.job_name)}"`, value: 0, line: undefined };
      this.series.set(id, series);
    }
    return series;
  }
}

function key(labels: JobLabels): string {
  return `${labels.job_id}\u0000${labels.job_name}`;
}
