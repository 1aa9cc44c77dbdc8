// People: browse /v1/people with the API's own filters, sort and pages;
// create, edit and delete a person with the server's validation messages at
// their fields; and when an edit meets a newer version (412 on If-Match), a
// panel comparing what you started from, what the server has and what you
// typed, to keep yours or take theirs. See docs/people.md.

import {
  api, h, ApiError, confirmAction, failure, guarded, readJson, setStatus,
} from './console.js';

const FIELDS = [
  { name: 'name', label: 'Name' },
  { name: 'age', label: 'Age' },
  { name: 'locale', label: 'Locale' },
];
const COLUMNS = [
  { name: 'id', label: 'Id', numeric: true },
  { name: 'name', label: 'Name' },
  { name: 'age', label: 'Age', numeric: true },
  { name: 'locale', label: 'Locale' },
];
const PAGE_SIZES = [10, 20, 50, 100]; // 100: the server's default people.max_per_page
const DEFAULT_PAGE_SIZE = 20;
const WHOLE_NUMBER = /^-?\d{1,9}$/; // what the age filters accept (an i32)
const DEFAULT_SORT = '-id'; // newest first, so a person just created shows on page 1

export function render(container, { can, access }) {
  if (!nativeApiAllowed(access)) {
    container.append(h('p', { id: 'people-denied', class: 'muted' },
      'Browsing people needs an API key with the people:read scope (or people:write, or admin): enter one above.'));
    return null;
  }
  const controller = new AbortController(); // ends requests in flight on leave
  const signal = controller.signal;
  const writable = can('people', 'write');
  let editor = null;
  const browser = browseSection({ signal, writable, onOpen: (id) => editor?.open(id) });
  if (writable) {
    editor = editSection({
      signal,
      onSelect: (id) => browser.select(id),
      onSaved: (id, created) => { browser.select(id); browser.refresh({ firstPage: created }); },
    });
    container.append(h('div', { class: 'split' }, browser.element, editor.element));
  } else {
    container.append(browser.element);
  }
  browser.refresh();
  return () => controller.abort();
}

/** Whether the key held may call /v1/people. `can('people', 'read')` is not
 * enough: it is also true when only the compatible routes are open to
 * anyone, while the native API needs a scope whenever keys are on (and a
 * refused request would log a console error). */
function nativeApiAllowed(access) {
  if (!access?.keys_required) return true;
  const scopes = access.key?.scopes ?? [];
  return scopes.some((scope) => scope === 'admin' || scope === 'people:read' || scope === 'people:write');
}

/** The `rel`s of a Link header (`<…>; rel="next", <…>; rel="last"`). */
function linkRelations(header) {
  const relations = new Set();
  for (const match of (header ?? '').matchAll(/rel="?([^";,]+)"?/g)) {
    for (const relation of match[1].trim().split(/\s+/)) relations.add(relation);
  }
  return relations;
}

// ---------------------------------------------------------------- browse

function browseSection({ signal, writable, onOpen }) {
  const query = { name: '', ageMin: '', ageMax: '', locale: '', sort: DEFAULT_SORT, page: 1, perPage: DEFAULT_PAGE_SIZE };
  let selectedId = null;
  let latestLoad = 0; // only the newest listing's answer is shown

  const nameInput = h('input', { id: 'people-filter-name', type: 'search', autocomplete: 'off', placeholder: 'part of a name' });
  const ageMinInput = h('input', { id: 'people-filter-age-min', type: 'number', inputmode: 'numeric', min: '0', max: '150', step: '1' });
  const ageMaxInput = h('input', { id: 'people-filter-age-max', type: 'number', inputmode: 'numeric', min: '0', max: '150', step: '1' });
  const localeInput = h('input', {
    id: 'people-filter-locale', type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', placeholder: 'en-US',
  });
  const sortOptions = COLUMNS.flatMap(({ name, label }) => [
    h('option', { value: name }, `${label}, ascending`),
    h('option', { value: `-${name}` }, `${label}, descending`),
  ]);
  const sortSelect = h('select', { id: 'people-sort' }, sortOptions);
  const perPageSelect = h('select', { id: 'people-per-page' },
    PAGE_SIZES.map((size) => h('option', { value: String(size) }, String(size))));
  perPageSelect.value = String(DEFAULT_PAGE_SIZE);
  const filterStatus = h('p', { id: 'people-filter-status', class: 'status', role: 'status' });

  const field = (id, label, control) => h('div', { class: 'people-field' }, h('label', { for: id }, label), control);
  const filterForm = h('form', { id: 'people-filter', class: 'people-filters', 'aria-label': 'Filter and sort people', novalidate: true },
    field('people-filter-name', 'Name contains', nameInput),
    field('people-filter-age-min', 'Age from', ageMinInput),
    field('people-filter-age-max', 'Age to', ageMaxInput),
    field('people-filter-locale', 'Locale', localeInput),
    field('people-sort', 'Sort by', sortSelect),
    field('people-per-page', 'Per page', perPageSelect),
    h('div', { class: 'people-field people-actions' },
      h('button', { id: 'people-filter-apply', type: 'submit', class: 'primary' }, 'Apply'),
      h('button', { id: 'people-filter-clear', type: 'button', onclick: clearFilters }, 'Clear')));

  // Column headers sort on click; aria-sort says the current order.
  const headers = COLUMNS.map(({ name, label, numeric }) => {
    const mark = h('span', { class: 'sort-mark', 'aria-hidden': 'true' });
    const button = h('button', { type: 'button', class: 'sort-button', 'data-sort': name, onclick: () => sortBy(name) }, label, mark);
    return { name, mark, cell: h('th', { scope: 'col', class: numeric ? 'num' : null }, button) };
  });
  const rows = h('tbody');
  const table = h('table', { id: 'people-table', class: 'data' },
    h('thead', {}, h('tr', {}, headers.map((header) => header.cell), writable ? h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')) : null)),
    rows);
  const status = h('p', { id: 'people-status', class: 'status', role: 'status' });
  const previous = h('button', { id: 'people-prev', type: 'button', disabled: true }, 'Previous');
  const next = h('button', { id: 'people-next', type: 'button', disabled: true }, 'Next');
  const pageInfo = h('span', { id: 'people-page-info', class: 'muted', 'aria-live': 'polite' });

  function listingPath() {
    const params = new URLSearchParams();
    if (query.name) params.set('name[contains]', query.name);
    if (query.ageMin !== '') params.set('age[gte]', query.ageMin);
    if (query.ageMax !== '') params.set('age[lte]', query.ageMax);
    if (query.locale) params.set('locale', query.locale);
    params.set('sort', query.sort);
    params.set('page', String(query.page));
    params.set('per_page', String(query.perPage));
    return `/v1/people?${params}`;
  }

  function showSort() {
    const descending = query.sort.startsWith('-');
    const column = query.sort.replace(/^-/, '');
    sortSelect.value = query.sort;
    for (const header of headers) {
      const active = header.name === column;
      if (active) header.cell.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      else header.cell.removeAttribute('aria-sort');
      header.mark.textContent = active ? (descending ? '▼' : '▲') : '';
    }
  }

  function personRow(person) {
    const row = h('tr', { class: `person-row${person.id === selectedId ? ' selected' : ''}`, 'data-id': String(person.id) },
      h('td', { class: 'num' }, String(person.id)),
      h('td', { class: 'person-name' }, String(person.name ?? '')),
      h('td', { class: 'num' }, String(person.age ?? '')),
      h('td', {}, String(person.locale ?? '')),
      writable ? h('td', {}, h('button', {
        type: 'button', class: 'person-edit small', 'aria-label': `Edit ${person.name} (id ${person.id})`, onclick: () => onOpen(person.id),
      }, 'Edit')) : null);
    // A click anywhere on the row opens it too; keyboards use the Edit button.
    if (writable) row.addEventListener('click', (event) => { if (!event.target.closest('button')) onOpen(person.id); });
    return row;
  }

  async function load() {
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
    if (!response.ok) {
      const named = Array.isArray(body?.errors) ? body.errors.map((e) => `${e.field}: ${e.message}`).join('; ') : '';
      throw new ApiError(response.status, `Cannot list people: ${failure(response, body)}${named ? ` (${named})` : ''}`);
    }
    const people = Array.isArray(body) ? body : [];
    const totalHeader = response.headers.get('X-Total-Count');
    const total = totalHeader === null ? null : Number(totalHeader);
    // A page past the end (its last rows deleted): show the last one there is.
    if (!people.length && query.page > 1 && total) {
      query.page = Math.max(1, Math.ceil(total / query.perPage));
      return load();
    }
    rows.replaceChildren(...(people.length ? people.map(personRow)
      : [h('tr', {}, h('td', { colspan: String(COLUMNS.length + (writable ? 1 : 0)), class: 'muted' }, 'No people match.'))]));
    showSort(); // aria-sort describes the rows shown, so it changes with them
    const relations = linkRelations(response.headers.get('Link'));
    previous.disabled = query.page <= 1;
    next.disabled = !relations.has('next');
    const pages = total === null ? '' : ` of ${Math.max(1, Math.ceil(total / query.perPage))}`;
    pageInfo.textContent = `Page ${query.page}${pages}` + (total === null ? '' : ` · ${total} ${total === 1 ? 'person' : 'people'}`);
    setStatus(status, '');
  }

  const reload = guarded(status, load);
  /** Loads the listing again; `firstPage` goes back to page 1 (where a
   * person just created is, newest first). */
  function refresh({ firstPage = false } = {}) {
    if (firstPage) query.page = 1;
    return reload();
  }

  function readFilters() {
    setStatus(filterStatus, '');
    for (const input of [ageMinInput, ageMaxInput]) input.removeAttribute('aria-invalid');
    // Checked here, so that a typo costs no 400 from the server.
    const bad = [ageMinInput, ageMaxInput].filter((input) =>
      input.validity.badInput || (input.value.trim() !== '' && !WHOLE_NUMBER.test(input.value.trim())));
    if (bad.length) {
      for (const input of bad) input.setAttribute('aria-invalid', 'true');
      setStatus(filterStatus, 'Ages are whole numbers, such as 30.', 'error');
      bad[0].focus();
      return false;
    }
    query.name = nameInput.value;
    query.ageMin = ageMinInput.value.trim();
    query.ageMax = ageMaxInput.value.trim();
    query.locale = localeInput.value.trim();
    query.sort = sortSelect.value;
    query.perPage = Number(perPageSelect.value);
    query.page = 1;
    return true;
  }

  function clearFilters() {
    filterForm.reset();
    perPageSelect.value = String(DEFAULT_PAGE_SIZE);
    sortSelect.value = query.sort; // clearing filters keeps the order
    if (readFilters()) refresh();
  }

  function sortBy(column) {
    query.sort = query.sort === column ? `-${column}` : column;
    query.page = 1;
    refresh();
  }

  filterForm.addEventListener('submit', (event) => {
    event.preventDefault(); // never a real submission (form-action 'none')
    if (readFilters()) refresh();
  });
  previous.addEventListener('click', () => { query.page = Math.max(1, query.page - 1); refresh(); });
  next.addEventListener('click', () => { query.page += 1; refresh(); });
  showSort();

  return {
    element: h('section', { class: 'panel people-browse', 'aria-labelledby': 'people-browse-title' },
      h('h2', { id: 'people-browse-title' }, 'Browse'),
      filterForm,
      filterStatus,
      h('div', { class: 'scroll-x' }, table),
      status,
      h('div', { class: 'people-pager' }, previous, pageInfo, next)),
    refresh,
    select(id) {
      selectedId = id;
      for (const row of rows.querySelectorAll('.person-row')) row.classList.toggle('selected', row.dataset.id === String(id));
    },
  };
}

// ---------------------------------------------------------------- create and edit

function editSection({ signal, onSelect, onSaved }) {
  let opened = null; // { person, etag } as read from the server; null: a new person
  let conflict = null; // { base, server, etag } after a 412: the server's version now

  const title = h('h2', { id: 'person-form-title' }, 'New person');
  const inputs = {
    name: h('input', { id: 'person-name', type: 'text', autocomplete: 'off', maxlength: '200' }),
    age: h('input', { id: 'person-age', type: 'number', inputmode: 'numeric', min: '0', max: '150', step: '1' }),
    locale: h('input', { id: 'person-locale', type: 'text', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', placeholder: 'en-US' }),
  };
  const hints = { locale: 'A BCP 47 tag, such as en-US or zh-Hant-TW.', age: 'A whole number from 0 to 150.' };
  const fieldBoxes = Object.fromEntries(FIELDS.map(({ name, label }) => {
    const hint = hints[name] ? h('p', { id: `person-${name}-hint`, class: 'muted people-hint' }, hints[name]) : null;
    if (hint) inputs[name].setAttribute('aria-describedby', hint.id);
    return [name, h('div', { class: 'people-field' }, h('label', { for: inputs[name].id }, label), inputs[name], hint)];
  }));
  const status = h('p', { id: 'person-status', class: 'status', role: 'status' });
  const save = h('button', { id: 'person-save', type: 'submit', class: 'primary' }, 'Save');
  const cancel = h('button', { id: 'person-cancel', type: 'button' }, 'Cancel');
  const remove = h('button', { id: 'person-delete', type: 'button', class: 'danger', hidden: true }, 'Delete');
  const form = h('form', { id: 'person-form', class: 'person-form', 'aria-labelledby': 'person-form-title', novalidate: true },
    FIELDS.map(({ name }) => fieldBoxes[name]),
    h('div', { class: 'row' }, save, cancel, remove));

  const conflictTitle = h('h3', { id: 'person-conflict-title', tabindex: '-1' }, 'Changed by someone else');
  const conflictRows = h('tbody');
  const conflictPanel = h('div', { id: 'person-conflict', class: 'people-conflict', role: 'group', 'aria-labelledby': 'person-conflict-title', hidden: true },
    conflictTitle,
    h('p', {}, 'This person changed on the server since you opened it. Nothing was saved. Compare, then choose:'),
    h('div', { class: 'scroll-x' }, h('table', { class: 'conflict-table' },
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Field'),
        h('th', { scope: 'col' }, 'You started from'),
        h('th', { scope: 'col' }, 'Server now'),
        h('th', { scope: 'col' }, 'Yours'))),
      conflictRows)),
    h('div', { class: 'row' },
      h('button', { id: 'conflict-keep-mine', type: 'button', class: 'primary', onclick: guarded(status, keepMine) }, 'Keep mine'),
      h('button', { id: 'conflict-take-theirs', type: 'button', onclick: takeTheirs }, 'Take theirs')));

  // ---- the form's values and messages

  function formValues() {
    const age = inputs.age.value.trim();
    return { name: inputs.name.value, age: age === '' ? null : Number(age), locale: inputs.locale.value.trim() };
  }

  function fill(person) {
    inputs.name.value = person?.name ?? '';
    inputs.age.value = person?.age ?? '';
    inputs.locale.value = person?.locale ?? '';
  }

  function clearFieldMessages() {
    for (const element of form.querySelectorAll('.field-message')) element.remove();
    for (const { name } of FIELDS) {
      inputs[name].removeAttribute('aria-invalid');
      if (hints[name]) inputs[name].setAttribute('aria-describedby', `person-${name}-hint`);
      else inputs[name].removeAttribute('aria-describedby');
    }
  }

  /** One message under each named input; returns the errors naming no input. */
  function showFieldMessages(errors) {
    clearFieldMessages();
    const unplaced = [];
    for (const error of errors) {
      const input = inputs[error?.field];
      if (!input) { unplaced.push(error); continue; }
      const id = `person-${error.field}-message`;
      let message = document.getElementById(id);
      if (!message) {
        message = h('p', { id, class: 'field-message' });
        fieldBoxes[error.field].append(message);
        input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
      }
      message.textContent = message.textContent ? `${message.textContent}; ${error.message}` : String(error.message ?? 'is not valid');
      input.setAttribute('aria-invalid', 'true');
    }
    const first = FIELDS.find(({ name }) => inputs[name].getAttribute('aria-invalid') === 'true');
    if (first) inputs[first.name].focus();
    return unplaced;
  }

  /** Shows `person` (null: a blank new one) as opened at `etag`. */
  function load(person, etag) {
    opened = person ? { person, etag } : null;
    fill(person);
    clearFieldMessages();
    hideConflict();
    title.textContent = person ? `Person ${person.id}` : 'New person';
    remove.hidden = !person;
  }

  // ---- server calls

  async function open(id) {
    setStatus(status, 'Opening…');
    const response = await api(`/v1/people/${encodeURIComponent(id)}`, { signal });
    const body = await readJson(response);
    if (!response.ok) throw new ApiError(response.status, `Cannot open person ${id}: ${failure(response, body)}`);
    load(body, response.headers.get('ETag'));
    onSelect(body.id);
    setStatus(status, '');
    inputs.name.focus();
  }

  /** Create, or update what was opened with If-Match `etag`. */
  async function submit(etag) {
    if (inputs.age.validity.badInput) {
      // The browser holds no value for text typed in a number field.
      showFieldMessages([{ field: 'age', message: 'must be a whole number' }]);
      setStatus(status, 'Not saved: see the marked field.', 'error');
      return;
    }
    const values = formValues();
    const editing = opened;
    setStatus(status, 'Saving…');
    save.disabled = true;
    let response;
    try {
      response = editing
        // A merge patch of every field: what the form shows is what is stored,
        // and an untouched locale from the compatible routes stays accepted.
        ? await api(`/v1/people/${editing.person.id}`, {
          method: 'PATCH', signal, body: JSON.stringify(values),
          headers: { 'Content-Type': 'application/merge-patch+json', ...(etag ? { 'If-Match': etag } : {}) },
        })
        : await api('/v1/people', { method: 'POST', signal, body: JSON.stringify(values), headers: { 'Content-Type': 'application/json' } });
    } finally {
      save.disabled = false;
    }
    const body = await readJson(response);
    if (response.ok) {
      load(body, response.headers.get('ETag'));
      setStatus(status, 'Saved', 'ok');
      onSaved(body.id, !editing);
      return;
    }
    if (response.status === 412 && editing) {
      await showConflict(editing.person);
      return;
    }
    if (response.status === 404 && editing) {
      opened = null; // Save now creates it anew, with the values kept in the form
      title.textContent = 'New person';
      remove.hidden = true;
      hideConflict();
      setStatus(status, `Not saved: person ${editing.person.id} was deleted meanwhile. Save again creates a new person.`, 'error');
      onSaved(null);
      return;
    }
    const errors = Array.isArray(body?.errors) ? body.errors : [];
    if (errors.length) {
      const unplaced = showFieldMessages(errors);
      const rest = unplaced.map((e) => `${e.field}: ${e.message}`).join('; ');
      setStatus(status, `Not saved: ${rest || 'see the marked fields.'}`, 'error');
    } else {
      setStatus(status, `Not saved: ${failure(response, body)}`, 'error');
    }
  }

  /** After a 412: reads the server's version and shows the three side by side. */
  async function showConflict(base) {
    const response = await api(`/v1/people/${base.id}`, { signal });
    const server = await readJson(response);
    if (!response.ok) throw new ApiError(response.status, `Not saved, it changed meanwhile, and it cannot be read again: ${failure(response, server)}`);
    conflict = { base, server, etag: response.headers.get('ETag') };
    renderConflict();
    conflictPanel.hidden = false;
    setStatus(status, 'Not saved: this person changed since you opened it. Keep yours or take theirs below.', 'warn');
    conflictTitle.focus();
  }

  function renderConflict() {
    if (!conflict) return;
    const mine = formValues();
    const shown = (value) => (value === null || value === undefined || value === '' ? '—' : String(value));
    conflictRows.replaceChildren(...FIELDS.map(({ name, label }) => {
      const changed = String(conflict.base[name] ?? '') !== String(conflict.server[name] ?? '');
      return h('tr', { class: `conflict-field${changed ? ' changed' : ''}`, 'data-field': name },
        h('th', { scope: 'row' }, label, changed ? h('span', { class: 'badge warn' }, 'changed') : null),
        h('td', { class: 'conflict-base' }, shown(conflict.base[name])),
        h('td', { class: 'conflict-server' }, shown(conflict.server[name])),
        h('td', { class: 'conflict-mine' }, shown(mine[name])));
    }));
  }

  function hideConflict() {
    conflict = null;
    conflictPanel.hidden = true;
    conflictRows.replaceChildren();
  }

  /** Re-sends the form's values over the server's newer version. */
  async function keepMine() {
    if (!conflict) return;
    await submit(conflict.etag);
  }

  function takeTheirs() {
    if (!conflict) return;
    load(conflict.server, conflict.etag);
    setStatus(status, 'Loaded the server’s version; your changes were dropped.', 'ok');
    onSaved(opened.person.id); // the table may show the older values
    inputs.name.focus();
  }

  async function deletePerson() {
    if (!opened) return;
    const { person, etag } = opened;
    if (!(await confirmAction(`Delete ${person.name} (id ${person.id})?`, 'Delete'))) return;
    setStatus(status, 'Deleting…');
    const response = await api(`/v1/people/${person.id}`, { method: 'DELETE', signal, headers: etag ? { 'If-Match': etag } : {} });
    if (response.status === 412) {
      await open(person.id);
      setStatus(status, 'Not deleted: it changed since you opened it. Here is the current version; Delete again to delete it.', 'warn');
      return;
    }
    if (!response.ok && response.status !== 404) {
      throw new ApiError(response.status, `Not deleted: ${failure(response, await readJson(response))}`);
    }
    load(null);
    setStatus(status, 'Deleted', 'ok');
    onSaved(null);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault(); // never a real submission (form-action 'none')
    guarded(status, submit)(opened?.etag);
  });
  form.addEventListener('input', renderConflict); // keeps the "Yours" column true
  cancel.addEventListener('click', () => {
    load(null);
    setStatus(status, '');
    onSelect(null);
  });
  remove.addEventListener('click', guarded(status, deletePerson));

  return {
    element: h('section', { class: 'panel people-editor', 'aria-labelledby': 'person-form-title' },
      title, form, status, conflictPanel),
    open: guarded(status, open),
  };
}
