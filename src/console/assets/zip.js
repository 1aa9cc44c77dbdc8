// Zip archives read and written in the browser, for a mappings folder's
// import and export. The browser's own CompressionStream and
// DecompressionStream ('deflate-raw') do the compression, so this is only
// the archive format (PKWARE APPNOTE 6.3): headers, a central directory and
// CRC-32. Not supported: ZIP64 (archives over 4 GiB or 65,535 entries),
// encryption, and methods other than stored (0) and deflate (8).

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_DIRECTORY = 0x06054b50;
const UTF8_NAMES = 0x0800; // general purpose flag 11: names are UTF-8

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

async function throughStream(bytes, stream) {
  const piped = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(piped).arrayBuffer());
}

/** The entries of a zip archive: [{ name, bytes }] (folders left out).
 * Throws an Error saying what is wrong with an archive it cannot read. */
export async function readZip(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end record is the last 22 bytes, unless a comment (up to 64 KiB) follows it.
  let end = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === END_OF_DIRECTORY) { end = at; break; }
  }
  if (end < 0) throw new Error('this is not a zip archive (no end of central directory)');
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  if (count === 0xffff || at === 0xffffffff) throw new Error('ZIP64 archives are not supported');
  const decoder = new TextDecoder();
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== CENTRAL_HEADER) {
      throw new Error(`entry ${i + 1}: the central directory is damaged`);
    }
    const method = view.getUint16(at + 10, true);
    const expectedCrc = view.getUint32(at + 16, true);
    const compressedSize = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const localAt = view.getUint32(at + 42, true);
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue; // a folder
    if (view.getUint32(localAt, true) !== LOCAL_HEADER) throw new Error(`${name}: its local header is damaged`);
    const dataAt = localAt + 30 + view.getUint16(localAt + 26, true) + view.getUint16(localAt + 28, true);
    const stored = bytes.subarray(dataAt, dataAt + compressedSize);
    let content;
    if (method === 0) content = stored;
    else if (method === 8) content = await throughStream(stored, new DecompressionStream('deflate-raw'));
    else throw new Error(`${name}: compression method ${method} is not supported (only stored and deflate)`);
    if (crc32(content) !== expectedCrc) throw new Error(`${name}: its checksum does not match (a damaged archive)`);
    entries.push({ name, bytes: content });
  }
  return entries;
}

/** A zip archive (a Blob) of `files`: [{ name, bytes }], each deflated. */
export async function writeZip(files) {
  const encoder = new TextEncoder();
  const now = new Date();
  const dosTime = (now.getHours() << 11) | (now.getMinutes() << 5) | (now.getSeconds() >> 1);
  const dosDate = ((now.getFullYear() - 1980) << 9) | ((now.getMonth() + 1) << 5) | now.getDate();
  const parts = [];
  const central = [];
  let offset = 0;
  for (const file of files) {
    const name = encoder.encode(file.name);
    const deflated = await throughStream(file.bytes, new CompressionStream('deflate-raw'));
    const crc = crc32(file.bytes);
    // The fields a local header and a central header share, from "version needed".
    const common = new DataView(new ArrayBuffer(26));
    common.setUint16(0, 20, true); // version needed: 2.0 (deflate)
    common.setUint16(2, UTF8_NAMES, true);
    common.setUint16(4, 8, true); // deflate
    common.setUint16(6, dosTime, true);
    common.setUint16(8, dosDate, true);
    common.setUint32(10, crc, true);
    common.setUint32(14, deflated.length, true);
    common.setUint32(18, file.bytes.length, true);
    common.setUint16(22, name.length, true);
    common.setUint16(24, 0, true); // no extra field
    const local = new Uint8Array(30);
    new DataView(local.buffer).setUint32(0, LOCAL_HEADER, true);
    local.set(new Uint8Array(common.buffer), 4);
    parts.push(local, name, deflated);
    const header = new Uint8Array(46);
    const headerView = new DataView(header.buffer);
    headerView.setUint32(0, CENTRAL_HEADER, true);
    headerView.setUint16(4, 20, true); // made by: version 2.0
    header.set(new Uint8Array(common.buffer), 6);
    headerView.setUint32(42, offset, true);
    central.push(header, name);
    offset += local.length + name.length + deflated.length;
  }
  const directorySize = central.reduce((size, part) => size + part.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, END_OF_DIRECTORY, true);
  end.setUint16(8, files.length, true);
  end.setUint16(10, files.length, true);
  end.setUint32(12, directorySize, true);
  end.setUint32(16, offset, true);
  return new Blob([...parts, ...central, new Uint8Array(end.buffer)], { type: 'application/zip' });
}
