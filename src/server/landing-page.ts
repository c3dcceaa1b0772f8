import type { JobState } from '../domain/job.js';

export interface LandingJob {
  id: string;
  name: string;
  state: JobState | undefined;
  lastReachedAt: number | undefined;
}

export interface LandingInfo {
  version: string;
  endpoint: string;
  auth: string;
  schedule: string;
  ready: boolean;
  jobs: LandingJob[];
}

const MAX_ROWS = 500;

/** A small HTML page for humans: what runs, where it polls, and each job's latest build. */
export function renderLandingPage(info: LandingInfo): string {
  const rows = info.jobs
    .slice(0, MAX_ROWS)
    .map((job) => {
      const last = job.state?.last;
      const lastBuild = last ? `#${last.buildNo} ${last.result} at ${isoTime(last.finishedAt)}` : '—';
      return `<tr><td>${escapeHtml(job.name)}</td><td><code>${escapeHtml(job.id)}</code></td><td>${job.state?.cursor ?? '—'}</td><td>${escapeHtml(lastBuild)}</td><td>${job.state?.pending.length ?? 0}</td><td>${job.lastReachedAt ? isoTime(job.lastReachedAt) : 'not yet'}</td></tr>`;
    })
    .join('\n');
  const more = info.jobs.length > MAX_ROWS ? `<p>… and ${info.jobs.length - MAX_ROWS} more jobs (see /metrics).</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CodeArts Build exporter</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}code{font-size:.9em}</style>
</head><body>
<h1>CodeArts Build exporter</h1>
<p>Version ${escapeHtml(info.version)} · polling <code>${escapeHtml(info.endpoint)}</code> (${escapeHtml(info.auth)}) on <code>${escapeHtml(info.schedule)}</code> · ${info.ready ? 'ready' : 'starting: first poll cycle not finished'}</p>
<p><a href="/metrics">Metrics</a> · <a href="/healthz">Health</a> · <a href="/readyz">Readiness</a></p>
<h2>Jobs (${info.jobs.length})</h2>
<table><thead><tr><th>Job</th><th>Id</th><th>Last build number</th><th>Latest finished build</th><th>In progress</th><th>Last successful poll</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${more}
</body></html>
`;
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
