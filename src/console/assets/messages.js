// Messages: store a text or a file in the content-addressed store and get its
// SHA-256 digest back; look a digest up and preview the message.

import { api, h, ApiError, describeFailure, errorMessage, readJson, setStatus } from './console.js';

const PREVIEW_CHARS = 4096;
const WHOLE_FETCH_LIMIT = 1024 * 1024; // larger messages: only their first bytes
const IMAGE_TYPES = /^image\/(png|jpeg|gif|webp|avif|bmp|svg\+xml)\b/i;
const TEXT_TYPES = /^(text\/|application\/([\w.+-]*\+)?(json|xml)\b|application\/(javascript|x-www-form-urlencoded|yaml|x-yaml|toml)\b)/i;

export function render(container, { can }) {
  const lookup = lookupSection();
  if (can('messages', 'write')) container.append(storeSection((digest) => lookup.show(digest)));
  container.append(lookup.element);
  return null; // nothing runs in the background
}

function storeSection(lookUp) {
  const text = h('textarea', { id: 'message-text', class: 'code', rows: '6', spellcheck: 'false' });
  const file = h('input', { id: 'message-file', type: 'file' });
  const status = h('p', { id: 'message-store-status', class: 'status', role: 'status' });
  const digest = h('code', { id: 'message-digest', class: 'digest' });
  const stored = h('p', { id: 'message-stored', hidden: true }, 'Digest: ', digest, ' ',
    h('button', { type: 'button', id: 'message-digest-lookup', class: 'small', onclick: () => lookUp(digest.textContent) }, 'Look it up'));

  async function store(body, contentType) {
    setStatus(status, 'Storing…');
    stored.hidden = true;
    try {
      const response = await api('/v1/messages', { method: 'POST', headers: { 'Content-Type': contentType }, body });
      if (!response.ok) throw new ApiError(response.status, `Not stored: ${await describeFailure(response)}`);
      const answer = await readJson(response) ?? {};
      digest.textContent = answer.digest ?? '';
      stored.hidden = false;
      const size = `${answer.size ?? '?'} bytes`;
      setStatus(status, response.status === 201 ? `Stored, ${size}.` : `Already stored, ${size}.`, 'ok');
    } catch (error) {
      setStatus(status, errorMessage(error), 'error');
    }
  }

  const storeText = h('button', { id: 'message-store', type: 'button', class: 'primary' }, 'Store text');
  // Raw text/plain: the store keeps the bytes as they are (JSON would need {"message": ...}).
  storeText.addEventListener('click', () => store(text.value, 'text/plain; charset=utf-8'));
  const storeFile = h('button', { id: 'message-file-store', type: 'button' }, 'Store file');
  storeFile.addEventListener('click', () => {
    const chosen = file.files?.[0];
    if (!chosen) setStatus(status, 'Choose a file first.', 'error');
    // The store reads an application/json body as {"message": "..."}: a JSON
    // file goes as that message (the same bytes, kept as text/plain).
    else if (/^application\/json\b/i.test(chosen.type)) {
      chosen.text().then((content) => store(JSON.stringify({ message: content }), 'application/json'),
        (error) => setStatus(status, `Cannot read the file: ${error.message}`, 'error'));
    } else store(chosen, chosen.type || 'application/octet-stream');
  });

  return h('section', { class: 'panel', 'aria-labelledby': 'store-title' },
    h('h2', { id: 'store-title' }, 'Store a message'),
    h('label', { for: 'message-text' }, 'Text'),
    text,
    h('div', { class: 'row' }, storeText),
    h('label', { for: 'message-file' }, 'Or a file (sent with its content type)'),
    h('div', { class: 'row' }, file, storeFile),
    status,
    stored);
}

function lookupSection() {
  const input = h('input', {
    id: 'digest-input', type: 'text', class: 'code', spellcheck: 'false', autocomplete: 'off',
    placeholder: '64 hexadecimal characters', 'aria-describedby': 'message-lookup-status',
  });
  const status = h('p', { id: 'message-lookup-status', class: 'status', role: 'status' });
  const result = h('div', { id: 'message-result', hidden: true });

  async function lookUp() {
    const digest = input.value.trim().toLowerCase();
    result.hidden = true;
    result.replaceChildren();
    if (!/^[0-9a-f]{64}$/.test(digest)) {
      setStatus(status, 'A digest is 64 hexadecimal characters (a SHA-256).', 'error');
      return;
    }
    setStatus(status, 'Looking…');
    try {
      // The lookup answers 200 either way, so a missing message logs no error.
      const found = await api('/v1/messages:lookup', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ digests: [digest] }),
      });
      if (!found.ok) throw new ApiError(found.status, `Cannot look it up: ${await describeFailure(found)}`);
      const entry = (await readJson(found))?.found?.[0];
      if (!entry) {
        setStatus(status, 'No message has this digest.', 'error');
        return;
      }
      const whole = entry.size <= WHOLE_FETCH_LIMIT;
      const response = await api(`/v1/messages/${digest}`, whole ? {} : { headers: { Range: `bytes=0-${PREVIEW_CHARS - 1}` } });
      if (response.status === 404) {
        setStatus(status, 'No message has this digest.', 'error');
        return;
      }
      if (!response.ok) throw new ApiError(response.status, `Cannot read it: ${await describeFailure(response)}`);
      const type = response.headers.get('content-type') || 'application/octet-stream';
      const bytes = await response.blob();
      result.replaceChildren(h('dl', { class: 'facts' },
        h('dt', {}, 'Digest'), h('dd', {}, h('code', { class: 'digest' }, digest)),
        h('dt', {}, 'Size'), h('dd', { id: 'message-size' }, `${entry.size} bytes`),
        h('dt', {}, 'Content type'), h('dd', { id: 'message-type' }, type),
        h('dt', {}, 'Content'), h('dd', {}, await preview(bytes, type, entry.size, whole))));
      result.hidden = false;
      setStatus(status, '');
    } catch (error) {
      setStatus(status, errorMessage(error), 'error');
    }
  }

  const form = h('form', { class: 'row', 'aria-label': 'Look up a message' },
    h('label', { for: 'digest-input' }, 'Digest'), input,
    h('button', { id: 'digest-lookup', type: 'submit', class: 'primary' }, 'Look up'));
  form.addEventListener('submit', (event) => {
    event.preventDefault(); // never a real submission (form-action 'none')
    lookUp();
  });

  return {
    element: h('section', { class: 'panel', 'aria-labelledby': 'lookup-title' },
      h('h2', { id: 'lookup-title' }, 'Look up a digest'), form, status, result),
    show(digest) {
      input.value = digest;
      lookUp();
    },
  };
}

/** The preview element: an image (from a data: URL, as img-src allows no
 * blob:), pretty JSON, text (its first 4 KB), or "binary, N bytes". */
async function preview(blob, type, size, whole) {
  if (size === 0) return h('p', { id: 'message-preview', class: 'muted' }, 'Empty (0 bytes).');
  if (IMAGE_TYPES.test(type) && whole) {
    const source = await dataUrl(blob);
    return h('img', { id: 'message-preview', class: 'preview-image', src: source, alt: `The message (${type})` });
  }
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const text = TEXT_TYPES.test(type) || looksLikeText(bytes) ? new TextDecoder().decode(bytes) : null;
  if (text === null) return h('p', { id: 'message-preview', class: 'muted' }, `Binary, ${size} bytes.`);
  let shownText = text;
  if (whole && (/json/i.test(type) || /^\s*[[{]/.test(text))) {
    try { shownText = JSON.stringify(JSON.parse(text), null, 2); } catch { /* shown as it is */ }
  }
  const cut = shownText.length > PREVIEW_CHARS || !whole;
  return h('div', {},
    h('pre', { id: 'message-preview', class: 'preview-text' }, shownText.slice(0, PREVIEW_CHARS)),
    cut ? h('p', { class: 'muted' }, `Showing the first ${PREVIEW_CHARS} characters of ${size} bytes.`) : null);
}

/** Valid UTF-8 without control characters other than whitespace. */
function looksLikeText(bytes) {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  } catch {
    return false; // a cut multi-byte character at a range's end lands here too: shown as binary
  }
}

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.addEventListener('load', () => resolve(reader.result));
    reader.addEventListener('error', () => reject(reader.error));
    reader.readAsDataURL(blob);
  });
}
