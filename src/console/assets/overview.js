// Overview: the modules this server runs, its readiness, and each module's
// request and error rates, computed from /metrics samples taken every 5 s.

import { api, h, describeFailure, errorMessage, readJson } from './console.js';
import { sparkline } from './chart.js';

const POLL_MS = 5000;
const KEEP_MS = 15 * 60 * 1000;
const ERROR_WINDOW_MS = 60 * 1000;

// Samples outlive the page, so coming back shows the history kept so far.
// Each: { at: ms, counts: Map(module -> { total, '4xx', '5xx' }) }.
const samples = [];

export function render(container, { access }) {
  const readiness = h('dl', { id: 'readiness', class: 'facts' });
  const trafficStatus = h('p', { id: 'traffic-status', class: 'muted' }, 'measuring…');
  const trafficBody = h('tbody');
  const traffic = h('table', { id: 'module-rates', class: 'data' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Module'),
      h('th', { scope: 'col', class: 'num' }, 'Requests/s'),
      h('th', { scope: 'col', class: 'num' }, '4xx (last min)'),
      h('th', { scope: 'col', class: 'num' }, '5xx (last min)'),
      h('th', { scope: 'col' }, 'Requests/s, last 15 min'))),
    trafficBody);

  container.append(
    h('section', { class: 'panel', 'aria-labelledby': 'modules-title' },
      h('h2', { id: 'modules-title' }, 'Modules'),
      modulesList(access)),
    h('section', { class: 'panel', 'aria-labelledby': 'readiness-title' },
      h('h2', { id: 'readiness-title' }, 'Readiness'),
      readiness),
    h('section', { class: 'panel', 'aria-labelledby': 'traffic-title' },
      h('h2', { id: 'traffic-title' }, 'Traffic'),
      trafficStatus,
      h('div', { class: 'scroll-x' }, traffic)),
  );

  const controller = new AbortController();
  loadReadiness(readiness, controller.signal);
  const moduleNames = (access?.modules ?? []).map((m) => m.name);
  const poll = async () => {
    try {
      await takeSample(controller.signal);
      renderTraffic(trafficBody, trafficStatus, moduleNames);
    } catch (error) {
      if (controller.signal.aborted) return;
      trafficStatus.textContent = `Cannot read /metrics: ${errorMessage(error)}`;
    }
  };
  if (samples.length) renderTraffic(trafficBody, trafficStatus, moduleNames);
  poll();
  const timer = setInterval(poll, POLL_MS);
  return () => {
    clearInterval(timer);
    controller.abort();
  };
}

function modulesList(access) {
  const modules = access?.modules ?? [];
  if (modules.length === 0) return h('p', { class: 'muted', id: 'modules' }, 'Unknown: /v1/access did not answer.');
  return h('ul', { id: 'modules', class: 'chips' }, modules.map((module) => {
    const rights = module.write ? 'read and write' : module.read ? 'read only' : 'no access';
    return h('li', { class: `module ${module.read ? '' : 'locked'}`.trim(), 'data-module': module.name },
      h('strong', {}, module.name), ' ', h('span', { class: 'muted' }, rights));
  }));
}

async function loadReadiness(list, signal) {
  const fact = (term, id, ...value) => [h('dt', {}, term), h('dd', { id }, ...value)];
  try {
    const response = await api('/readyz', { signal });
    if (!response.ok) {
      list.replaceChildren(
        ...fact('Status', 'readiness-status', h('span', { class: 'badge bad' }, 'not ready')),
        ...fact('Why', 'readiness-detail', await describeFailure(response)));
      return;
    }
    const ready = await readJson(response) ?? {};
    const good = ready.status === 'ready';
    const rows = [
      ...fact('Status', 'readiness-status', h('span', { class: `badge ${good ? 'good' : 'warn'}` }, ready.status ?? '?')),
      ...fact('Database', 'readiness-database', ready.database ?? '?'),
    ];
    if (ready.tls) {
      rows.push(...fact('TLS certificate', 'readiness-tls', `expires in ${ready.tls.days_left} days`));
    }
    if (ready.warnings?.length) {
      rows.push(...fact('Warnings', 'readiness-warnings-cell',
        h('ul', { id: 'readiness-warnings' }, ready.warnings.map((w) => h('li', { class: 'warning' }, w)))));
    }
    list.replaceChildren(...rows);
  } catch (error) {
    if (!signal.aborted) list.replaceChildren(...fact('Status', 'readiness-status', errorMessage(error)));
  }
}

// ---------------------------------------------------------------- metrics

async function takeSample(signal) {
  const response = await api('/metrics', { signal });
  if (!response.ok) throw new Error(await describeFailure(response));
  const counts = parseRequestCounts(await response.text());
  const at = Date.now();
  samples.push({ at, counts });
  while (samples.length > 2 && samples[0].at < at - KEEP_MS) samples.shift();
}

/** Sums `http_requests_total` per module and status class. Series without a
 * `module` label count under "other". */
export function parseRequestCounts(text) {
  const counts = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith('http_requests_total{')) continue;
    const sample = parseSampleLine(line);
    if (!sample) continue;
    const module = sample.labels.module || 'other';
    const status = sample.labels.status ?? '';
    const statusClass = /^\d/.test(status) ? `${status[0]}xx` : status;
    const sum = counts.get(module) ?? { total: 0, '4xx': 0, '5xx': 0 };
    sum.total += sample.value;
    if (statusClass === '4xx' || statusClass === '5xx') sum[statusClass] += sample.value;
    counts.set(module, sum);
  }
  return counts;
}

/** `name{a="x",b="y\"z"} 12 [timestamp]` -> { labels, value }, or null. Label
 * values may hold escaped quotes and braces (route templates do), so the
 * labels are read one by one rather than up to the first `}`. */
function parseSampleLine(line) {
  const label = /\s*(\w+)="((?:[^"\\]|\\.)*)"\s*,?/y;
  const labels = {};
  let end = line.indexOf('{') + 1;
  label.lastIndex = end;
  for (let match; (match = label.exec(line)); end = label.lastIndex) {
    labels[match[1]] = match[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
  }
  if (line[end] !== '}') return null;
  const value = Number(line.slice(end + 1).trim().split(/\s+/)[0]);
  return Number.isFinite(value) ? { labels, value } : null;
}

/** The increase of a counter between two samples; a smaller value means the
 * server restarted, so the counter began again at 0. */
function increase(before, after) {
  return after >= before ? after - before : after;
}

const zero = { total: 0, '4xx': 0, '5xx': 0 };

function rateSeries(module) {
  const points = [];
  for (let i = 1; i < samples.length; i++) {
    const seconds = (samples[i].at - samples[i - 1].at) / 1000;
    const before = samples[i - 1].counts.get(module) ?? zero;
    const after = samples[i].counts.get(module) ?? zero;
    points.push({ x: samples[i].at, y: seconds > 0 ? increase(before.total, after.total) / seconds : 0 });
  }
  return points;
}

/** The share of 4xx and 5xx answers over about the last minute, or null
 * when the module answered nothing then. */
function errorShares(module) {
  const last = samples[samples.length - 1];
  const first = samples.find((s) => s.at >= last.at - ERROR_WINDOW_MS - POLL_MS / 2) ?? samples[0];
  const a = first.counts.get(module) ?? zero;
  const b = last.counts.get(module) ?? zero;
  const total = increase(a.total, b.total);
  if (total === 0) return null;
  return { '4xx': increase(a['4xx'], b['4xx']) / total, '5xx': increase(a['5xx'], b['5xx']) / total };
}

function formatRate(rate) {
  return rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2);
}

function formatShare(share) {
  return share === null ? '–' : `${(share * 100).toFixed(share > 0 && share < 0.1 ? 1 : 0)}%`;
}

function renderTraffic(body, status, runningModules) {
  if (samples.length < 2) {
    status.textContent = 'measuring…';
    return;
  }
  const seconds = Math.round((samples[samples.length - 1].at - samples[0].at) / 1000);
  const span = seconds < 90 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
  status.textContent = `Updated every ${POLL_MS / 1000} s, over the last ${span}.`;
  // Running modules first, then any other the metrics name.
  const seen = new Set(runningModules);
  for (const sample of samples) for (const name of sample.counts.keys()) seen.add(name);
  body.replaceChildren(...[...seen].map((module) => {
    const series = rateSeries(module);
    const now = series[series.length - 1]?.y ?? 0;
    const shares = errorShares(module);
    return h('tr', { class: 'traffic-row', 'data-module': module },
      h('th', { scope: 'row' }, module),
      h('td', { class: 'num rate' }, formatRate(now)),
      h('td', { class: `num errors-4xx ${shares?.['4xx'] ? 'warn-text' : ''}`.trim() }, formatShare(shares?.['4xx'] ?? null)),
      h('td', { class: `num errors-5xx ${shares?.['5xx'] ? 'bad-text' : ''}`.trim() }, formatShare(shares?.['5xx'] ?? null)),
      h('td', {}, sparkline(series, { label: `${module}: requests per second, now ${formatRate(now)}` })));
  }));
}
