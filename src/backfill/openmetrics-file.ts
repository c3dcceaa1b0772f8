import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { BUILD_FAMILIES } from '../metrics/catalog.js';
import { escapeHelp } from '../metrics/exposition.js';
import { BACKFILL_FAMILIES, type BackfillFamily, type JobTimeline, type SeriesHistory } from './series-timeline.js';
import { sampleTime, type SampleGrid } from './sample-grid.js';

/** Before the live counter's first sample: the backfilled series drops to 0 there, so increase() adds the live counts to it. */
const RESET_BEFORE_LIVE_MS = 500;

export interface OpenMetricsFileOptions {
  grid: SampleGrid;
  timelines: readonly JobTimeline[];
  families: readonly BackfillFamily[];
  /** `job="…",instance="…"`: the labels Prometheus adds at scrape time, first in every series. */
  targetLabels: string;
}

/**
 * Writes the OpenMetrics file `promtool tsdb create-blocks-from openmetrics` reads: per family its
 * metadata and then its series, each with a sample at every grid time up to its job's last one and
 * a 0 just before live counting began; histograms as whole groups (every bucket, sum and count) per
 * time. The text goes to FILE.tmp first and replaces FILE when complete. Resolves with the number
 * of samples written.
 */
export async function writeOpenMetricsFile(path: string, options: OpenMetricsFileOptions): Promise<number> {
  const temporary = `${path}.tmp`;
  const out = createWriteStream(temporary, { encoding: 'utf8' });
  let buffered = '';
  let samples = 0;
  const write = async (text: string): Promise<void> => {
    buffered += text;
    if (buffered.length < 1 << 20) return;
    const chunk = buffered;
    buffered = '';
    if (!out.write(chunk)) await once(out, 'drain');
  };
  try {
    for (const family of BACKFILL_FAMILIES) {
      if (!options.families.includes(family)) continue;
      const { name, type, help } = BUILD_FAMILIES[family];
      const metadataName = type === 'counter' ? name.replace(/_total$/, '') : name;
      await write(`# TYPE ${metadataName} ${type}\n# HELP ${metadataName} ${escapeHelp(help)}\n`);
      for (const timeline of options.timelines) {
        const series = timeline.series.filter((entry) => entry.family === family);
        const groups = type === 'histogram' ? histogramGroups(series) : series.map((entry) => [entry]);
        for (const group of groups) samples += await writeGroup(group, timeline, options, write);
      }
    }
    await write('# EOF\n');
    out.end(buffered);
    await once(out, 'finish');
  } catch (error) {
    out.destroy();
    await rm(temporary, { force: true });
    throw error;
  }
  await rename(temporary, path);
  return samples;
}

/** Series written together at each time: one counter, or every bucket, sum and count of one histogram. */
function histogramGroups(series: readonly SeriesHistory[]): SeriesHistory[][] {
  const groups = new Map<string, SeriesHistory[]>();
  for (const entry of series) {
    const key = entry.labels.replace(/,?le="[^"]*"/, '');
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  return [...groups.values()].map((group) => [
    ...group.filter((entry) => entry.name.endsWith('_bucket')),
    ...group.filter((entry) => entry.name.endsWith('_sum')),
    ...group.filter((entry) => entry.name.endsWith('_count')),
  ]);
}

async function writeGroup(
  group: readonly SeriesHistory[],
  timeline: JobTimeline,
  options: OpenMetricsFileOptions,
  write: (text: string) => Promise<void>,
): Promise<number> {
  const prefixes = group.map((entry) => `${entry.name}{${options.targetLabels},${entry.labels}} `);
  const values = group.map(() => 0);
  const next = group.map(() => 0);
  let samples = 0;
  for (let index = 0; index <= timeline.lastIndex; index++) {
    const seconds = formatSeconds(sampleTime(options.grid, index));
    let text = '';
    group.forEach((entry, i) => {
      const change = entry.changes[next[i] as number];
      if (change?.index === index) {
        values[i] = change.value;
        next[i] = (next[i] as number) + 1;
      }
      text += `${prefixes[i] as string}${values[i] as number} ${seconds}\n`;
    });
    samples += group.length;
    await write(text);
  }
  const reset = formatSeconds(timeline.liveFromMs - RESET_BEFORE_LIVE_MS);
  await write(prefixes.map((prefix) => `${prefix}0 ${reset}\n`).join(''));
  return samples + group.length;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(3);
}
