// The console's shell: the nav, the hash router, the one API client every page
// uses (it sends the key and turns 401/403 into a message), the key prompt and
// the theme. Pages are modules exporting `render(container, context)`, which
// builds the page and returns a cleanup function the router calls on leave.

import * as overview from './overview.js';
import * as mocks from './mocks.js';
import * as messages from './messages.js';
import * as events from './events.js';
import * as people from './people.js';
import * as resources from './resources.js';

const KEY_STORAGE = 'echobase.key';
const THEME_STORAGE = 'echobase.theme';

// The pages, in nav order. `allowed(can)` says whether the presented key may
// use the page; a page of a module the server does not run is never allowed.
const PAGES = [
  { id: 'overview', title: 'Overview', page: overview, allowed: () => true },
  { id: 'mocks', title: 'Mocks', page: mocks, allowed: (can) => can('mocks', 'write') },
  { id: 'events', title: 'Events', page: events, allowed: (can) => can('events', 'read') },
  { id: 'people', title: 'People', page: people, allowed: (can) => can('people', 'read') },
  { id: 'resources', title: 'Resources', page: resources, allowed: (can) => can('resources', 'read') },
  { id: 'messages', title: 'Messages', page: messages, allowed: (can) => can('messages', 'read') },
];

const state = {
  key: readStorage(sessionStorage, KEY_STORAGE),
  access: null, // the last answer of GET /v1/access
  current: null, // { id, cleanup } of the page shown
};

// ---------------------------------------------------------------- helpers

/** An element: `props` become attributes (`text`: its text, `on<event>`: a
 * listener, `value`/`checked`: properties); children are nodes or strings
 * (strings become text, never markup). */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'style') throw new Error('inline styles break the Content-Security-Policy');
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'text') element.textContent = value;
    else if (name === 'class') element.className = value;
    else if (name === 'value' || name === 'checked') element[name] = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

function readStorage(storage, name) {
  try { return storage.getItem(name) || ''; } catch { return ''; }
}

function writeStorage(storage, name, value) {
  try {
    if (value) storage.setItem(name, value); else storage.removeItem(name);
  } catch { /* storage off (private mode): the setting lasts for this page only */ }
}

/** A failed call: `status` is the HTTP status, 0 when the server did not answer. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The body as JSON, or null when it is empty or not JSON. */
export async function readJson(response) {
  try { return JSON.parse(await response.text()); } catch { return null; }
}

/** What went wrong, in a sentence, from any of echobase's error bodies
 * (problem+json `detail`, WireMock's `errors`, the original services' `error`/`err_msg`). */
export async function describeFailure(response) {
  const body = await readJson(response);
  const said = body && (body.detail || body.errors?.[0]?.title || body.error || body.err_msg || body.title);
  return `${response.status} ${response.statusText || ''}`.trim() + (said ? `: ${said}` : '');
}

/** A failure's sentence from a body already read (problem+json `detail`). */
export function failure(response, body) {
  const said = body?.detail || body?.title || '';
  return `${response.status} ${response.statusText || ''}`.trim() + (said ? `: ${said}` : '');
}

/** Shows `text` in a status line; `kind` ('ok', 'warn', 'error') colours it. */
export function setStatus(element, text, kind = '') {
  element.textContent = text;
  element.className = `status ${kind}`.trim();
}

/** Runs an async action from an event, showing its failure in `status`
 * (nothing may be left unhandled: the console must log no error). */
export function guarded(status, action) {
  return async (...args) => {
    try {
      await action(...args);
    } catch (error) {
      if (error?.name === 'AbortError') return;
      setStatus(status, errorMessage(error), 'error');
    }
  };
}

/** An error's message for the page (an ApiError's is written for people already). */
export function errorMessage(error) {
  return error instanceof ApiError ? error.message : `Something went wrong: ${error?.message ?? error}`;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

async function send(path, options, key) {
  const headers = new Headers(options.headers);
  if (key) headers.set('X-API-Key', key);
  try {
    return await fetch(path, { ...options, headers, credentials: 'same-origin', cache: 'no-store' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'The server did not answer: is it running?');
  }
}

/** Every API call of every page: sends the key held, and turns a 401 (the
 * key prompt, with why) or a 403 (a notice) into a message on the page,
 * thrown as an ApiError. Any other answer is returned as it is. */
export async function api(path, options = {}) {
  const response = await send(path, options, state.key);
  if (response.status !== 401 && response.status !== 403) return response;
  const body = await readJson(response);
  const detail = body?.detail || body?.errors?.[0]?.title || '';
  const message = response.status === 401
    ? `This needs a valid API key${detail ? `: ${detail}` : '.'}`
    : `The key ${state.access?.key?.id ? `“${state.access.key.id}” ` : ''}may not do this${detail ? `: ${detail}` : '.'}`;
  // A 401 asks for a key (the prompt says why); a 403 is a notice: the key is valid.
  if (response.status === 401) showKeyPrompt(message);
  else showNotice(message);
  throw new ApiError(response.status, message);
}

/** Whether the server runs `module` and the key may `right` ('read' | 'write') it. */
export function can(module, right) {
  const found = state.access?.modules?.find((m) => m.name === module);
  return Boolean(found?.[right]);
}

/** Asks before a destructive action; resolves true when confirmed. Escape,
 * Cancel and a click outside resolve false. */
export function confirmAction(message, okLabel = 'OK') {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-message').textContent = message;
  document.getElementById('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  document.getElementById('confirm-cancel').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

function setupConfirmDialog() {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-ok').addEventListener('click', () => dialog.close('ok'));
  document.getElementById('confirm-cancel').addEventListener('click', () => dialog.close(''));
  // A click on the backdrop lands on the dialog element itself.
  dialog.addEventListener('click', (event) => { if (event.target === dialog) dialog.close(''); });
}

// ---------------------------------------------------------------- notices

function showNotice(message) {
  const notice = document.getElementById('notice');
  notice.replaceChildren(
    h('span', { text: message }),
    h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss', onclick: clearNotice }, '×'),
  );
  notice.hidden = false;
}

function clearNotice() {
  const notice = document.getElementById('notice');
  notice.hidden = true;
  notice.replaceChildren();
}

// ---------------------------------------------------------------- access and keys

/** A key the server does not know is a 401 or a 403, depending on the route. */
const refusedKey = (status) => status === 401 || status === 403;

/** GET /v1/access with `key`: { ok: true, access } or { ok: false, status, message }. */
async function fetchAccess(key) {
  let response;
  try {
    response = await send('/v1/access', {}, key);
  } catch (error) {
    return { ok: false, status: 0, message: errorMessage(error) };
  }
  if (response.ok) {
    const access = await readJson(response);
    if (access && Array.isArray(access.modules)) return { ok: true, access };
    return { ok: false, status: response.status, message: 'The server’s answer to /v1/access is not readable.' };
  }
  const body = await readJson(response);
  return { ok: false, status: response.status, message: body?.detail || `${response.status} ${response.statusText}` };
}

/** Reads what the held key may do, then shows the nav and the page. */
async function loadAccess() {
  let result = await fetchAccess(state.key);
  let reason = '';
  if (!result.ok && refusedKey(result.status) && state.key) {
    // The key held is not (or no longer) valid: forget it, ask for another.
    forgetKey({ reload: false });
    reason = `The key kept for this tab was refused: ${result.message}`;
    result = await fetchAccess('');
  }
  if (result.ok) {
    state.access = result.access;
  } else {
    // Without /v1/access the console can still show the overview.
    showNotice(`Cannot read what this console may show (${result.message}).`);
    state.access = { keys_required: false, key: null, modules: [] };
  }
  if (state.access.keys_required && !state.access.key) showKeyPrompt(reason);
  else hideKeyPrompt();
  renderKeyStatus();
  renderNav();
  route({ focus: false, force: true });
}

const DEFAULT_KEY_REASON = 'This server asks for an API key. It is kept for this tab only.';

function showKeyPrompt(reason) {
  document.getElementById('key-reason').textContent = reason || DEFAULT_KEY_REASON;
  document.getElementById('key-prompt').hidden = false;
}

function hideKeyPrompt() {
  document.getElementById('key-prompt').hidden = true;
  document.getElementById('key-error').hidden = true;
}

function setupKeyPrompt() {
  const prompt = document.getElementById('key-prompt');
  const input = document.getElementById('key-input');
  const error = document.getElementById('key-error');
  const submit = document.getElementById('key-submit');
  prompt.addEventListener('submit', async (event) => {
    event.preventDefault(); // never a real submission (form-action 'none')
    const key = input.value.trim();
    if (!key) return;
    submit.disabled = true;
    const result = await fetchAccess(key);
    submit.disabled = false;
    if (!result.ok) {
      const said = /not valid/i.test(result.message) ? '' : ` (${result.message})`;
      error.textContent = refusedKey(result.status) ? `This key is not valid${said}.` : result.message;
      error.hidden = false;
      input.focus();
      return;
    }
    state.key = key;
    writeStorage(sessionStorage, KEY_STORAGE, key);
    state.access = result.access;
    input.value = '';
    hideKeyPrompt();
    clearNotice();
    renderKeyStatus();
    renderNav();
    route({ focus: true, force: true });
  });
  document.getElementById('key-forget').addEventListener('click', async () => {
    await forgetKey({ reload: true });
    if (!prompt.hidden) input.focus(); // keys are required: ask for another
  });
}

async function forgetKey({ reload }) {
  state.key = '';
  writeStorage(sessionStorage, KEY_STORAGE, '');
  if (reload) {
    clearNotice();
    await loadAccess();
  }
}

function renderKeyStatus() {
  const id = state.access?.key?.id;
  const label = document.getElementById('key-id');
  label.textContent = id ? `Key: ${id}` : '';
  label.hidden = !id;
  document.getElementById('key-forget').hidden = !state.key;
}

// ---------------------------------------------------------------- nav and router

function renderNav() {
  const list = document.getElementById('nav-list');
  list.replaceChildren(...PAGES.filter((entry) => entry.allowed(can)).map((entry) =>
    h('li', {}, h('a', { href: `#/${entry.id}`, 'data-page': entry.id }, entry.title))));
}

/** The page the hash names; '' for an anchor that is not a route. */
function routeFromHash() {
  if (!location.hash || location.hash === '#' || location.hash === '#/') return 'overview';
  const match = /^#\/([\w-]+)/.exec(location.hash);
  return match ? match[1] : '';
}

function route({ focus = true, force = false } = {}) {
  if (!state.access) return; // the first route waits for /v1/access
  const id = routeFromHash();
  if (!id) return;
  if (!force && state.current?.id === id) return;
  leavePage();
  const entry = PAGES.find((page) => page.id === id);
  if (!entry) {
    history.replaceState(null, '', '#/overview');
    route({ focus });
    return;
  }
  const container = document.getElementById('page');
  const heading = h('h1', { id: 'page-title', tabindex: '-1' }, entry.title);
  const body = h('div', { class: 'page-body', 'data-page': entry.id });
  container.replaceChildren(heading, body);
  document.title = `${entry.title} · echobase`;
  for (const link of document.querySelectorAll('#nav-list a')) {
    if (link.dataset.page === id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  let cleanup = null;
  if (entry.allowed(can)) {
    try {
      cleanup = entry.page.render(body, { can, access: state.access });
    } catch (error) {
      body.replaceChildren(h('p', { class: 'error' }, errorMessage(error)));
    }
  } else {
    body.replaceChildren(h('p', { class: 'muted', id: 'page-denied' }, deniedReason(entry)));
  }
  state.current = { id, cleanup };
  if (focus) heading.focus();
}

function deniedReason(entry) {
  const running = state.access?.modules?.some((m) => m.name === entry.id);
  if (!running) return `This server does not run the ${entry.id} module.`;
  if (state.access?.keys_required && !state.access?.key) return `${entry.title} needs an API key: enter one above.`;
  return `The key held may not use ${entry.title}.`;
}

function leavePage() {
  const cleanup = state.current?.cleanup;
  state.current = null;
  if (typeof cleanup === 'function') {
    try { cleanup(); } catch { /* the page is gone either way */ }
  }
}

// ---------------------------------------------------------------- theme

function effectiveTheme() {
  return document.documentElement.dataset.theme
    || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}

function applyTheme(theme) {
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
  document.getElementById('theme-toggle').setAttribute('aria-pressed', String(effectiveTheme() === 'dark'));
}

function setupTheme() {
  applyTheme(readStorage(localStorage, THEME_STORAGE));
  document.getElementById('theme-toggle').addEventListener('click', () => {
    const next = effectiveTheme() === 'dark' ? 'light' : 'dark';
    writeStorage(localStorage, THEME_STORAGE, next);
    applyTheme(next);
  });
  // Follow the system while no choice is stored.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () =>
    applyTheme(readStorage(localStorage, THEME_STORAGE)));
}

// ---------------------------------------------------------------- start

function start() {
  setupTheme();
  setupConfirmDialog();
  setupKeyPrompt();
  // The skip link moves focus without touching the hash (the router's).
  document.getElementById('skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('main').focus();
  });
  window.addEventListener('hashchange', () => { clearNotice(); route({ focus: true }); });
  loadAccess();
}

start();
