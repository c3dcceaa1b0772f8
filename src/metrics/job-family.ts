import { escapeLabelValue, familyHeader, formatValue, type ExpositionFormat } from './exposition.js';
import { textPart, type ExpositionPart } from './exposition-part.js';
import { openMetricsHeader } from './openmetrics.js';

export interface JobLabels {
  job_id: string;
  job_name: string;
}

interface Series {
  labels: string;
  value: number;
  /** The rendered line, until the value changes. */
  line: string | undefined;
  /** Place in the exposition order. */
  position: number;
}

/** Series per exposition part: a line is ~130 bytes, so ~32 KB of text per gzip piece. */
const SEGMENT_SERIES = 256;

/**
 * A self-metric family with one series per job (`job_id`, `job_name`), rendered by hand with a
 * per-series line cache. prom-client serialises such a family from scratch on every scrape, which
 * at 10,000 jobs costs more than all the cached build metrics together. Offers the subset of
 * prom-client's Counter/Gauge API the poller uses, with the same semantics (series keyed by both
 * labels). Its text is offered as parts of SEGMENT_SERIES series, each replaced when one of its
 * series changes: the poller sets the last-poll gauge of every job in turn during a cycle, and a
 * scrape meanwhile re-compresses only the segments that changed.
 */
export class JobFamily {
  private readonly series = new Map<string, Series>();
  /** The series in exposition order (the order they were added). */
  private readonly order: Series[] = [];
  private segmentParts: Array<ExpositionPart | undefined> = [];
  /** The family's metadata per format; the sample lines are the same in both. */
  private readonly headers: Record<ExpositionFormat, ExpositionPart>;
  private changes = 0;

  constructor(
    readonly name: string,
    type: 'counter' | 'gauge',
    help: string,
  ) {
    this.headers = { text: textPart(familyHeader(name, type, help)), openmetrics: textPart(openMetricsHeader(name, type, help)) };
  }

  /** Grows with every change; equal versions mean equal text. */
  get version(): number {
    return this.changes;
  }

  set(labels: JobLabels, value: number): void {
    const series = this.entry(labels);
    if (series.value !== value) {
      series.value = value;
      this.changed(series);
    }
  }

  inc(labels: JobLabels, by = 1): void {
    if (by < 0) throw new RangeError(`${this.name}: a counter cannot decrease (inc by ${by})`);
    const series = this.entry(labels);
    if (by === 0) return;
    series.value += by;
    this.changed(series);
  }

  remove(labels: JobLabels): void {
    const id = key(labels);
    const series = this.series.get(id);
    if (!series) return;
    this.series.delete(id);
    this.order.splice(series.position, 1);
    for (let i = series.position; i < this.order.length; i++) (this.order[i] as Series).position = i;
    // Every later series moved to another segment: rare enough (a job removed or renamed) to start over.
    this.segmentParts = [];
    this.changes += 1;
  }

  get(labels: JobLabels): number | undefined {
    return this.series.get(key(labels))?.value;
  }

  /** The header, then one part per segment; parts of unchanged segments are the same objects as last time (in either format). */
  parts(format: ExpositionFormat = 'text'): ExpositionPart[] {
    const parts = [this.headers[format]];
    const segments = Math.ceil(this.order.length / SEGMENT_SERIES);
    for (let segment = 0; segment < segments; segment++) {
      let part = this.segmentParts[segment];
      if (!part) {
        part = this.segmentPart(segment);
        this.segmentParts[segment] = part;
      }
      parts.push(part);
    }
    return parts;
  }

  private segmentPart(segment: number): ExpositionPart {
    return {
      text: () => {
        const end = Math.min(this.order.length, (segment + 1) * SEGMENT_SERIES);
        let text = '';
        for (let i = segment * SEGMENT_SERIES; i < end; i++) {
          const series = this.order[i] as Series;
          series.line ??= `${this.name}{${series.labels}} ${formatValue(series.value)}\n`;
          text += series.line;
        }
        return text;
      },
    };
  }

  private entry(labels: JobLabels): Series {
    const id = key(labels);
    let series = this.series.get(id);
    if (!series) {
      const escaped = `job_id="${escapeLabelValue(labels.job_id)}",job_name="${escapeLabelValue(labels.job_name)}"`;
      series = { labels: escaped, value: 0, line: undefined, position: this.order.length };
      this.series.set(id, series);
      this.order.push(series);
      this.changed(series);
    }
    return series;
  }

  private changed(series: Series): void {
    series.line = undefined;
    this.segmentParts[Math.floor(series.position / SEGMENT_SERIES)] = undefined;
    this.changes += 1;
  }
}

function key(labels: JobLabels): string {
  return `${labels.job_id}\u0000${labels.job_name}`;
}
