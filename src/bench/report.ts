import { cpus, loadavg, totalmem } from 'node:os';

export interface Row {
  scenario: string;
  measured: string;
  reference: string;
  ratio: number | undefined;
  target: string;
  /** undefined: informational, no target. */
  met: boolean | undefined;
  /** A count (requests), checked by `--check`; times never are. */
  count?: boolean;
}

export function machineInfo() {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((n) => Math.round(n * 100) / 100),
    /** Extra Node flags of the exporter's child process (BENCH_CHILD_ARGS), e.g. a heap limit. */
    childNodeArgs: process.env.BENCH_CHILD_ARGS ?? '',
    date: new Date().toISOString(),
  };
}

export function renderTable(rows: readonly Row[]): string {
  const header = ['scenario', 'measured', 'floor or ideal', 'ratio', 'target', 'met?'];
  const cells = rows.map((row) => [
    row.scenario,
    row.measured,
    row.reference,
    row.ratio === undefined ? '' : row.ratio.toFixed(3),
    row.target,
    row.met === undefined ? '—' : row.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((cell) => (cell[i] ?? '').length)));
  const line = (values: readonly string[]) => `| ${values.map((value, i) => value.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

export const fmt = {
  ms: (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`),
  s: (s: number) => `${s.toFixed(2)} s`,
  n: (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }),
  mb: (mb: number) => `${mb.toFixed(0)} MB`,
};
