// A WireMock mappings folder as a zip: import one (its `mappings/*.json`
// stubs and `__files/*` body files) and export this server's stubs and body
// files as one, the layout WireMock and `echobase serve --mappings` read.

import { api, h, ApiError, describeFailure, guarded, readJson, setStatus } from './console.js';
import { readZip, writeZip } from './zip.js';

/** `mappings/x.json` or `folder/mappings/x.json` (zips often hold a top folder). */
const MAPPING_ENTRY = /(?:^|\/)mappings\/[^/].*\.json$/i;
const FILE_ENTRY = /(?:^|\/)__files\/([^/].*)$/;

export function folderSection(onStubsChanged) {
  const input = h('input', { id: 'folder-import', type: 'file', accept: '.zip,application/zip' });
  const status = h('p', { id: 'folder-status', class: 'status', role: 'status' });
  const download = h('a', { id: 'folder-download', download: 'mappings.zip', hidden: true }, 'Download mappings.zip');
  let downloadUrl = null;

  async function importZip(file) {
    setStatus(status, `Reading ${file.name}…`);
    const entries = await readZip(await file.arrayBuffer());
    const mappings = [];
    const files = [];
    const decoder = new TextDecoder();
    for (const entry of entries) {
      const bodyFile = FILE_ENTRY.exec(entry.name);
      if (bodyFile) {
        files.push({ name: bodyFile[1], bytes: entry.bytes });
      } else if (MAPPING_ENTRY.test(entry.name)) {
        let parsed;
        try {
          parsed = JSON.parse(decoder.decode(entry.bytes));
        } catch (error) {
          throw new ApiError(0, `${entry.name} is not JSON: ${error.message}`);
        }
        // A file holds one stub, or several as {"mappings": [...]}.
        mappings.push(...(Array.isArray(parsed?.mappings) ? parsed.mappings : [parsed]));
      }
    }
    if (!mappings.length && !files.length) {
      throw new ApiError(0, `${file.name} holds no mappings/*.json and no __files/*: not a mappings folder`);
    }
    // Body files first, so that stubs naming them answer at once.
    for (const [index, bodyFile] of files.entries()) {
      setStatus(status, `Storing body file ${index + 1} of ${files.length}: ${bodyFile.name}`);
      const path = bodyFile.name.split('/').map(encodeURIComponent).join('/');
      const response = await api(`/__admin/files/${path}`, { method: 'PUT', body: bodyFile.bytes });
      if (!response.ok) throw new ApiError(response.status, `${bodyFile.name}: ${await describeFailure(response)}`);
    }
    if (mappings.length) {
      setStatus(status, `Importing ${mappings.length} stubs…`);
      // One transaction: a refused stub imports none (its index is in the error).
      const response = await api('/__admin/mappings/import', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ mappings, importOptions: { duplicatePolicy: 'OVERWRITE' } }),
      });
      if (!response.ok) {
        const body = await readJson(response);
        const error = body?.errors?.[0];
        const where = error?.source?.pointer ? ` (at ${error.source.pointer})` : '';
        throw new ApiError(response.status, `No stub was imported: ${error?.title ?? response.statusText}${where}`);
      }
    }
    setStatus(status, `Imported ${mappings.length} stubs and ${files.length} body files from ${file.name}.`, 'ok');
    onStubsChanged();
  }

  async function exportZip() {
    setStatus(status, 'Reading the stubs and body files…');
    const listed = await api('/__admin/mappings');
    if (!listed.ok) throw new ApiError(listed.status, await describeFailure(listed));
    const stubs = (await readJson(listed))?.mappings ?? [];
    const encoder = new TextEncoder();
    const entries = stubs.map((stub, index) => ({
      name: `mappings/${stub.id ?? `stub-${index + 1}`}.json`,
      bytes: encoder.encode(`${JSON.stringify(stub, null, 2)}\n`),
    }));
    const names = await api('/__admin/files');
    if (!names.ok) throw new ApiError(names.status, await describeFailure(names));
    const fileNames = (await readJson(names)) ?? [];
    for (const name of fileNames) {
      const path = name.split('/').map(encodeURIComponent).join('/');
      const response = await api(`/__admin/files/${path}`);
      if (!response.ok) throw new ApiError(response.status, `${name}: ${await describeFailure(response)}`);
      entries.push({ name: `__files/${name}`, bytes: new Uint8Array(await response.arrayBuffer()) });
    }
    const zip = await writeZip(entries);
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = URL.createObjectURL(zip);
    download.href = downloadUrl;
    download.hidden = false;
    setStatus(status, `Exported ${stubs.length} stubs and ${fileNames.length} body files (${zip.size} bytes).`, 'ok');
  }

  input.addEventListener('change', guarded(status, async () => {
    const file = input.files?.[0];
    if (file) await importZip(file);
    input.value = '';
  }));

  const element = h('section', { class: 'panel', 'aria-labelledby': 'folder-title' },
    h('h2', { id: 'folder-title' }, 'Mappings folder'),
    h('p', { class: 'muted' },
      'A zip of a WireMock folder: mappings/*.json (stubs) and __files/* (body files). ',
      'Importing replaces stubs with the same id.'),
    h('div', { class: 'row' },
      h('label', { for: 'folder-import' }, 'Import a zip'), input,
      h('button', { id: 'folder-export', type: 'button', onclick: guarded(status, exportZip) }, 'Export as zip'),
      download),
    status);
  // The link's object URL is the zip's memory: freed when the page goes.
  const cleanup = () => { if (downloadUrl) URL.revokeObjectURL(downloadUrl); };
  return { element, cleanup };
}
