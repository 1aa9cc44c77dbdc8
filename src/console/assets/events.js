// Events / DORA: the four DORA keys of a service and environment over a
// period, each with its band and the numbers behind it; the same over time;
// the events themselves; and where each webhook source sends its events.
// Dates are whole UTC days, as the API reads `YYYY-MM-DD`.

import { api, h, ApiError, describeFailure, errorMessage, readJson, setStatus } from './console.js';
import { barChart } from './chart.js';
import { gapLineChart } from './charts-extra.js';

const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 90;
const DAILY_BARS_UP_TO_DAYS = 60; // longer periods: deployments per week
const MAX_WINDOWS = 26; // /v1/dora calls for the charts over time
const CONCURRENT_CALLS = 4; // the server answers several at once; 26 at once would crowd it
const TIMELINE_PAGE = 100;
const RECENT_EVENTS = 1000; // what the service and environment suggestions are read from
const KNOWN_KINDS = ['deploy', 'commit', 'stage', 'change_merged', 'incident_opened', 'incident_resolved'];
const FAILED_RESULTS = new Set(['failure', 'failed', 'error']); // as the API counts them
const LEAD_TIME_BUCKETS = [
  ['under_hour', '< 1 h'], ['under_day', '< 1 day'], ['under_week', '≤ 1 week'],
  ['under_month', '≤ 30 days'], ['longer', 'longer'],
];

export function render(container) {
  let drawing = null; // the AbortController of the keys and charts shown
  const controls = controlsForm(() => draw());
  const keys = h('div', { id: 'dora-keys', class: 'dora-keys' });
  const charts = h('div', { id: 'dora-charts', class: 'dora-charts' });
  const timeline = timelineSection();
  const pageLife = new AbortController(); // the suggestions' calls

  container.append(
    controls.element,
    h('section', { class: 'panel', 'aria-labelledby': 'dora-keys-title' },
      h('h2', { id: 'dora-keys-title' }, 'The four keys'), keys),
    h('section', { class: 'panel', 'aria-labelledby': 'dora-charts-title' },
      h('h2', { id: 'dora-charts-title' }, 'Over time'), charts),
    timeline.element,
    webhookSection(),
  );

  function draw() {
    const scope = controls.read();
    if (!scope) return;
    drawing?.abort();
    drawing = new AbortController();
    const { signal } = drawing;
    const dora = getJson('/v1/dora', scopeParams(scope), signal);
    drawKeys(keys, dora, signal);
    drawCharts(charts, scope, dora, signal);
    timeline.show(scope);
  }

  loadSuggestions(controls, timeline, pageLife.signal);
  draw();
  return () => {
    pageLife.abort();
    drawing?.abort();
    timeline.abort();
  };
}

// ---------------------------------------------------------------- helpers

/** GET `path` with the non-empty `params`; the JSON body, or an ApiError. */
async function getJson(path, params, signal) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== '' && value !== null && value !== undefined) query.set(name, String(value));
  }
  const text = query.toString();
  const response = await api(text ? `${path}?${text}` : path, { signal });
  if (!response.ok) throw new ApiError(response.status, await describeFailure(response));
  const body = await readJson(response);
  if (body === null) throw new ApiError(response.status, `${path} answered something that is not JSON.`);
  return body;
}

/** The query parameters every call of the page shares. */
function scopeParams(scope) {
  return { service: scope.service, environment: scope.environment, from: scope.from, to: scope.to };
}

/** `work(item)` for every item, at most `limit` at a time; results in order.
 * The first failure rejects, and no further item is started. */
async function mapLimited(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await work(items[index]);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const isAbort = (error, signal) => signal?.aborted || error?.name === 'AbortError';
const dateText = (ms) => new Date(ms).toISOString().slice(0, 10);
const parseDate = (text) => (/^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : NaN);
const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);

function formatNumber(value, digits = 1) {
  return isNumber(value) ? value.toLocaleString('en', { maximumFractionDigits: digits }) : '–';
}

function formatPercent(rate) {
  return isNumber(rate) ? `${formatNumber(rate * 100, 1)}%` : '–';
}

/** A duration for people: 40 s, 45 min, 3.2 h, 2.1 d. */
export function formatDuration(seconds) {
  if (!isNumber(seconds)) return '–';
  const tenths = (n) => (n >= 10 ? Math.round(n).toString() : n.toFixed(1));
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${tenths(seconds / 3600)} h`;
  return `${tenths(seconds / 86400)} d`;
}

/** `2024-05-01T10:00:00Z` as `2024-05-01 10:00` (UTC, like the period). */
function formatTime(event) {
  const ms = isNumber(event.time_ms) ? event.time_ms : Date.parse(event.time);
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 16).replace('T', ' ') : String(event.time ?? '');
}

/** The smallest of 1, 2, 5 × 10ⁿ at or above `value`: a round top for a scale. */
function roundUp(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((top) => top >= value);
}

function setState(element, state) {
  element.dataset.state = state;
  if (state === 'loading') element.setAttribute('aria-busy', 'true');
  else element.removeAttribute('aria-busy');
}

/** A table only screen readers see: the numbers a chart draws. */
function hiddenTable(caption, headers, rows) {
  // The wrapper hides it: a table box grows to its content whatever its width.
  return h('div', { class: 'visually-hidden' }, h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((text) => h('th', { scope: 'col' }, text)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, i) =>
      (i === 0 ? h('th', { scope: 'row' }, String(cell)) : h('td', {}, String(cell)))))))));
}

/** Text with `code` spans, from a constant of this file (never server data). */
function withCode(text) {
  return text.split('`').map((part, i) => (i % 2 ? h('code', {}, part) : part));
}

function fillDatalist(list, values) {
  list.replaceChildren(...[...values].sort().map((value) => h('option', { value })));
}

// ---------------------------------------------------------------- controls

function controlsForm(onSubmit) {
  const until = Date.parse(`${dateText(Date.now())}T00:00:00Z`) + DAY_MS; // the end of today
  const field = (label, input, ...extra) => h('div', { class: 'dora-field' },
    h('label', { for: input.id }, label), input, ...extra);
  const service = h('input', {
    id: 'dora-service', name: 'service', type: 'text', list: 'dora-services', autocomplete: 'off',
    placeholder: 'every service',
  });
  const environment = h('input', {
    id: 'dora-environment', name: 'environment', type: 'text', list: 'dora-environments', autocomplete: 'off',
    placeholder: 'production', 'aria-describedby': 'dora-environment-hint',
  });
  const from = h('input', { id: 'dora-from', name: 'from', type: 'date', required: true, value: dateText(until - DEFAULT_DAYS * DAY_MS) });
  const to = h('input', { id: 'dora-to', name: 'to', type: 'date', required: true, value: dateText(until - DAY_MS) });
  const services = h('datalist', { id: 'dora-services' });
  const environments = h('datalist', { id: 'dora-environments' });
  const status = h('p', { id: 'dora-form-status', class: 'status', role: 'status' });
  const form = h('form', { id: 'dora-form', class: 'dora-form', 'aria-describedby': 'dora-form-status' },
    h('div', { class: 'dora-fields' },
      field('Service', service, services),
      field('Environment', environment, environments),
      field('From', from),
      field('To (inclusive)', to),
      h('div', { class: 'dora-field dora-submit' }, h('button', { id: 'dora-submit', type: 'submit', class: 'primary' }, 'Show'))),
    h('p', { id: 'dora-environment-hint', class: 'muted dora-hint' },
      'An empty environment means production, and deployments that name none, for the four keys; ',
      'the deploy chart and the events below then show every environment. Days are UTC.'),
    status);
  form.addEventListener('submit', (event) => {
    event.preventDefault(); // never a real submission (form-action 'none')
    onSubmit();
  });

  return {
    element: h('section', { class: 'panel', 'aria-labelledby': 'dora-form-title' },
      h('h2', { id: 'dora-form-title' }, 'Service and period'), form),
    setSuggestions(serviceNames, environmentNames) {
      fillDatalist(services, serviceNames);
      fillDatalist(environments, environmentNames);
    },
    /** The scope asked for, or null (and the reason shown) when it is not valid. */
    read() {
      const fromMs = parseDate(from.value);
      const lastDayMs = parseDate(to.value);
      if (!Number.isFinite(fromMs) || !Number.isFinite(lastDayMs)) {
        setStatus(status, 'Choose both dates of the period.', 'error');
        return null;
      }
      if (fromMs > lastDayMs) {
        setStatus(status, 'The period must start on or before its last day.', 'error');
        return null;
      }
      setStatus(status, '');
      const toMs = lastDayMs + DAY_MS; // the API's `to` is exclusive
      return {
        service: service.value.trim(), environment: environment.value.trim(),
        from: dateText(fromMs), to: dateText(toMs), fromMs, toMs, days: (toMs - fromMs) / DAY_MS,
      };
    },
  };
}

/** Services, environments and kinds seen in the newest events, and the
 * engineers: suggestions only, so a failure leaves the lists empty. */
async function loadSuggestions(controls, timeline, signal) {
  try {
    let page;
    try {
      page = await getJson('/v1/events', { limit: RECENT_EVENTS }, signal);
    } catch (error) {
      // A server configured with a smaller events.max_per_page refuses 1000.
      if (!(error instanceof ApiError) || error.status !== 422) throw error;
      page = await getJson('/v1/events', {}, signal);
    }
    const seen = (name) => new Set((page.events ?? []).map((e) => e[name]).filter(Boolean));
    controls.setSuggestions(seen('service'), seen('environment'));
    timeline.addKinds(seen('kind'));
  } catch { /* the fields still take any text */ }
  try {
    const { engineers = [] } = await getJson('/v1/engineers', {}, signal);
    timeline.setActors(engineers.map((e) => e.engineer).filter(Boolean));
  } catch { /* likewise */ }
}

// ---------------------------------------------------------------- the four keys

async function drawKeys(keys, dora, signal) {
  setState(keys, 'loading');
  keys.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    const report = await dora;
    if (signal.aborted) return;
    keys.replaceChildren(...keyCards(report));
    setState(keys, 'ready');
  } catch (error) {
    if (isAbort(error, signal)) return;
    keys.replaceChildren(h('p', { class: 'error', id: 'dora-keys-error' }, `Cannot compute the keys: ${errorMessage(error)}`));
    setState(keys, 'error');
  }
}

function keyCards(report) {
  const frequency = report.deployment_frequency ?? {};
  const lead = report.lead_time_for_changes ?? {};
  const failure = report.change_failure_rate ?? {};
  const recovery = report.failed_deployment_recovery_time ?? {};
  const often = isNumber(frequency.per_day) && frequency.per_day >= 1;
  return [
    keyCard('deployment-frequency', 'Deployment frequency', frequency.band,
      often ? `${formatNumber(frequency.per_day, 2)} per day` : `${formatNumber(frequency.per_week, 2)} per week`, [
        ['Successful deployments', formatNumber(frequency.deployments, 0)],
        ['Days', formatNumber(frequency.days)],
        ['Per day', formatNumber(frequency.per_day, 2)],
        ['Per week', formatNumber(frequency.per_week, 2)],
      ]),
    keyCard('lead-time', 'Lead time for changes', lead.band, `median ${formatDuration(lead.median_seconds)}`, [
      ['Median', formatDuration(lead.median_seconds)],
      ['90th percentile', formatDuration(lead.p90_seconds)],
      ['Changes measured', formatNumber(lead.changes, 0)],
      ['No commit seen', formatNumber(lead.without_start, 0)],
    ]),
    keyCard('change-failure-rate', 'Change failure rate', failure.band, formatPercent(failure.rate), [
      ['Deployments', formatNumber(failure.deployments, 0)],
      ['Failed', formatNumber(failure.failed_deployments, 0)],
      ['Failed by their result', formatNumber(failure.failed_by_result, 0)],
      ['Incidents attributed', formatNumber(failure.incidents, 0)],
    ]),
    keyCard('recovery-time', 'Failed deployment recovery time', recovery.band,
      `median ${formatDuration(recovery.median_seconds)}`, [
        ['Median', formatDuration(recovery.median_seconds)],
        ['90th percentile', formatDuration(recovery.p90_seconds)],
        ['Recoveries', formatNumber(recovery.recoveries, 0)],
        ['Incidents unresolved', formatNumber(recovery.unresolved_incidents, 0)],
      ]),
  ];
}

function keyCard(id, title, band, headline, facts) {
  const known = ['elite', 'high', 'medium', 'low'].includes(band);
  return h('article', { class: 'dora-key', id: `dora-key-${id}`, 'data-band': known ? band : 'none', 'aria-labelledby': `dora-key-${id}-title` },
    h('h3', { id: `dora-key-${id}-title` }, title),
    h('p', { class: 'dora-key-value' }, headline),
    h('p', { class: 'dora-key-band' },
      h('span', { class: 'visually-hidden' }, 'Performance band: '),
      h('span', { class: `band band-${known ? band : 'none'}` }, known ? band : 'no data')),
    h('dl', { class: 'facts' }, facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])));
}

// ---------------------------------------------------------------- charts

/** A <figure> whose body is "Loading…" until shown, emptied or failed. */
function chartFigure(name, caption) {
  const body = h('div', { class: 'chart-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const element = h('figure', { class: 'dora-chart', 'data-chart': name }, h('figcaption', {}, caption), body);
  setState(element, 'loading');
  const settle = (state, nodes) => {
    body.replaceChildren(...nodes);
    setState(element, state);
  };
  return {
    element,
    show: (...nodes) => settle('ready', nodes),
    empty: (text) => settle('empty', [h('p', { class: 'muted chart-empty' }, text)]),
    fail: (error) => settle('error', [h('p', { class: 'error' }, errorMessage(error))]),
  };
}

/** The first and last labels under a chart without its own axis labels. */
function scaleRow(first, last) {
  return h('div', { class: 'chart-scale muted', 'aria-hidden': 'true' }, h('span', {}, first), h('span', {}, last));
}

async function drawCharts(charts, scope, dora, signal) {
  const bucket = scope.days > DAILY_BARS_UP_TO_DAYS ? 'week' : 'day';
  const windows = windowsOf(scope);
  const per = windows.weeks === 1 ? 'week' : `${windows.weeks} weeks`;
  const where = scope.environment || 'every environment';
  const deployments = chartFigure('deployments', `Deploy events per ${bucket} (any result, ${where})`);
  const leadTime = chartFigure('lead-time', 'Lead time for changes: changes by how long they took');
  const failureRate = chartFigure('failure-rate', `Change failure rate per ${per}`);
  const recovery = chartFigure('recovery', `Median time to restore per ${per} (hours)`);
  charts.replaceChildren(deployments.element, leadTime.element, failureRate.element, recovery.element);
  setState(charts, 'loading');

  const guard = (figure, work) => work().catch((error) => {
    if (!isAbort(error, signal)) figure.fail(error);
    throw error;
  });
  const results = await Promise.allSettled([
    guard(deployments, () => drawDeployments(deployments, scope, bucket, signal)),
    guard(leadTime, async () => drawLeadTime(leadTime, await dora)),
    guard(failureRate, () => drawWeekly(failureRate, recovery, scope, windows, signal)),
  ]);
  if (signal.aborted) return;
  // The weekly series feed two charts: a failure there fails both.
  if (results[2].status === 'rejected') recovery.fail(results[2].reason);
  setState(charts, results.every((r) => r.status === 'fulfilled') ? 'ready' : 'error');
}

async function drawDeployments(figure, scope, bucket, signal) {
  const summary = await getJson('/v1/events/summary', { ...scopeParams(scope), bucket, kind: 'deploy' }, signal);
  if (signal.aborted) return;
  const bars = (summary.buckets ?? []).map((b) => ({ label: String(b.start ?? '').slice(0, 10), value: b.counts?.deploy ?? 0 }));
  const total = bars.reduce((sum, bar) => sum + bar.value, 0);
  if (total === 0) {
    figure.empty('No data: no deploy events in this period.');
    return;
  }
  const most = Math.max(...bars.map((bar) => bar.value));
  const summaryText = `${total} deploy events in ${bars.length} ${bucket}s, at most ${most} in a ${bucket}.`;
  figure.show(
    barChart(bars, { width: 400, height: 120, label: summaryText, formatValue: (v) => `${v} deploys` }),
    scaleRow(bars[0].label, bars[bars.length - 1].label),
    h('p', { class: 'chart-note muted', 'aria-hidden': 'true' }, `${total} in all, at most ${most} a ${bucket}.`),
    hiddenTable(summaryText, [bucket === 'week' ? 'Week from' : 'Day', 'Deploy events'], bars.map((b) => [b.label, b.value])));
}

function drawLeadTime(figure, report) {
  const distribution = report?.lead_time_for_changes?.distribution;
  if (!distribution || typeof distribution !== 'object') {
    figure.empty('No data: this server does not report the distribution of lead times.');
    return;
  }
  const bars = LEAD_TIME_BUCKETS.map(([key, label]) => ({ label, value: Number(distribution[key]) || 0 }));
  const total = bars.reduce((sum, bar) => sum + bar.value, 0);
  if (total === 0) {
    figure.empty('No data: no change was both started and deployed in this period.');
    return;
  }
  const summaryText = `${total} changes: ${bars.map((b) => `${b.value} ${b.label}`).join(', ')}.`;
  figure.show(
    barChart(bars, { width: 400, height: 140, labels: true, label: summaryText, formatValue: (v) => `${v} changes` }),
    hiddenTable(summaryText, ['Lead time', 'Changes'], bars.map((b) => [b.label, b.value])));
}

/** The period cut into at most MAX_WINDOWS windows of whole weeks (the last
 * one may be shorter). */
function windowsOf(scope) {
  const weeks = Math.max(1, Math.ceil(Math.ceil(scope.days / 7) / MAX_WINDOWS));
  const step = weeks * 7 * DAY_MS;
  const list = [];
  for (let start = scope.fromMs; start < scope.toMs; start += step) {
    list.push({ from: dateText(start), to: dateText(Math.min(start + step, scope.toMs)) });
  }
  return { weeks, list };
}

async function drawWeekly(failureFigure, recoveryFigure, scope, windows, signal) {
  const reports = await mapLimited(windows.list, CONCURRENT_CALLS, (window) =>
    getJson('/v1/dora', { ...scopeParams(scope), from: window.from, to: window.to }, signal));
  if (signal.aborted) return;
  const rows = windows.list.map((window, i) => ({ label: window.from, report: reports[i] }));

  const rates = rows.map(({ label, report }) => {
    const rate = report.change_failure_rate?.rate;
    return { label, value: isNumber(rate) ? rate * 100 : null, cfr: report.change_failure_rate ?? {} };
  });
  const percent = (v) => `${formatNumber(v, 1)}%`;
  drawLine(failureFigure, rates, {
    empty: 'No data: no deployment in any week of this period.',
    formatValue: percent,
    summary: (shown) => `Change failure rate per ${windows.weeks === 1 ? 'week' : `${windows.weeks} weeks`}, ${shown} with deployments.`,
    headers: ['Week from', 'Change failure rate', 'Deployments', 'Failed'],
    cells: (p) => [p.label, p.value === null ? 'no deployments' : percent(p.value), p.cfr.deployments ?? 0, p.cfr.failed_deployments ?? 0],
  });

  const hours = rows.map(({ label, report }) => {
    const median = report.failed_deployment_recovery_time?.median_seconds;
    return { label, value: isNumber(median) ? median / 3600 : null, recovery: report.failed_deployment_recovery_time ?? {} };
  });
  drawLine(recoveryFigure, hours, {
    empty: 'No data: nothing failed and recovered in this period.',
    formatValue: (v) => `${formatNumber(v, v < 10 ? 1 : 0)} h`,
    summary: (shown) => `Median time to restore, ${shown} with a recovery.`,
    headers: ['Week from', 'Median time to restore', 'Recoveries'],
    cells: (p) => [p.label, p.value === null ? 'none' : formatDuration(p.value * 3600), p.recovery.recoveries ?? 0],
  });
}

function drawLine(figure, points, { empty, formatValue, summary, headers, cells }) {
  const shown = points.filter((p) => p.value !== null);
  if (shown.length === 0) {
    figure.empty(empty);
    return;
  }
  const range = `${shown.length} of ${points.length} windows`;
  const values = shown.map((p) => `${p.label}: ${formatValue(p.value)}`).join('; ');
  figure.show(
    gapLineChart(points, {
      width: 400, height: 150, label: `${summary(range)} ${values}.`, formatValue,
      yMax: roundUp(Math.max(...shown.map((p) => p.value))),
    }),
    hiddenTable(summary(range), headers, points.map(cells)));
}

// ---------------------------------------------------------------- timeline

function timelineSection() {
  const kinds = new Set(KNOWN_KINDS);
  const kind = h('select', { id: 'timeline-kind', name: 'kind' });
  const actor = h('input', { id: 'timeline-actor', name: 'actor', type: 'text', list: 'timeline-actors', autocomplete: 'off', placeholder: 'any engineer' });
  const actors = h('datalist', { id: 'timeline-actors' });
  // Focusable: it scrolls, and keyboard users scroll it too.
  const list = h('ol', { id: 'event-timeline', class: 'timeline', tabindex: '0', 'aria-label': 'Events, newest first', 'aria-describedby': 'timeline-status' });
  const status = h('p', { id: 'timeline-status', class: 'status', role: 'status' });
  const more = h('button', { id: 'timeline-more', type: 'button', hidden: true }, 'More');
  const filters = h('form', { id: 'timeline-filters', class: 'dora-fields' },
    h('div', { class: 'dora-field' }, h('label', { for: 'timeline-kind' }, 'Kind'), kind),
    h('div', { class: 'dora-field' }, h('label', { for: 'timeline-actor' }, 'Engineer'), actor, actors),
    h('div', { class: 'dora-field dora-submit' }, h('button', { id: 'timeline-apply', type: 'submit' }, 'Filter')));
  let scope = null;
  let cursor = null;
  let loading = null; // the AbortController of the page being read

  function renderKinds() {
    const chosen = kind.value;
    kind.replaceChildren(h('option', { value: '' }, 'Every kind'), ...[...kinds].map((k) => h('option', { value: k }, k)));
    kind.value = kinds.has(chosen) ? chosen : '';
  }

  async function load(append) {
    if (!scope) return;
    loading?.abort();
    loading = new AbortController();
    const { signal } = loading;
    setState(list, 'loading');
    more.disabled = true;
    setStatus(status, 'Loading…');
    try {
      const page = await getJson('/v1/events', {
        ...scopeParams(scope), kind: kind.value, actor: actor.value.trim(),
        limit: TIMELINE_PAGE, cursor: append ? cursor : '',
      }, signal);
      const rows = (page.events ?? []).map(eventRow);
      if (append) list.append(...rows); else list.replaceChildren(...rows);
      cursor = page.next_cursor ?? null;
      more.hidden = !cursor;
      const count = list.children.length;
      setStatus(status, count === 0 ? 'No events match.'
        : `${count} events, newest first${cursor ? '; More reads older ones' : ''}. Times are UTC.`);
      setState(list, 'ready');
    } catch (error) {
      if (isAbort(error, signal)) return;
      setStatus(status, `Cannot list the events: ${errorMessage(error)}`, 'error');
      setState(list, 'error');
    } finally {
      if (!signal.aborted) more.disabled = false;
    }
  }

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    load(false);
  });
  kind.addEventListener('change', () => load(false));
  more.addEventListener('click', () => load(true));
  renderKinds();

  return {
    element: h('section', { class: 'panel', 'aria-labelledby': 'timeline-title' },
      h('h2', { id: 'timeline-title' }, 'Events'),
      filters, status, list, h('div', { class: 'row' }, more)),
    show(newScope) {
      scope = newScope;
      load(false);
    },
    addKinds(names) {
      for (const name of names) kinds.add(name);
      renderKinds();
    },
    setActors(names) {
      fillDatalist(actors, new Set(names));
    },
    abort() {
      loading?.abort();
    },
  };
}

function eventRow(event) {
  const result = event.result ?? '';
  const failed = FAILED_RESULTS.has(String(result).toLowerCase());
  const labelled = (label, className, value) => h('span', { class: className },
    h('span', { class: 'visually-hidden' }, `${label}: `), value || '–');
  return h('li', { class: 'timeline-event', 'data-id': event.id, 'data-kind': event.kind },
    h('time', { class: 'event-time', datetime: event.time }, formatTime(event)),
    h('span', { class: 'event-kind' }, event.kind),
    labelled('service', 'event-service', event.service),
    labelled('environment', 'event-environment', event.environment),
    labelled('engineer', 'event-actor', event.actor),
    h('span', { class: 'event-sha' }, h('span', { class: 'visually-hidden' }, 'sha: '),
      event.sha ? h('code', { title: event.sha }, String(event.sha).slice(0, 7)) : '–'),
    labelled('result', `event-result${failed ? ' bad-text' : ''}`, result));
}

// ---------------------------------------------------------------- webhooks

// From docs/events.md, "Webhooks" and its "Setting up" sections.
const WEBHOOKS = [
  {
    source: 'github', name: 'GitHub', setting: 'events.github_secret', variable: 'ECHOBASE_EVENTS__GITHUB_SECRET',
    steps: [
      'In the repository or organisation: Settings → Webhooks → Add webhook. Payload URL: the URL above; content type `application/json` (GitHub’s default form works too); Secret: a long random value.',
      'Set the same value as `events.github_secret`.',
      'Send the events Deployment statuses, Workflow runs (a workflow whose name or path holds `deploy` is a deploy: `events.github_deploy_workflow`), Pushes, and Issues (labelled `incident`: `events.incident_label`).',
    ],
  },
  {
    source: 'gitlab', name: 'GitLab', setting: 'events.gitlab_token', variable: 'ECHOBASE_EVENTS__GITLAB_TOKEN',
    steps: [
      'In the project or group: Settings → Webhooks → Add new webhook, with the URL above and a long random Secret token (sent as `X-Gitlab-Token`).',
      'Set the same value as `events.gitlab_token`.',
      'Trigger on Deployment events, Pipeline events and Push events. An instance’s system hooks may use the same URL (pushes become commits).',
    ],
  },
  {
    source: 'pagerduty', name: 'PagerDuty', setting: 'events.pagerduty_secret', variable: 'ECHOBASE_EVENTS__PAGERDUTY_SECRET',
    steps: [
      'In PagerDuty: Integrations → Generic Webhooks (v3) → New Webhook, with the URL above; scope Service or Account; subscribe at least to `incident.triggered`, `incident.resolved` and `incident.reopened`.',
      'Copy the signing secret PagerDuty shows once the webhook is created into `events.pagerduty_secret`.',
      'Send Test Event (answered `202`). Name each PagerDuty service as its deploys name the service.',
    ],
  },
  {
    source: 'opsgenie', name: 'Opsgenie', setting: 'events.opsgenie_token', variable: 'ECHOBASE_EVENTS__OPSGENIE_TOKEN',
    steps: [
      'In Opsgenie: Settings → Integrations → Add integration → Webhook, with the URL above; under Custom headers add `X-Opsgenie-Token` with a long random value.',
      'Set the same value as `events.opsgenie_token`.',
      'Keep at least the alert actions Alert is created and Alert is closed; name the service in the alert’s entity (or a `service:<name>` tag).',
    ],
  },
  {
    source: 'jenkins', name: 'Jenkins', setting: 'events.jenkins_token', variable: 'ECHOBASE_EVENTS__JENKINS_TOKEN',
    steps: [
      'Install the Notification plugin (Manage Jenkins → Plugins).',
      'Set a token of letters and digits as `events.jenkins_token`; if deploy jobs are not named …deploy…, set `events.jenkins_deploy_job`.',
      'In the deploy job: Configure → Job Notifications → Add Endpoint: Format JSON, Protocol HTTP, Event Job Completed, URL: the URL above with `jenkins:<token>@` before the host. Give the job parameters `SERVICE` and `ENVIRONMENT`.',
    ],
  },
  {
    source: 'argocd', name: 'Argo CD', setting: 'events.argocd_token', variable: 'ECHOBASE_EVENTS__ARGOCD_TOKEN',
    steps: [
      'Put a token in `argocd-notifications-secret` (key `echobase-token`) and set the same value as `events.argocd_token`.',
      'In `argocd-notifications-cm`: a `service.webhook.echobase` whose url is this server (without the path) with the header `Authorization: Bearer $echobase-token`, and the templates `app-deployed` and `app-sync-failed` posting the body of docs/events.md to `/v1/webhooks/argocd`, with their triggers.',
      'Subscribe each application with the annotations `notifications.argoproj.io/subscribe.on-deployed.echobase` and `…on-sync-failed.echobase`.',
    ],
  },
  {
    source: 'cloudevents', name: 'CloudEvents / CDEvents', setting: null,
    steps: [
      'Point the producer’s HTTP sink at the URL above: structured, batch or binary mode, or a bare CDEvent.',
      'Used types: `dev.cdevents.service.deployed` and `…upgraded` (deploys), `incident.detected` / `incident.resolved`, `change.merged`; others are answered `202`.',
      'Put the commit in `customData.sha`, so lead time finds its change.',
    ],
  },
];

function webhookSection() {
  return h('section', { id: 'webhook-setup', class: 'panel', 'aria-labelledby': 'webhook-title' },
    h('h2', { id: 'webhook-title' }, 'Webhooks'),
    h('p', { class: 'muted' }, 'Each source posts to its own URL. Until its secret or token is set, a route answers 503 naming the setting; a wrong one is a 401 and stores nothing.'),
    WEBHOOKS.map(webhookEntry));
}

function webhookEntry(hook) {
  const urlId = `webhook-url-${hook.source}`;
  const url = h('input', {
    id: urlId, type: 'text', readonly: true, class: 'code webhook-url', value: `${location.origin}/v1/webhooks/${hook.source}`,
  });
  const copied = h('span', { id: `webhook-copied-${hook.source}`, class: 'status webhook-copied', role: 'status' });
  const copy = h('button', { type: 'button', class: 'webhook-copy', 'aria-label': `Copy the ${hook.name} URL` }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(url.value); // missing over plain HTTP: the catch selects instead
      copied.textContent = 'Copied.';
      copied.classList.add('ok');
    } catch {
      url.focus();
      url.select();
      copied.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
      copied.classList.remove('ok');
    }
  });
  const secret = hook.setting
    ? h('p', {}, 'Secret: ', h('code', {}, hook.setting), ' (environment: ', h('code', {}, hook.variable), ')')
    : h('p', {}, 'No secret: this route takes no authentication, so put it behind your gateway.');
  return h('details', { class: 'webhook', 'data-source': hook.source },
    h('summary', {}, hook.name, ' ', h('span', { class: 'muted' }, `/v1/webhooks/${hook.source}`)),
    h('div', { class: 'webhook-body' },
      h('label', { for: urlId }, 'URL to paste'),
      h('div', { class: 'row' }, url, copy, copied),
      secret,
      h('ol', { class: 'webhook-steps' }, hook.steps.map((step) => h('li', {}, withCode(step))))));
}
