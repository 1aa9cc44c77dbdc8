// Mocks: the stubs (list, filters, a JSON editor that shows the server's
// errors at their fields), the request journal live from the server's event
// stream (with near misses for unmatched requests), and the scenarios.
// Everything goes through WireMock's admin API under /__admin.

import {
  api, h, ApiError, confirmAction, describeFailure, errorMessage, guarded, readJson, setStatus, sleep,
} from './console.js';
import { locatePointer, syntaxErrorOffset } from './json-text.js';
import { folderSection } from './mappings-folder.js';

const JOURNAL_ROWS = 200;
const URL_FIELDS = ['url', 'urlPath', 'urlPattern', 'urlPathPattern', 'urlPathTemplate'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'ANY'];
const NEW_STUB = {
  request: { method: 'GET', urlPath: '/hello' },
  response: { status: 200, headers: { 'Content-Type': 'application/json' }, jsonBody: { hello: 'world' } },
};

export function render(container) {
  const controller = new AbortController(); // ends the stream and timers on leave
  const scenarios = scenariosSection(controller.signal);
  const stubs = stubsSection(() => scenarios.refresh());
  const journal = journalSection(controller.signal, () => scenarios.refresh());
  const folder = folderSection(() => { stubs.refresh(); scenarios.refresh(); });
  container.append(stubs.element, journal.element, scenarios.element, folder.element);
  stubs.refresh();
  scenarios.refresh();
  return () => { controller.abort(); folder.cleanup(); };
}

function stubUrl(request = {}) {
  const field = URL_FIELDS.find((name) => request[name] != null);
  return field ? { field, value: String(request[field]) } : { field: '', value: 'any URL' };
}

// ---------------------------------------------------------------- stubs

function stubsSection(onStubsChanged) {
  let stubs = []; // the last list the server sent
  let editingId = null; // the stub in the editor; null: a new one

  const search = h('input', { id: 'stub-search', type: 'search', placeholder: 'Name, URL, id, metadata', 'aria-label': 'Search stubs' });
  const methodFilter = h('select', { id: 'stub-filter-method', 'aria-label': 'Method' });
  const scenarioFilter = h('select', { id: 'stub-filter-scenario', 'aria-label': 'Scenario' });
  const metadataFilter = h('input', { id: 'stub-filter-metadata', type: 'text', placeholder: 'metadata key=value', 'aria-label': 'Metadata key=value' });
  const count = h('p', { id: 'stub-count', class: 'muted' });
  const rows = h('tbody');
  const table = h('table', { id: 'stub-list', class: 'data' },
    h('thead', {}, h('tr', {}, ['Method', 'URL', 'Status', 'Name', 'Scenario', ''].map((t) => h('th', { scope: 'col' }, t)))),
    rows);

  const mode = h('p', { id: 'stub-editor-mode', class: 'muted' });
  const gutter = h('pre', { id: 'stub-gutter', class: 'gutter', 'aria-hidden': 'true' });
  const editor = h('textarea', {
    id: 'stub-editor', class: 'code', spellcheck: 'false', wrap: 'off', autocomplete: 'off',
    autocapitalize: 'off', rows: '22', 'aria-label': 'Stub as JSON', 'aria-describedby': 'stub-status',
  });
  const errors = h('ul', { id: 'stub-errors', class: 'field-errors' });
  const status = h('p', { id: 'stub-status', class: 'status', role: 'status' });
  const deleteButton = h('button', { id: 'stub-delete', type: 'button', class: 'danger' }, 'Delete');
  let errorLines = new Set();

  // ---- list and filters

  function matches(stub) {
    const request = stub.request ?? {};
    const text = search.value.trim().toLowerCase();
    if (text) {
      const haystack = [stub.name, stubUrl(request).value, stub.id, JSON.stringify(stub.metadata ?? '')].join('\n').toLowerCase();
      if (!haystack.includes(text)) return false;
    }
    if (methodFilter.value && (request.method ?? 'ANY') !== methodFilter.value) return false;
    if (scenarioFilter.value === 'none' && stub.scenarioName) return false;
    if (scenarioFilter.value.startsWith('name:') && stub.scenarioName !== scenarioFilter.value.slice(5)) return false;
    const wanted = metadataFilter.value.trim();
    if (wanted) {
      const [key, ...rest] = wanted.split('=');
      const metadata = stub.metadata ?? {};
      if (!Object.hasOwn(metadata, key.trim())) return false;
      if (rest.length) {
        const value = metadata[key.trim()];
        const shown = typeof value === 'string' ? value : JSON.stringify(value);
        if (shown !== rest.join('=').trim()) return false;
      }
    }
    return true;
  }

  function fillSelect(select, options) {
    const chosen = select.value;
    select.replaceChildren(...options.map(([value, label]) => h('option', { value }, label)));
    select.value = options.some(([value]) => value === chosen) ? chosen : '';
  }

  function renderList() {
    const methods = new Set(METHODS);
    for (const stub of stubs) methods.add(stub.request?.method ?? 'ANY');
    fillSelect(methodFilter, [['', 'Any method'], ...[...methods].map((m) => [m, m])]);
    const names = [...new Set(stubs.map((s) => s.scenarioName).filter(Boolean))].sort();
    fillSelect(scenarioFilter, [['', 'Any scenario'], ['none', 'No scenario'], ...names.map((n) => [`name:${n}`, n])]);
    const shown = stubs.filter(matches);
    count.textContent = `${shown.length} of ${stubs.length} stubs`;
    rows.replaceChildren(...shown.map((stub) => {
      const request = stub.request ?? {};
      const url = stubUrl(request);
      const scenario = stub.scenarioName
        ? `${stub.scenarioName}: ${stub.requiredScenarioState ?? 'any'} → ${stub.newScenarioState ?? 'same'}` : '';
      return h('tr', { class: `stub-row${stub.id === editingId ? ' selected' : ''}`, 'data-id': stub.id },
        h('td', {}, h('span', { class: 'method' }, request.method ?? 'ANY')),
        h('td', { class: 'url', title: url.field }, h('code', {}, url.value)),
        h('td', {}, String(stub.response?.status ?? 200)),
        h('td', {}, stub.name ?? ''),
        h('td', {}, scenario),
        h('td', {}, h('button', {
          type: 'button', class: 'stub-edit small', 'aria-label': `Edit ${stub.name || url.value}`,
          onclick: () => edit(stub),
        }, 'Edit')));
    }));
  }

  async function refresh() {
    try {
      const response = await api('/__admin/mappings');
      if (!response.ok) throw new ApiError(response.status, await describeFailure(response));
      stubs = (await readJson(response))?.mappings ?? [];
      renderList();
    } catch (error) {
      count.textContent = `Cannot list the stubs: ${errorMessage(error)}`;
    }
  }

  for (const control of [search, metadataFilter]) control.addEventListener('input', renderList);
  for (const control of [methodFilter, scenarioFilter]) control.addEventListener('change', renderList);

  // ---- editor

  function updateGutter() {
    const lines = editor.value.split('\n').length;
    const numbers = [];
    for (let n = 1; n <= lines; n++) numbers.push(h('span', { class: errorLines.has(n) ? 'error-line' : null }, `${n}\n`));
    gutter.replaceChildren(...numbers);
    gutter.scrollTop = editor.scrollTop;
  }

  function load(text, id) {
    editingId = id;
    editor.value = text;
    errors.replaceChildren();
    errorLines = new Set();
    deleteButton.hidden = !id;
    mode.textContent = id ? `Editing stub ${id}` : 'New stub: Save creates it.';
    updateGutter();
    editor.scrollTop = 0;
    renderList();
  }

  function edit(stub) {
    load(JSON.stringify(stub, null, 2), stub.id ?? null);
    setStatus(status, '');
    editor.focus();
    editor.setSelectionRange(0, 0);
  }

  function lineOf(offset) {
    return editor.value.slice(0, offset).split('\n').length;
  }

  /** Scrolls the editor (and its gutter) to a few lines above `offset`'s. */
  function scrollTo(offset) {
    const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 20;
    editor.scrollTop = Math.max(0, (lineOf(offset) - 4) * lineHeight);
    gutter.scrollTop = editor.scrollTop;
  }

  /** Selects [start, end) and scrolls to it (a textarea does not scroll to
   * a selection made by script). */
  function selectRange(start, end) {
    editor.focus();
    editor.setSelectionRange(start, end);
    scrollTo(start);
  }

  function showSyntaxError(error) {
    const offset = syntaxErrorOffset(error.message, editor.value);
    const message = `Not valid JSON: ${error.message}`;
    setStatus(status, message, 'error');
    errorLines = new Set(offset === null ? [] : [lineOf(offset)]);
    errors.replaceChildren(h('li', {}, h('button', {
      type: 'button', class: 'syntax-error', onclick: () => offset !== null && selectRange(offset, offset),
    }, message)));
    updateGutter();
    if (offset !== null) selectRange(offset, offset);
  }

  /** WireMock's `{"errors": [{source: {pointer}, title}]}`, each error shown
   * with its pointer; a click selects the field in the editor. */
  function showFieldErrors(list) {
    const located = list.map((error) => {
      const pointer = error?.source?.pointer ?? '';
      return { pointer, title: error?.title ?? error?.detail ?? 'refused', range: locatePointer(editor.value, pointer) };
    });
    errorLines = new Set(located.filter((e) => e.range).map((e) => lineOf(e.range.start)));
    errors.replaceChildren(...located.map(({ pointer, title, range }) => h('li', {},
      h('button', {
        type: 'button', class: 'field-error', 'data-pointer': pointer,
        onclick: () => { const r = locatePointer(editor.value, pointer) ?? range; if (r) selectRange(r.start, r.end); },
      }, h('code', {}, pointer || '(the whole stub)'), ' ', title))));
    updateGutter();
    const first = located.find((e) => e.range);
    if (first) scrollTo(first.range.start);
  }

  function parseEditor() {
    try {
      return { value: JSON.parse(editor.value) };
    } catch (error) {
      showSyntaxError(error);
      return null;
    }
  }

  async function save() {
    const parsed = parseEditor();
    if (!parsed) return;
    setStatus(status, 'Saving…');
    // The stub opened keeps its id: replace it. A stub pasted in without that
    // id is another one: create it (with an id of its own, WireMock replaces).
    const replacing = editingId !== null && parsed.value?.id === editingId;
    const path = replacing ? `/__admin/mappings/${encodeURIComponent(editingId)}` : '/__admin/mappings';
    const response = await api(path, {
      method: replacing ? 'PUT' : 'POST', headers: { 'Content-Type': 'application/json' }, body: editor.value,
    });
    if (response.ok) {
      const saved = await readJson(response);
      load(JSON.stringify(saved, null, 2), saved?.id ?? editingId);
      setStatus(status, 'Saved', 'ok');
      await refresh();
      onStubsChanged();
      return;
    }
    const body = await readJson(response);
    if (Array.isArray(body?.errors) && body.errors.length) {
      setStatus(status, `The server refused this stub (${response.status}): see below.`, 'error');
      showFieldErrors(body.errors);
    } else if (response.status === 404 && replacing) {
      setStatus(status, 'This stub no longer exists: New, then Save, creates it again.', 'error');
    } else {
      setStatus(status, `Not saved: ${response.status} ${body?.detail ?? body?.error ?? response.statusText}`, 'error');
    }
  }

  async function remove() {
    if (!editingId || !(await confirmAction(`Delete the stub ${editingId}?`, 'Delete'))) return;
    const response = await api(`/__admin/mappings/${encodeURIComponent(editingId)}`, { method: 'DELETE' });
    if (!response.ok && response.status !== 404) {
      setStatus(status, `Not deleted: ${await describeFailure(response)}`, 'error');
      return;
    }
    load(JSON.stringify(NEW_STUB, null, 2), null);
    setStatus(status, 'Deleted', 'ok');
    await refresh();
    onStubsChanged();
  }

  function format() {
    const parsed = parseEditor();
    if (!parsed) return;
    const text = JSON.stringify(parsed.value, null, 2);
    editor.value = text;
    errorLines = new Set();
    updateGutter();
    setStatus(status, 'Formatted');
  }

  editor.addEventListener('input', () => {
    errorLines = new Set(); // the marks no longer point at the right lines
    updateGutter();
  });
  editor.addEventListener('scroll', () => { gutter.scrollTop = editor.scrollTop; });
  editor.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === 's') {
      event.preventDefault();
      guarded(status, save)();
    }
  });
  deleteButton.addEventListener('click', guarded(status, remove));
  load(JSON.stringify(NEW_STUB, null, 2), null);

  const element = h('section', { class: 'panel', 'aria-labelledby': 'stubs-title' },
    h('h2', { id: 'stubs-title' }, 'Stubs'),
    h('div', { class: 'split' },
      h('div', { class: 'stub-browser' },
        h('div', { class: 'filters' }, search, methodFilter, scenarioFilter, metadataFilter),
        count,
        h('div', { class: 'scroll-x' }, table)),
      h('div', { class: 'stub-editor' },
        mode,
        h('div', { class: 'editor' }, gutter, editor),
        h('div', { class: 'row' },
          h('button', { id: 'stub-save', type: 'button', class: 'primary', onclick: guarded(status, save) }, 'Save'),
          h('button', { id: 'stub-new', type: 'button', onclick: () => { load(JSON.stringify(NEW_STUB, null, 2), null); setStatus(status, ''); } }, 'New'),
          h('button', { id: 'stub-format', type: 'button', onclick: format }, 'Format'),
          deleteButton),
        status,
        errors)));
  return { element, refresh };
}

// ---------------------------------------------------------------- journal

function journalSection(signal, onScenarioTouched) {
  const list = h('ol', { id: 'journal', class: 'journal' });
  const status = h('p', { id: 'journal-status', class: 'status', role: 'status' }, 'Connecting…');
  const entries = new Map(); // serve event id -> { event, element }
  let autoOpened = null; // the row opened automatically (the newest unmatched)
  let autoTimer = null;

  function add(event) {
    if (!event?.id || entries.has(event.id)) return;
    const element = journalRow(event);
    entries.set(event.id, { event, element });
    // Newest first, by the time the server logged it.
    const date = event.request?.loggedDate ?? Date.now();
    const after = [...list.children].find((row) => Number(row.dataset.loggedDate) < date);
    list.insertBefore(element, after ?? null);
    while (list.children.length > JOURNAL_ROWS) {
      const last = list.lastElementChild;
      entries.delete(last.dataset.id);
      last.remove();
    }
    if (event.stubMapping?.scenarioName) onScenarioTouched();
    if (event.wasMatched === false) {
      // Debounced: the stream's first burst opens one row, not fifty.
      clearTimeout(autoTimer);
      autoTimer = setTimeout(openNewestUnmatched, 300);
    }
  }

  function openNewestUnmatched() {
    const newest = list.querySelector('.journal-entry.unmatched');
    if (!newest || newest.dataset.id === autoOpened) return;
    const previous = autoOpened && entries.get(autoOpened);
    if (previous && !previous.element.dataset.openedByUser) toggle(previous.element, false);
    autoOpened = newest.dataset.id;
    // Already open (the user was quicker): leave it as it is.
    if (newest.querySelector('.journal-summary').getAttribute('aria-expanded') !== 'true') toggle(newest, true);
  }

  function clearRows() {
    entries.clear();
    list.replaceChildren();
    autoOpened = null;
  }

  function journalRow(event) {
    const request = event.request ?? {};
    const answered = event.response?.status ?? event.responseDefinition?.status ?? '';
    const logged = new Date(request.loggedDate ?? Date.now());
    const stub = event.stubMapping;
    const summary = h('button', { type: 'button', class: 'journal-summary', 'aria-expanded': 'false' },
      h('time', { class: 'journal-time', datetime: logged.toISOString() }, logged.toLocaleTimeString()),
      h('span', { class: 'method' }, request.method ?? '?'),
      h('code', { class: 'journal-url' }, request.url ?? ''),
      h('span', { class: `journal-status status-${String(answered)[0] ?? ''}xx` }, String(answered)),
      h('span', { class: 'journal-stub' }, event.wasMatched === false ? 'no stub matched' : (stub?.name || stub?.id || '')));
    const row = h('li', {
      class: `journal-entry${event.wasMatched === false ? ' unmatched' : ''}`,
      'data-id': event.id, 'data-logged-date': String(request.loggedDate ?? Date.now()),
    }, summary);
    summary.addEventListener('click', () => {
      const open = summary.getAttribute('aria-expanded') === 'true';
      const automatic = open && !row.dataset.openedByUser;
      row.dataset.openedByUser = 'true';
      // A click on a row opened automatically keeps it open (a newer unmatched
      // request no longer closes it); any other click opens or closes it.
      if (automatic) row.querySelector('.auto-note')?.remove();
      else toggle(row, !open);
    });
    return row;
  }

  function toggle(row, open) {
    const summary = row.querySelector('.journal-summary');
    summary.setAttribute('aria-expanded', String(open));
    row.querySelector('.journal-detail')?.remove();
    row.querySelector('.auto-note')?.remove();
    if (!open) return;
    const { event } = entries.get(row.dataset.id) ?? {};
    if (!event) return;
    const detail = h('div', { class: 'journal-detail' });
    row.append(detail);
    if (!row.dataset.openedByUser) {
      detail.before(h('p', { class: 'auto-note muted' }, 'The newest unmatched request, opened for you: select its row to keep it open.'));
    }
    if (event.wasMatched === false) showNearMisses(detail, event.request ?? {});
    else detail.append(diffTable(event.request ?? {}, event.stubMapping, new Set(), 'request-detail')); // beside its stub
  }

  async function showNearMisses(detail, request) {
    detail.append(h('p', { class: 'muted' }, 'Looking for near misses…'));
    try {
      const response = await api('/__admin/near-misses/request?reasons=true', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request), signal,
      });
      if (!response.ok) throw new ApiError(response.status, await describeFailure(response));
      detail.replaceChildren(nearMissView(request, (await readJson(response))?.nearMisses ?? []));
    } catch (error) {
      if (!signal.aborted) detail.replaceChildren(h('p', { class: 'error' }, `Near misses: ${errorMessage(error)}`));
    }
  }

  const clear = h('button', { id: 'journal-clear', type: 'button' }, 'Clear journal');
  clear.addEventListener('click', guarded(status, async () => {
    const response = await api('/__admin/requests', { method: 'DELETE' });
    if (!response.ok) throw new ApiError(response.status, `Not cleared: ${await describeFailure(response)}`);
    clearRows();
  }));

  followJournal(signal, status, (type, data) => {
    if (type === 'cleared') clearRows();
    if (type !== 'request') return;
    try { add(JSON.parse(data)); } catch { /* not a serve event: skip it */ }
  });
  signal.addEventListener('abort', () => clearTimeout(autoTimer));

  const element = h('section', { class: 'panel', 'aria-labelledby': 'journal-title' },
    h('div', { class: 'row spread' }, h('h2', { id: 'journal-title' }, 'Request journal'), clear),
    status, list);
  return { element };
}

/** Follows GET /__admin/requests/events (server-sent events) with fetch, so
 * the key header goes along (EventSource cannot send one); reconnects after a
 * failure with a growing pause, until `signal` aborts. */
async function followJournal(signal, status, onEvent) {
  let pause = 1000;
  while (!signal.aborted) {
    try {
      const response = await api('/__admin/requests/events?limit=50', { signal, headers: { Accept: 'text/event-stream' } });
      if (!response.ok) {
        const reason = await describeFailure(response);
        if (response.status < 500 && response.status !== 429) {
          setStatus(status, `The live journal is not available: ${reason}`, 'error');
          return;
        }
        throw new Error(reason);
      }
      setStatus(status, 'Live: new requests appear at the top.', 'ok');
      pause = 1000;
      await readServerSentEvents(response.body, onEvent);
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status !== 0) {
        setStatus(status, error.message, 'error');
        return;
      }
    }
    if (signal.aborted) return;
    setStatus(status, `Disconnected; reconnecting in ${pause / 1000} s…`, 'warn');
    await sleep(pause, signal);
    pause = Math.min(pause * 2, 15000);
  }
}

/** Parses a text/event-stream body: `event:`, `data:` and `id:` lines, a
 * blank line ends an event; calls onEvent(type, data, id) for each. */
async function readServerSentEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let type = 'message';
  let data = [];
  let id = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (;;) {
      const end = buffer.search(/\r\n|\r|\n/);
      // A lone \r at the end may be half of \r\n: wait for the rest.
      if (end < 0 || (buffer[end] === '\r' && end === buffer.length - 1)) break;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
      if (line === '') {
        if (data.length) onEvent(type, data.join('\n'), id);
        type = 'message';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue; // a comment (keep-alive)
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = text;
      else if (field === 'data') data.push(text);
      else if (field === 'id') id = text;
    }
  }
}

// ---------------------------------------------------------------- near misses

/** The reasons' parts ('method', 'url', 'header:x-name', 'query:q', 'body',
 * 'cookie:c', 'scenario'), read loosely from each reason's leading words. */
function mismatchedParts(reasons) {
  const parts = new Set();
  for (const reason of reasons) {
    const text = String(reason);
    const named = (pattern) => pattern.exec(text)?.[1]?.toLowerCase();
    let name;
    if (/^method\b/i.test(text)) parts.add('method');
    else if (/^(url\w*|path)\b/i.test(text)) parts.add('url');
    else if ((name = named(/^query(?:Parameters)?(?: parameter)?[ .]`?([^`:\s]+)/i))) parts.add(`query:${name}`);
    else if ((name = named(/^headers?[ .]`?([^`:\s]+)/i))) parts.add(`header:${name}`);
    else if ((name = named(/^cookies?[ .]`?([^`:\s]+)/i))) parts.add(`cookie:${name}`);
    else if (/^(body|bodyPatterns|form|multipart)/i.test(text)) parts.add('body');
    else if (/^scenario/i.test(text)) parts.add('scenario');
    else parts.add(text.split(/[\s:.]/)[0].toLowerCase());
  }
  return parts;
}

function shown(value) {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(shown).join(', ');
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    // A matcher such as {"equalTo": "x"} reads better as: equalTo "x".
    if (keys.length === 1 && typeof value[keys[0]] !== 'object') return `${keys[0]} ${JSON.stringify(value[keys[0]])}`;
    return JSON.stringify(value, null, 2);
  }
  return String(value);
}

function headerValue(headers, name) {
  const found = Object.keys(headers ?? {}).find((key) => key.toLowerCase() === name.toLowerCase());
  return found === undefined ? undefined : headers[found];
}

function queryValue(request, name) {
  const param = request.queryParams?.[name];
  if (param !== undefined) return param?.values ?? param;
  try {
    const values = new URL(request.url ?? '', 'http://x').searchParams.getAll(name);
    return values.length ? values : undefined;
  } catch { return undefined; }
}

function truncated(text, limit = 2000) {
  const value = String(text ?? '');
  return value.length > limit ? `${value.slice(0, limit)}… (${value.length - limit} more characters)` : value;
}

/** The rows comparing a request with a stub's request pattern:
 * [label, request side, stub side, part]. */
function diffRows(request, stub) {
  const pattern = stub?.request ?? {};
  const url = stubUrl(pattern);
  const rows = [
    ['Method', request.method, pattern.method ?? 'ANY', 'method'],
    ['URL', request.url, url.field ? `${url.field}: ${url.value}` : url.value, 'url'],
  ];
  if (pattern.pathParameters) rows.push(['Path parameters', '', shown(pattern.pathParameters), 'url']);
  for (const [name, matcher] of Object.entries(pattern.queryParameters ?? {})) {
    rows.push([`Query ${name}`, shown(queryValue(request, name)), shown(matcher), `query:${name.toLowerCase()}`]);
  }
  const named = new Set(Object.keys(pattern.headers ?? {}).map((n) => n.toLowerCase()));
  for (const [name, matcher] of Object.entries(pattern.headers ?? {})) {
    rows.push([`Header ${name}`, shown(headerValue(request.headers, name)), shown(matcher), `header:${name.toLowerCase()}`]);
  }
  for (const [name, matcher] of Object.entries(pattern.cookies ?? {})) {
    rows.push([`Cookie ${name}`, shown(request.cookies?.[name]), shown(matcher), `cookie:${name.toLowerCase()}`]);
  }
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (!named.has(name.toLowerCase())) rows.push([`Header ${name}`, shown(value), '', `header:${name.toLowerCase()}`]);
  }
  const bodyPatterns = [...(pattern.bodyPatterns ?? []), ...(pattern.multipartPatterns ?? [])];
  if (request.body || bodyPatterns.length) rows.push(['Body', truncated(request.body), bodyPatterns.map(shown).join('\n'), 'body']);
  if (stub?.scenarioName) {
    rows.push(['Scenario', '', `${stub.scenarioName} in state ${stub.requiredScenarioState ?? 'any'}`, 'scenario']);
  }
  return rows;
}

function diffTable(request, stub, parts, className) {
  return h('table', { class: className },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, ''),
      h('th', { scope: 'col' }, 'Request'),
      h('th', { scope: 'col' }, stub ? `Stub ${stub.name || stub.id || ''}` : 'Stub'))),
    h('tbody', {}, diffRows(request, stub).map(([label, left, right, part]) =>
      h('tr', { class: parts.has(part) ? 'mismatch' : null, 'data-part': part },
        h('th', { scope: 'row' }, label),
        h('td', {}, h('pre', {}, String(left ?? ''))),
        h('td', {}, h('pre', {}, String(right ?? '')))))));
}

function nearMissView(request, nearMisses) {
  if (nearMisses.length === 0) return h('p', { class: 'near-miss-none' }, 'No stub is near this request.');
  const sorted = [...nearMisses].sort((a, b) => (a.matchResult?.distance ?? 1) - (b.matchResult?.distance ?? 1));
  const view = h('div', { class: 'near-misses' });
  const show = (index) => {
    const nearMiss = sorted[index];
    const reasons = nearMiss.reasons ?? [];
    view.querySelector('.near-miss-body')?.remove();
    view.append(h('div', { class: 'near-miss-body' },
      diffTable(request, nearMiss.stubMapping, mismatchedParts(reasons), 'near-miss-diff'),
      reasons.length
        ? h('ul', { class: 'near-miss-reasons' }, reasons.map((reason) => h('li', {}, reason)))
        : null));
  };
  const label = (nearMiss) => `${nearMiss.stubMapping?.name || nearMiss.stubMapping?.id || 'stub'} (distance ${(nearMiss.matchResult?.distance ?? 0).toFixed(2)})`;
  if (sorted.length > 1) {
    const pick = h('select', { class: 'near-miss-pick', 'aria-label': 'Near miss to compare' },
      sorted.map((nearMiss, index) => h('option', { value: String(index) }, label(nearMiss))));
    pick.addEventListener('change', () => show(Number(pick.value)));
    view.append(h('label', { class: 'row' }, 'Nearest stubs: ', pick));
  } else {
    view.append(h('p', { class: 'muted' }, `Nearest stub: ${label(sorted[0])}`));
  }
  show(0);
  return view;
}

// ---------------------------------------------------------------- scenarios

function scenariosSection(signal) {
  const list = h('ul', { id: 'scenarios', class: 'scenarios' });
  const status = h('p', { id: 'scenarios-status', class: 'status', role: 'status' });
  const reset = h('button', { id: 'scenarios-reset', type: 'button', hidden: true }, 'Reset all');
  let pending = null; // coalesces the refreshes a burst of journal events asks for

  async function load() {
    const response = await api('/__admin/scenarios', { signal });
    if (!response.ok) throw new ApiError(response.status, `Cannot list the scenarios: ${await describeFailure(response)}`);
    const scenarios = (await readJson(response))?.scenarios ?? [];
    reset.hidden = scenarios.length === 0;
    if (scenarios.length === 0) {
      list.replaceChildren(h('li', { class: 'muted' }, 'No stub uses a scenario.'));
      return;
    }
    list.replaceChildren(...scenarios.map((scenario) => {
      const select = h('select', { class: 'scenario-select', 'aria-label': `New state of ${scenario.name}` },
        (scenario.possibleStates ?? []).map((name) => h('option', { value: name }, name)));
      select.value = scenario.state;
      const set = h('button', { type: 'button', class: 'scenario-set small' }, 'Set');
      set.addEventListener('click', guarded(status, async () => {
        const response = await api(`/__admin/scenarios/${encodeURIComponent(scenario.name)}/state`, {
          method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ state: select.value }),
        });
        if (!response.ok) throw new ApiError(response.status, `Not set: ${await describeFailure(response)}`);
        const state = select.value;
        await load();
        setStatus(status, `${scenario.name} is now in state ${state}.`, 'ok');
      }));
      return h('li', { class: 'scenario', 'data-name': scenario.name },
        h('strong', {}, scenario.name), ' ',
        h('span', { class: 'scenario-state badge' }, scenario.state ?? ''), ' ',
        select, set);
    }));
  }

  function refresh() {
    if (pending) return;
    pending = setTimeout(async () => {
      pending = null;
      setStatus(status, ''); // an earlier action's outcome may be stale now
      try { await load(); } catch (error) { if (!signal.aborted) setStatus(status, errorMessage(error), 'error'); }
    }, 200);
  }
  signal.addEventListener('abort', () => clearTimeout(pending));

  reset.addEventListener('click', guarded(status, async () => {
    const response = await api('/__admin/scenarios/reset', { method: 'POST', signal });
    if (!response.ok) throw new ApiError(response.status, `Not reset: ${await describeFailure(response)}`);
    await load();
    setStatus(status, 'Every scenario is back in state Started.', 'ok');
  }));

  const element = h('section', { class: 'panel', 'aria-labelledby': 'scenarios-title' },
    h('div', { class: 'row spread' }, h('h2', { id: 'scenarios-title' }, 'Scenarios'), reset),
    status, list);
  return { element, refresh };
}
