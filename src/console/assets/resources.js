// Resources: the resources module's json-server collections. Pick one,
// browse its documents with json-server's own sort, search and pages, and
// edit a document as JSON with the schema's messages at their fields; when
// an edit meets a newer version (412 on If-Match), a panel comparing what you
// started from, what the server has and what you typed, to keep yours or
// take theirs. A singular resource is its editor alone. See docs/resources.md.

import {
  api, h, ApiError, confirmAction, failure, guarded, readJson, setStatus,
} from './console.js';
import { locatePointer, syntaxErrorOffset } from './json-text.js';

const PAGE_SIZES = [10, 20, 50, 100];
const DEFAULT_PAGE_SIZE = 20;
const MAX_COLUMNS = 8; // `id` and the first other fields the page's documents have
const CELL_CHARACTERS = 32; // of a value shown in the table
const SEARCH_DELAY = 300; // ms after the last keystroke before a search runs
const NEW_DOCUMENT = '{\n  \n}';
const HASH = '#/resources';

export function render(container, { can }) {
  const controller = new AbortController(); // ends requests in flight on leave
  const writable = can('resources', 'write');
  let collections = []; // the last answer of /v1/collections
  let selected = null; // { name, controller } of the collection shown
  let firstLoad = true;

  const list = h('ul', { id: 'collection-list', class: 'collection-list', 'aria-labelledby': 'collections-title' });
  const listStatus = h('p', { id: 'collections-status', class: 'status', role: 'status' });
  const workspace = h('div', { class: 'resources-workspace' });
  const reload = h('button', { id: 'collections-reload', type: 'button', class: 'small' }, 'Reload');

  function renderList() {
    const focused = document.activeElement?.closest?.('.collection')?.dataset.name;
    list.replaceChildren(...collections.map((collection) => {
      const count = Number(collection.documents) || 0;
      const current = collection.name === selected?.name;
      return h('li', { class: `collection${current ? ' selected' : ''}`, 'data-name': collection.name },
        h('button', {
          type: 'button', class: 'collection-open', 'aria-current': current ? 'true' : null,
          onclick: () => select(collection.name),
        },
        h('span', { class: 'collection-name' }, collection.name),
        h('span', { class: 'collection-count muted' }, `${count} ${count === 1 ? 'document' : 'documents'}`),
        collection.singular ? h('span', { class: 'badge' }, 'singular') : null,
        collection.schema ? h('span', { class: 'badge good' }, 'schema') : null));
    }));
    if (!collections.length) {
      list.append(h('li', { class: 'collection-empty muted' },
        'No collections yet: start echobase with --data db.json, or create one with PUT /v1/collections/{name}.'));
    }
    if (focused) list.querySelector(`.collection[data-name="${CSS.escape(focused)}"] button`)?.focus();
  }

  async function loadCollections() {
    setStatus(listStatus, 'Loading…');
    const response = await api('/v1/collections', { signal: controller.signal });
    const body = await readJson(response);
    if (!response.ok) throw new ApiError(response.status, `Cannot list the collections: ${failure(response, body)}`);
    collections = Array.isArray(body) ? body.filter((c) => typeof c?.name === 'string') : [];
    if (selected && !collections.some((c) => c.name === selected.name)) select(null); // removed meanwhile
    renderList();
    setStatus(listStatus, '');
    if (firstLoad) {
      firstLoad = false;
      select(nameFromHash());
    }
  }
  const refreshCollections = guarded(listStatus, loadCollections);

  /** Shows the collection `name` (null or unknown: none). */
  function select(name) {
    const collection = collections.find((c) => c.name === name) ?? null;
    if ((collection?.name ?? null) === (selected?.name ?? null)) return;
    selected?.controller.abort();
    selected = null;
    workspace.replaceChildren();
    // The hash names the collection (a link to it, kept on reload), without
    // a history entry or a hashchange.
    history.replaceState(null, '', collection ? `${HASH}/${encodeURIComponent(collection.name)}` : HASH);
    if (collection) {
      const local = new AbortController();
      controller.signal.addEventListener('abort', () => local.abort(), { once: true });
      selected = { name: collection.name, controller: local };
      showCollection(collection, local.signal);
    }
    renderList();
  }

  function showCollection(collection, signal) {
    const url = (collection.url || `/${collection.name}`).replace(/(.)\/+$/, '$1');
    let browser = null;
    const editor = editSection({
      signal, writable, collection, url,
      onSelect: (id) => browser?.select(id),
      onSaved: (id, created) => {
        browser?.select(id);
        browser?.refresh({ lastPage: created });
        if (created) refreshCollections();
      },
      onDeleted: () => { browser?.select(null); browser?.refresh(); refreshCollections(); },
    });
    if (collection.singular) {
      workspace.append(editor.element);
      editor.open(null, { focus: false });
      return;
    }
    browser = browseSection({ signal, writable, collection, url, onOpen: (id) => editor.open(id) });
    workspace.append(h('div', { class: 'split' }, browser.element, editor.element));
    browser.refresh();
  }

  function onHashChange() {
    if (location.hash === HASH || location.hash.startsWith(`${HASH}/`)) select(nameFromHash());
  }

  reload.addEventListener('click', refreshCollections);
  window.addEventListener('hashchange', onHashChange);
  container.append(
    h('section', { class: 'panel resources-collections', 'aria-labelledby': 'collections-title' },
      h('div', { class: 'row spread' }, h('h2', { id: 'collections-title' }, 'Collections'), reload),
      list, listStatus),
    workspace);
  refreshCollections();
  return () => {
    window.removeEventListener('hashchange', onHashChange);
    controller.abort();
  };
}

function nameFromHash() {
  const match = /^#\/resources\/([^/?#]+)/.exec(location.hash);
  try { return match ? decodeURIComponent(match[1]) : null; } catch { return null; }
}

/** Whether a Link header (`<…>; rel="next", <…>; rel="last"`) has a next page. */
const hasNext = (header) => /rel="?[^";,]*\bnext\b/.test(header ?? '');

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A value as one line: text as it is, anything else as compact JSON. */
function asText(value) {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// ---------------------------------------------------------------- browse

function browseSection({ signal, writable, collection, url, onOpen }) {
  const query = { q: '', sort: '', order: 'asc', page: 1, limit: DEFAULT_PAGE_SIZE };
  let selectedId = null;
  let latestLoad = 0; // only the newest listing's answer is shown
  let searchTimer = 0;

  const searchInput = h('input', { id: 'documents-search', type: 'search', autocomplete: 'off', placeholder: 'text in any field' });
  const perPageSelect = h('select', { id: 'documents-per-page' },
    PAGE_SIZES.map((size) => h('option', { value: String(size) }, String(size))));
  perPageSelect.value = String(DEFAULT_PAGE_SIZE);
  const field = (id, label, control) => h('div', { class: 'people-field' }, h('label', { for: id }, label), control);
  const filterForm = h('form', { id: 'documents-filter', class: 'people-filters', role: 'search', 'aria-label': `Search ${collection.name}`, novalidate: true },
    field('documents-search', 'Search', searchInput),
    field('documents-per-page', 'Per page', perPageSelect),
    h('div', { class: 'people-field people-actions' },
      h('button', { id: 'documents-search-apply', type: 'submit', class: 'primary' }, 'Search'),
      h('button', { id: 'documents-search-clear', type: 'button', onclick: () => { searchInput.value = ''; search(); } }, 'Clear')));

  const headRow = h('tr');
  const rows = h('tbody');
  const table = h('table', { id: 'documents-table', class: 'data' },
    h('caption', { class: 'visually-hidden' }, `Documents of ${collection.name}`), h('thead', {}, headRow), rows);
  const columnsNote = h('p', { id: 'documents-columns-note', class: 'muted', hidden: true });
  const status = h('p', { id: 'documents-status', class: 'status', role: 'status' });
  const previous = h('button', { id: 'documents-prev', type: 'button', disabled: true }, 'Previous');
  const next = h('button', { id: 'documents-next', type: 'button', disabled: true }, 'Next');
  const pageInfo = h('span', { id: 'documents-page-info', class: 'muted', 'aria-live': 'polite' });

  function listingPath() {
    const params = new URLSearchParams({ _page: String(query.page), _limit: String(query.limit) });
    if (query.sort) {
      params.set('_sort', query.sort);
      params.set('_order', query.order);
    }
    if (query.q) params.set('q', query.q);
    return `${url}?${params}`;
  }

  /** `id`, then the top-level keys of the documents shown, in the order met. */
  function columnsOf(documents) {
    const names = ['id'];
    for (const document of documents) for (const key of Object.keys(document)) if (!names.includes(key)) names.push(key);
    const shown = names.slice(0, MAX_COLUMNS);
    if (query.sort && !shown.includes(query.sort)) shown.push(query.sort); // the sorted column stays clickable
    return { shown, hidden: names.filter((name) => !shown.includes(name)).length };
  }

  // Column headers sort on click; aria-sort says the current order.
  function renderHead(columns) {
    const focused = document.activeElement?.closest?.('#documents-table .sort-button')?.dataset.sort;
    const descending = query.order === 'desc';
    headRow.replaceChildren(...columns.map((name) => {
      const active = name === query.sort;
      return h('th', { scope: 'col', 'aria-sort': active ? (descending ? 'descending' : 'ascending') : null },
        h('button', { type: 'button', class: 'sort-button', 'data-sort': name, onclick: () => sortBy(name) },
          name, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (descending ? '▼' : '▲') : '')));
    }), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')));
    if (focused) headRow.querySelector(`.sort-button[data-sort="${CSS.escape(focused)}"]`)?.focus();
  }

  function cell(value, name) {
    const text = asText(value);
    const long = text.length > CELL_CHARACTERS;
    const kind = name === 'id' ? 'document-id' : typeof value === 'number' ? 'num' : null;
    return h('td', { class: kind, title: long ? text.slice(0, 1000) : null },
      long ? `${text.slice(0, CELL_CHARACTERS - 1)}…` : text);
  }

  function documentRow(document, columns) {
    const id = document.id === undefined || document.id === null ? null : String(document.id);
    const verb = writable ? 'Edit' : 'View';
    const row = h('tr', { class: `document-row${id !== null && id === selectedId ? ' selected' : ''}`, 'data-id': id ?? '' },
      columns.map((name) => cell(document[name], name)),
      h('td', {}, id === null ? null : h('button', {
        type: 'button', class: 'document-open small', 'aria-label': `${verb} document ${id}`, onclick: () => onOpen(id),
      }, verb)));
    // A click anywhere on the row opens it too; keyboards use the button.
    if (id !== null) row.addEventListener('click', (event) => { if (!event.target.closest('button')) onOpen(id); });
    return row;
  }

  async function load({ lastPage = false } = {}) {
    const loadNumber = ++latestLoad;
    setStatus(status, 'Loading…');
    table.setAttribute('aria-busy', 'true');
    let response, body;
    try {
      response = await api(listingPath(), { signal });
      body = await readJson(response);
    } finally {
      if (loadNumber === latestLoad) table.removeAttribute('aria-busy');
    }
    if (loadNumber !== latestLoad) return;
    if (!response.ok) throw new ApiError(response.status, `Cannot list ${collection.name}: ${failure(response, body)}`);
    const documents = Array.isArray(body) ? body.filter(isObject) : [];
    const header = response.headers.get('X-Total-Count');
    const total = header === null ? null : Number(header);
    const pages = total === null ? null : Math.max(1, Math.ceil(total / query.limit));
    // A page past the end (its last rows deleted), or the last page asked
    // for (where json-server adds a new document): go there.
    if (pages !== null && (lastPage || (!documents.length && query.page > 1)) && query.page !== pages) {
      query.page = pages;
      return load();
    }
    const { shown, hidden } = columnsOf(documents);
    renderHead(shown);
    rows.replaceChildren(...(documents.length ? documents.map((document) => documentRow(document, shown))
      : [h('tr', {}, h('td', { colspan: String(shown.length + 1), class: 'muted' }, query.q ? 'No document matches.' : 'No documents yet.'))]));
    columnsNote.textContent = `${hidden} more ${hidden === 1 ? 'field' : 'fields'} not shown: open a document to see all of it.`;
    columnsNote.hidden = hidden === 0;
    previous.disabled = query.page <= 1;
    next.disabled = !hasNext(response.headers.get('Link'));
    pageInfo.textContent = `Page ${query.page}${pages === null ? '' : ` of ${pages}`}`
      + (total === null ? '' : ` · ${total} ${total === 1 ? 'document' : 'documents'}`);
    setStatus(status, '');
  }

  const reload = guarded(status, load);
  /** Loads the listing again; `lastPage`: where a document just created is
   * (unless sorted or searched). */
  function refresh({ lastPage = false } = {}) {
    return reload({ lastPage: lastPage && !query.sort && !query.q });
  }

  function search() {
    clearTimeout(searchTimer);
    query.q = searchInput.value.trim();
    query.page = 1;
    refresh();
  }

  function sortBy(name) {
    query.order = query.sort === name && query.order === 'asc' ? 'desc' : 'asc';
    query.sort = name;
    query.page = 1;
    refresh();
  }

  filterForm.addEventListener('submit', (event) => {
    event.preventDefault(); // never a real submission (form-action 'none')
    search();
  });
  searchInput.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { if (searchInput.value.trim() !== query.q) search(); }, SEARCH_DELAY);
  });
  signal.addEventListener('abort', () => clearTimeout(searchTimer), { once: true });
  perPageSelect.addEventListener('change', () => { query.limit = Number(perPageSelect.value); query.page = 1; refresh(); });
  previous.addEventListener('click', () => { query.page = Math.max(1, query.page - 1); refresh(); });
  next.addEventListener('click', () => { query.page += 1; refresh(); });
  renderHead(['id']);

  return {
    element: h('section', { class: 'panel resources-browse', 'aria-labelledby': 'documents-title' },
      h('h2', { id: 'documents-title' }, collection.name),
      filterForm,
      h('div', { class: 'scroll-x' }, table),
      columnsNote,
      status,
      h('div', { class: 'people-pager' }, previous, pageInfo, next)),
    refresh,
    select(id) {
      selectedId = id === null || id === undefined ? null : String(id);
      for (const row of rows.querySelectorAll('.document-row')) row.classList.toggle('selected', row.dataset.id === selectedId);
    },
  };
}

// ---------------------------------------------------------------- edit

function editSection({ signal, writable, collection, url, onSelect, onSaved, onDeleted }) {
  const singular = Boolean(collection.singular);
  let opened = null; // { document, etag, path } as read from the server; null: a new document
  let conflict = null; // { base, server, etag } after a 412: the server's version now
  let latestOpen = 0;

  const title = h('h2', { id: 'document-title' }, singular ? collection.name : 'New document');
  const editor = h('textarea', {
    id: 'document-editor', class: 'code', spellcheck: 'false', wrap: 'off', autocomplete: 'off', autocapitalize: 'off',
    'aria-labelledby': 'document-title', 'aria-describedby': 'document-status document-errors', readonly: !writable,
  });
  const errors = h('ul', { id: 'document-errors', class: 'field-errors' });
  const status = h('p', { id: 'document-status', class: 'status', role: 'status' });
  const save = h('button', { id: 'document-save', type: 'submit', class: 'primary' }, 'Save');
  const create = h('button', { id: 'document-new', type: 'button', hidden: singular }, 'New');
  const remove = h('button', { id: 'document-delete', type: 'button', class: 'danger', hidden: true }, 'Delete');
  const form = h('form', { id: 'document-form', 'aria-labelledby': 'document-title', novalidate: true },
    h('div', { class: 'editor document-editor-box' }, editor),
    writable ? h('div', { class: 'row' }, save, create, remove)
      : h('p', { id: 'document-read-only', class: 'muted' }, 'Read only: the key held may not change resources.'));
  const schema = collection.schema ? h('details', { class: 'document-schema' },
    h('summary', {}, 'Schema its documents meet'), h('pre', { class: 'code' }, JSON.stringify(collection.schema, null, 2))) : null;

  const conflictTitle = h('h3', { id: 'document-conflict-title', tabindex: '-1' }, 'Changed by someone else');
  const conflictRows = h('tbody');
  const conflictPanel = h('div', { id: 'document-conflict', class: 'people-conflict', role: 'group', 'aria-labelledby': 'document-conflict-title', hidden: true },
    conflictTitle,
    h('p', {}, 'This document changed on the server since you opened it. Nothing was saved. Compare, then choose:'),
    h('div', { class: 'scroll-x' }, h('table', { class: 'conflict-table' },
      h('thead', {}, h('tr', {}, ['Field', 'You started from', 'Server now', 'Yours'].map((label) => h('th', { scope: 'col' }, label)))),
      conflictRows)),
    h('div', { class: 'row' },
      h('button', { id: 'document-keep-mine', type: 'button', class: 'primary', onclick: guarded(status, keepMine) }, 'Keep mine'),
      h('button', { id: 'document-take-theirs', type: 'button', onclick: takeTheirs }, 'Take theirs')));

  const element = h('section', { class: 'panel resources-editor', 'aria-labelledby': 'document-title' },
    title, schema, form, status, errors, conflictPanel);

  // ---- the editor and its messages

  const lineOf = (offset) => editor.value.slice(0, offset).split('\n').length;

  /** Selects [start, end) and scrolls to it (a textarea does not scroll to
   * a selection made by script). */
  function selectRange(start, end) {
    editor.focus();
    editor.setSelectionRange(start, end);
    const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 20;
    editor.scrollTop = Math.max(0, (lineOf(start) - 4) * lineHeight);
  }

  function clearMessages() {
    errors.replaceChildren();
    editor.removeAttribute('aria-invalid');
  }

  /** JSON.parse's complaint, with its place selected when it says one. */
  function showSyntaxError(error) {
    const offset = syntaxErrorOffset(error.message, editor.value);
    const message = `Not valid JSON: ${error.message}`;
    setStatus(status, `Not saved: ${message}`, 'error');
    errors.replaceChildren(h('li', {}, h('button', {
      type: 'button', class: 'syntax-error', onclick: () => offset !== null && selectRange(offset, offset),
    }, message)));
    editor.setAttribute('aria-invalid', 'true');
    if (offset !== null) selectRange(offset, offset);
  }

  /** The 422's `errors: [{field, message}]`, each naming its field; a click
   * selects the field in the editor (`tags.1` is the pointer `/tags/1`). */
  function showFieldMessages(list) {
    const pointerOf = (field) => (field ? `/${String(field).split('.').map((k) => k.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}` : '');
    errors.replaceChildren(...list.map((error) => h('li', { class: 'field-message', 'data-field': String(error?.field ?? '') },
      h('button', {
        type: 'button', class: 'field-error',
        onclick: () => { const range = locatePointer(editor.value, pointerOf(error?.field)); if (range) selectRange(range.start, range.end); },
      }, h('code', {}, error?.field ? String(error.field) : '(the document)'), ' ', String(error?.message ?? 'is not valid')))));
    editor.setAttribute('aria-invalid', 'true');
  }

  /** The editor's document, or null (and why, shown) when it is not one. */
  function parseEditor() {
    let value;
    try {
      value = JSON.parse(editor.value);
    } catch (error) {
      showSyntaxError(error);
      return null;
    }
    if (!isObject(value)) {
      clearMessages();
      setStatus(status, 'Not saved: a document is a JSON object, in braces { }.', 'error');
      return null;
    }
    return value;
  }

  /** Shows `document` (null: a blank new one) as read at `etag` from `path`. */
  function load(document, etag, path) {
    opened = document ? { document, etag, path } : null;
    editor.value = document ? JSON.stringify(document, null, 2) : NEW_DOCUMENT;
    editor.scrollTop = 0;
    clearMessages();
    hideConflict();
    title.textContent = singular ? collection.name : document ? `Document ${asText(document.id)}` : 'New document';
    remove.hidden = singular || !document;
    element.hidden = !writable && !document; // read only: nothing to show until a document is opened
  }

  const pathOf = (id) => (singular ? url : `${url}/${encodeURIComponent(id)}`);

  // ---- server calls

  async function open(id, { focus = true } = {}) {
    const openNumber = ++latestOpen;
    const path = pathOf(id);
    setStatus(status, 'Opening…');
    const response = await api(path, { signal });
    const body = await readJson(response);
    if (openNumber !== latestOpen) return;
    if (!response.ok || !isObject(body)) {
      throw new ApiError(response.status, `Cannot open ${singular ? collection.name : `document ${id}`}: ${failure(response, body)}`);
    }
    load(body, response.headers.get('ETag'), path);
    onSelect(singular ? null : id);
    setStatus(status, '');
    if (focus) {
      editor.focus();
      editor.setSelectionRange(0, 0);
    }
  }

  /** Create, or replace what was opened with If-Match `etag`. */
  async function submit(etag) {
    if (!writable || !parseEditor()) return;
    const editing = opened;
    const path = editing ? editing.path : url;
    setStatus(status, 'Saving…');
    save.disabled = true;
    let response;
    try {
      response = await api(path, {
        method: editing || singular ? 'PUT' : 'POST', signal,
        body: editor.value, // as typed: numbers beyond JavaScript's precision stay exact
        headers: { 'Content-Type': 'application/json', ...(editing && etag ? { 'If-Match': etag } : {}) },
      });
    } finally {
      save.disabled = false;
    }
    const body = await readJson(response);
    if (response.ok && isObject(body)) {
      const id = singular ? null : asText(body.id);
      load(body, response.headers.get('ETag'), editing ? path : pathOf(id));
      setStatus(status, 'Saved', 'ok');
      onSaved(id, !editing);
      return;
    }
    if (response.status === 412 && editing) {
      await showConflict(editing);
      return;
    }
    if (response.status === 404 && editing && !singular) {
      deletedMeanwhile(editing);
      return;
    }
    const list = Array.isArray(body?.errors) ? body.errors.filter((e) => e && 'message' in e) : [];
    if (list.length) {
      showFieldMessages(list);
      setStatus(status, `Not saved (${response.status}): see ${list.length === 1 ? 'the field' : 'the fields'} below.`, 'error');
    } else {
      clearMessages();
      setStatus(status, `Not saved: ${failure(response, body)}`, 'error');
    }
  }

  /** Save now creates it anew, with the editor's text kept. */
  function deletedMeanwhile(editing) {
    opened = null;
    hideConflict();
    title.textContent = 'New document';
    remove.hidden = true;
    setStatus(status, `Not saved: document ${asText(editing.document.id)} was deleted meanwhile. Save again creates it anew.`, 'error');
    onDeleted();
  }

  /** After a 412: reads the server's version and shows the three side by side. */
  async function showConflict(editing) {
    const response = await api(editing.path, { signal });
    const server = await readJson(response);
    if (response.status === 404 && !singular) {
      deletedMeanwhile(editing);
      return;
    }
    if (!response.ok || !isObject(server)) {
      throw new ApiError(response.status, `Not saved, it changed meanwhile, and it cannot be read again: ${failure(response, server)}`);
    }
    conflict = { base: editing.document, server, etag: response.headers.get('ETag') };
    clearMessages();
    renderConflict();
    conflictPanel.hidden = false;
    setStatus(status, 'Not saved: this document changed since you opened it. Keep yours or take theirs below.', 'warn');
    conflictTitle.focus();
  }

  function renderConflict() {
    if (!conflict) return;
    const { base, server } = conflict;
    let mine;
    try { mine = JSON.parse(editor.value); } catch { mine = undefined; }
    const valid = isObject(mine);
    const fields = [...new Set([...Object.keys(server), ...Object.keys(base), ...(valid ? Object.keys(mine) : [])])];
    const shown = (value) => (value === undefined ? '—' : JSON.stringify(value));
    conflictRows.replaceChildren(...fields.map((name) => {
      const changed = shown(base[name]) !== shown(server[name]);
      return h('tr', { class: `conflict-field${changed ? ' changed' : ''}`, 'data-field': name },
        h('th', { scope: 'row' }, h('code', {}, name), changed ? h('span', { class: 'badge warn' }, 'changed') : null),
        h('td', { class: 'conflict-base' }, shown(base[name])),
        h('td', { class: 'conflict-server' }, shown(server[name])),
        h('td', { class: 'conflict-mine' }, valid ? shown(mine[name]) : '(not valid JSON)'));
    }));
  }

  function hideConflict() {
    conflict = null;
    conflictPanel.hidden = true;
    conflictRows.replaceChildren();
  }

  /** Re-sends the editor's document over the server's newer version. */
  async function keepMine() {
    if (conflict) await submit(conflict.etag);
  }

  function takeTheirs() {
    if (!conflict || !opened) return;
    const { path } = opened;
    load(conflict.server, conflict.etag, path);
    setStatus(status, 'Loaded the server’s version; your changes were dropped.', 'ok');
    if (!singular) onSaved(asText(opened.document.id), false); // the table may show the older values
    editor.focus();
  }

  async function deleteDocument() {
    if (!opened || singular) return;
    const { document, etag, path } = opened;
    const id = asText(document.id);
    const message = `Delete document ${id} of ${collection.name}? Documents of other collections that name it go too.`;
    if (!(await confirmAction(message, 'Delete'))) return;
    setStatus(status, 'Deleting…');
    const response = await api(path, { method: 'DELETE', signal, headers: etag ? { 'If-Match': etag } : {} });
    if (response.status === 412) {
      await open(id);
      setStatus(status, 'Not deleted: it changed since you opened it. Here is the current version; Delete again to delete it.', 'warn');
      return;
    }
    if (!response.ok && response.status !== 404) {
      throw new ApiError(response.status, `Not deleted: ${failure(response, await readJson(response))}`);
    }
    load(null);
    setStatus(status, 'Deleted', 'ok');
    onDeleted();
  }

  function startNew() {
    load(null);
    setStatus(status, '');
    onSelect(null);
    editor.focus();
    editor.setSelectionRange(4, 4); // inside the braces
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault(); // never a real submission (form-action 'none')
    guarded(status, submit)(opened?.etag);
  });
  editor.addEventListener('input', renderConflict); // keeps the "Yours" column true
  editor.addEventListener('keydown', (event) => {
    if (writable && (event.ctrlKey || event.metaKey) && event.key === 's') {
      event.preventDefault();
      guarded(status, submit)(opened?.etag);
    }
  });
  create.addEventListener('click', startNew);
  remove.addEventListener('click', guarded(status, deleteDocument));
  load(null);

  return { element, open: guarded(status, open) };
}
