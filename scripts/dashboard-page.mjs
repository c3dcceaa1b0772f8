/**
 * One HTML page per Grafana dashboard, drawn from Prometheus answers: the panels at their grid
 * positions (24 columns, 30 px rows, as Grafana lays them out), Chart.js for time series, bars,
 * pies and bar gauges, plain HTML for stats and tables, a canvas for heatmaps. Used by
 * render-dashboard-images.mjs; it covers the panel types the bundled dashboards use.
 */

const WIDTH = 1440;
const ROW_PX = 30;
const GAP_PX = 8;

export function flattenPanels(panels) {
  return panels.flatMap((panel) => (panel.panels ? [panel, ...flattenPanels(panel.panels)] : [panel]));
}

/** Returns { html, width, height } for the screenshot. */
export function renderDashboardPage(dashboard, answers, chartJsUrl) {
  const panels = flattenPanels(dashboard.panels).map((panel) => ({
    id: panel.id,
    type: panel.type,
    title: panel.title,
    gridPos: panel.gridPos,
    interval: panel.interval,
    fieldConfig: panel.fieldConfig ?? { defaults: {}, overrides: [] },
    options: panel.options ?? {},
    transformations: panel.transformations ?? [],
    answers: answers?.[panel.id] ?? [],
  }));
  const rows = Math.max(...panels.map((p) => p.gridPos.y + p.gridPos.h));
  const height = rows * ROW_PX + 70;
  const html = `<!doctype html>
<html><head><meta charset="utf-8">
<style>
  body { margin: 0; background: #111217; color: #ccccdc; font: 12px "DejaVu Sans", sans-serif; }
  header { height: 40px; padding: 0 ${GAP_PX}px; display: flex; align-items: center; font-size: 16px; color: #fff; }
  header small { color: #8e8e8e; margin-left: 12px; font-size: 12px; }
  .panel { position: absolute; background: #181b1f; border: 1px solid #2a2d33; border-radius: 2px; box-sizing: border-box; overflow: hidden; }
  .panel h3 { margin: 0; padding: 5px 8px; font-size: 12px; font-weight: 500; color: #d8d9da; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .row { position: absolute; font-size: 14px; color: #fff; padding-left: 2px; }
  .body { position: absolute; top: 26px; left: 6px; right: 6px; bottom: 6px; }
  .stat { display: flex; flex-wrap: wrap; align-items: center; justify-content: center; gap: 6px; height: 100%; }
  .stat div { flex: 1; text-align: center; border-radius: 2px; padding: 4px; font-size: 26px; font-weight: 500; color: #fff; }
  .stat div small { display: block; font-size: 10px; font-weight: 400; }
  table { width: 100%; border-collapse: collapse; font-size: 11px; }
  th { text-align: left; color: #6e9fff; font-weight: 500; border-bottom: 1px solid #2a2d33; padding: 3px 6px; }
  td { padding: 2px 6px; border-bottom: 1px solid #22252b; }
  .empty { color: #8e8e8e; text-align: center; padding-top: 20%; }
</style>
<script src="${chartJsUrl}"></script>
</head><body>
<header>${escapeHtml(dashboard.title)}<small>rendered from a live run: simulator, exporter, Prometheus</small></header>
<div id="grid" style="position: relative"></div>
<script>
const PANELS = ${JSON.stringify(panels)};
const WIDTH = ${WIDTH}, ROW_PX = ${ROW_PX}, GAP = ${GAP_PX};
(${drawAll.toString()})();
</script>
</body></html>`;
  return { html, width: WIDTH, height };
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

/* eslint-disable */
/** Runs in the browser: everything it needs is inside it. */
function drawAll() {
  Chart.defaults.animation = false;
  Chart.defaults.color = '#b8b8c8';
  Chart.defaults.font.size = 10;
  Chart.defaults.borderColor = '#2a2d33';
  const PALETTE = [
    '#73bf69',
    '#f2cc0c',
    '#8ab8ff',
    '#ff780a',
    '#f2495c',
    '#5794f2',
    '#b877d9',
    '#705da0',
    '#37872d',
    '#fade2a',
    '#447ebc',
    '#c4162a',
    '#1f78c1',
    '#ba43a9',
    '#ef843c',
    '#6ed0e0',
  ];
  const NAMED = {
    green: '#73bf69',
    red: '#f2495c',
    orange: '#ff9830',
    yellow: '#fade2a',
    blue: '#5794f2',
    purple: '#b877d9',
    'dark-red': '#c4162a',
    'semi-dark-green': '#56a64b',
    text: '#ccccdc',
    transparent: 'transparent',
  };
  const color = (c) => NAMED[c] ?? c ?? '#73bf69';
  const colWidth = (WIDTH - GAP) / 24;
  const grid = document.getElementById('grid');

  const fmtTime = (t) => new Date(t * 1000).toISOString().slice(11, 16);
  function fmt(value, unit, decimals) {
    if (value === null || value === undefined || Number.isNaN(value)) return '-';
    const d = (n, digits) => Number(n.toFixed(digits ?? decimals ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2)));
    switch (unit) {
      case 's':
        if (Math.abs(value) < 60) return `${d(value)} s`;
        if (Math.abs(value) < 3600) return `${d(value / 60, 1)} min`;
        if (Math.abs(value) < 86400) return `${d(value / 3600, 1)} hour`;
        return `${d(value / 86400, 1)} day`;
      case 'percentunit':
        return `${d(value * 100, 1)}%`;
      case 'bytes':
        return `${d(value / 1048576, 0)} MiB`;
      case 'reqps':
        return `${d(value, 2)} req/s`;
      default:
        return String(d(value));
    }
  }
  function mapped(value, mappings) {
    for (const mapping of mappings ?? []) {
      if (mapping.type === 'value' && mapping.options?.[String(value)]) return mapping.options[String(value)];
    }
    return undefined;
  }
  function thresholdColor(value, thresholds) {
    let c = '#73bf69';
    for (const step of thresholds?.steps ?? []) if (step.value === null || value >= step.value) c = color(step.color);
    return c;
  }
  const legend = (format, metric) =>
    !format || format === '__auto'
      ? Object.entries(metric)
          .filter(([k]) => k !== '__name__')
          .map(([k, v]) => `${k}="${v}"`)
          .join(', ')
      : format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k) => metric[k] ?? '');
  function overrideFor(panel, name, id) {
    for (const o of panel.fieldConfig.overrides ?? []) {
      const matches =
        (o.matcher.id === 'byName' && o.matcher.options === name) ||
        (o.matcher.id === 'byRegexp' && new RegExp(o.matcher.options).test(name));
      if (!matches) continue;
      const prop = o.properties.find((p) => p.id === id);
      if (prop) return prop.value;
    }
    return undefined;
  }

  for (const panel of PANELS) {
    const { x, y, w, h } = panel.gridPos;
    const left = GAP + x * colWidth,
      top = y * ROW_PX,
      width = w * colWidth - GAP,
      height = h * ROW_PX - GAP;
    if (panel.type === 'row') {
      const row = document.createElement('div');
      row.className = 'row';
      Object.assign(row.style, { left: `${left}px`, top: `${top + 6}px` });
      row.textContent = `▾ ${panel.title}`;
      grid.appendChild(row);
      continue;
    }
    const box = document.createElement('div');
    box.className = 'panel';
    Object.assign(box.style, { left: `${left}px`, top: `${top}px`, width: `${width}px`, height: `${height}px` });
    box.innerHTML = `<h3></h3><div class="body"></div>`;
    box.querySelector('h3').textContent = panel.title;
    grid.appendChild(box);
    const body = box.querySelector('.body');
    const series = panel.answers.flatMap((a) => a.result.map((r) => ({ ...r, name: legend(a.legendFormat, r.metric), refId: a.refId })));
    if (series.length === 0) {
      body.innerHTML = '<div class="empty">No data</div>';
      continue;
    }
    const defaults = panel.fieldConfig.defaults ?? {};
    const draw =
      {
        stat: drawStat,
        table: drawTable,
        piechart: drawPie,
        bargauge: drawBarGauge,
        heatmap: drawHeatmap,
        'state-timeline': drawStateTimeline,
      }[panel.type] ?? drawTimeSeries;
    draw(panel, body, series, defaults);
  }

  function drawStat(panel, body, series, defaults) {
    const wrap = document.createElement('div');
    wrap.className = 'stat';
    for (const s of series.slice(0, 6)) {
      const value = Number(s.value[1]);
      const mapping = mapped(value, defaults.mappings);
      const cell = document.createElement('div');
      const fixed = defaults.color?.mode === 'fixed' ? color(defaults.color.fixedColor) : undefined;
      const c = mapping?.color ? color(mapping.color) : (fixed ?? thresholdColor(value, defaults.thresholds));
      const mode = panel.options.colorMode ?? 'value';
      if (mode === 'background') cell.style.background = c;
      else cell.style.color = mode === 'none' ? (fixed ?? NAMED.text) : c;
      const text = panel.options.textMode === 'name' ? s.name : (mapping?.text ?? fmt(value, defaults.unit, defaults.decimals));
      cell.textContent = text;
      if (series.length > 1 && panel.options.textMode !== 'name') cell.innerHTML += `<small>${s.name}</small>`;
      wrap.appendChild(cell);
    }
    body.appendChild(wrap);
  }

  function drawTimeSeries(panel, body, series, defaults) {
    const custom = defaults.custom ?? {};
    const bars = custom.drawStyle === 'bars';
    const stacked = custom.stacking?.mode === 'normal';
    const canvas = document.createElement('canvas');
    body.appendChild(canvas);
    const times = [...new Set(series.flatMap((s) => (s.values ?? []).map(([t]) => t)))].sort((a, b) => a - b);
    const datasets = series.map((s, i) => {
      const fixed = overrideFor(panel, s.name, 'color');
      const c = fixed?.fixedColor ? color(fixed.fixedColor) : PALETTE[i % PALETTE.length];
      const byTime = new Map((s.values ?? []).map(([t, v]) => [t, Number(v)]));
      return {
        label: s.name,
        data: bars ? times.map((t) => byTime.get(t) ?? 0) : (s.values ?? []).map(([t, v]) => ({ x: t, y: Number(v) })),
        borderColor: c,
        backgroundColor: bars ? c : `${c}22`,
        borderWidth: bars ? 0 : 1.5,
        pointRadius: 0,
        fill: !bars && stacked,
        stack: stacked ? 'a' : undefined,
      };
    });
    const many = datasets.length > 8;
    new Chart(canvas, {
      type: bars ? 'bar' : 'line',
      data: bars ? { labels: times.map(fmtTime), datasets } : { datasets },
      options: {
        maintainAspectRatio: false,
        responsive: true,
        scales: {
          x: bars ? { stacked, grid: { display: false } } : { type: 'linear', ticks: { callback: (t) => fmtTime(t), maxTicksLimit: 8 } },
          y: { stacked, beginAtZero: true, ticks: { callback: (v) => fmt(v, defaults.unit, defaults.decimals), maxTicksLimit: 5 } },
        },
        plugins: { legend: { position: many ? 'right' : 'bottom', labels: { boxWidth: 8, boxHeight: 8, font: { size: many ? 8 : 10 } } } },
      },
    });
  }

  function drawPie(panel, body, series, defaults) {
    const canvas = document.createElement('canvas');
    body.appendChild(canvas);
    new Chart(canvas, {
      type: 'doughnut',
      data: {
        labels: series.map((s) => s.name),
        datasets: [{ data: series.map((s) => Number(s.value[1])), backgroundColor: PALETTE, borderWidth: 0 }],
      },
      options: { maintainAspectRatio: false, plugins: { legend: { position: 'right', labels: { boxWidth: 8 } } } },
    });
  }

  function drawBarGauge(panel, body, series, defaults) {
    const canvas = document.createElement('canvas');
    body.appendChild(canvas);
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: series.map((s) => s.name),
        datasets: [
          {
            data: series.map((s) => Number(s.value[1])),
            backgroundColor: series.map((s) => thresholdColor(Number(s.value[1]), defaults.thresholds)),
          },
        ],
      },
      options: {
        indexAxis: 'y',
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true } },
      },
    });
  }

  function drawHeatmap(panel, body, series) {
    const canvas = document.createElement('canvas');
    canvas.width = body.clientWidth;
    canvas.height = body.clientHeight;
    body.appendChild(canvas);
    const buckets = series
      .map((s) => ({
        le: s.metric.le === '+Inf' ? Infinity : Number(s.metric.le),
        values: new Map((s.values ?? []).map(([t, v]) => [t, Number(v)])),
      }))
      .sort((a, b) => a.le - b.le);
    const times = [...new Set(series.flatMap((s) => (s.values ?? []).map(([t]) => t)))].sort((a, b) => a - b);
    const counts = buckets.map((b, i) =>
      times.map((t) => Math.max(0, (b.values.get(t) ?? 0) - (i > 0 ? (buckets[i - 1].values.get(t) ?? 0) : 0))),
    );
    const max = Math.max(1e-9, ...counts.flat());
    const ctx = canvas.getContext('2d');
    const labelW = 50,
      cw = (canvas.width - labelW) / times.length,
      ch = (canvas.height - 14) / buckets.length;
    ctx.font = '9px DejaVu Sans';
    buckets.forEach((b, row) => {
      const yPos = canvas.height - 14 - (row + 1) * ch;
      ctx.fillStyle = '#b8b8c8';
      ctx.fillText(b.le === Infinity ? '+Inf' : `≤ ${fmt(b.le, 's')}`, 0, yPos + ch / 2 + 3);
      times.forEach((_, col) => {
        const v = counts[row][col] / max;
        ctx.fillStyle = v > 0 ? `rgba(255, 120, 10, ${0.15 + 0.85 * v})` : '#1f2126';
        ctx.fillRect(labelW + col * cw + 1, yPos + 1, cw - 2, ch - 2);
      });
    });
    ctx.fillStyle = '#b8b8c8';
    times.forEach((t, col) => ctx.fillText(fmtTime(t), labelW + col * cw + 2, canvas.height - 2));
  }

  /** One row per series, each value drawn in the colour of its value mapping (Grafana's state timeline). */
  function drawStateTimeline(panel, body, series, defaults) {
    const canvas = document.createElement('canvas');
    canvas.width = body.clientWidth;
    canvas.height = body.clientHeight;
    body.appendChild(canvas);
    const rows = [...series].sort((a, b) => a.name.localeCompare(b.name));
    const times = [...new Set(series.flatMap((s) => (s.values ?? []).map(([t]) => t)))].sort((a, b) => a - b);
    const ctx = canvas.getContext('2d');
    const labelW = 130,
      axisH = 14,
      rh = (canvas.height - axisH) / rows.length,
      cw = (canvas.width - labelW) / Math.max(1, times.length);
    ctx.font = `${Math.min(11, Math.max(7, rh - 3))}px DejaVu Sans`;
    rows.forEach((s, row) => {
      const top = row * rh;
      ctx.fillStyle = '#b8b8c8';
      ctx.fillText(s.name, 2, top + rh / 2 + 3, labelW - 6);
      const byTime = new Map((s.values ?? []).map(([t, v]) => [t, Number(v)]));
      times.forEach((t, col) => {
        const value = byTime.get(t);
        const mapping = value === undefined ? undefined : mapped(value, defaults.mappings);
        ctx.fillStyle = mapping?.color ? color(mapping.color) : '#1f2126';
        ctx.fillRect(labelW + col * cw, top + 1, Math.ceil(cw), rh - 2);
      });
    });
    ctx.fillStyle = '#b8b8c8';
    const every = Math.max(1, Math.ceil(times.length / 8));
    times.forEach((t, col) => col % every === 0 && ctx.fillText(fmtTime(t), labelW + col * cw + 2, canvas.height - 2));
  }

  function drawTable(panel, body, series, defaults) {
    const organize = panel.transformations.find((t) => t.id === 'organize')?.options ?? {};
    const rows = new Map();
    const columns = new Set();
    for (const s of series) {
      // One row per job id (names repeat across projects), else per the first label.
      const keyLabel = 'job_id' in s.metric ? 'job_id' : Object.keys(s.metric)[0];
      const key = s.metric[keyLabel] ?? s.name;
      const row = rows.get(key) ?? {};
      for (const [k, v] of Object.entries(s.metric)) if (k !== '__name__') ((row[k] = v), columns.add(k));
      row[`Value #${s.refId}`] = Number(s.value[1]);
      columns.add(`Value #${s.refId}`);
      rows.set(key, row);
    }
    const order = organize.indexByName ?? {};
    const visible = [...columns].filter((c) => !organize.excludeByName?.[c]).sort((a, b) => (order[a] ?? 99) - (order[b] ?? 99));
    const title = (c) => organize.renameByName?.[c] || overrideFor(panel, c, 'displayName') || c;
    const table = document.createElement('table');
    table.innerHTML = `<tr>${visible.map((c) => `<th>${title(c)}</th>`).join('')}</tr>`;
    for (const row of [...rows.values()].sort((a, b) => String(a.job_name).localeCompare(String(b.job_name)))) {
      const tr = document.createElement('tr');
      for (const c of visible) {
        const td = document.createElement('td');
        const value = row[c];
        const mapping = mapped(value, overrideFor(panel, c, 'mappings'));
        const unit = overrideFor(panel, c, 'unit') ?? defaults.unit;
        td.textContent =
          mapping?.text ??
          (typeof value === 'number' ? fmt(value, unit, overrideFor(panel, c, 'decimals') ?? defaults.decimals) : (value ?? ''));
        if (mapping?.color) td.style.color = color(mapping.color);
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
    body.style.overflow = 'hidden';
    body.appendChild(table);
  }
}
