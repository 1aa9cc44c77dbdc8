// JSON as text in an editor: where a syntax error is, and where the field a
// JSON pointer names is, so that the editors put the caret on what the
// browser or the server refused.

/** Where JSON.parse's error is, from its message (V8 says `position N`, or
 * `line L column C`); null when it does not say. */
export function syntaxErrorOffset(message, text) {
  const position = /position (\d+)/.exec(message);
  if (position) return Math.min(Number(position[1]), text.length);
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) {
    const lines = text.split('\n').slice(0, Number(lineColumn[1]) - 1);
    return lines.reduce((sum, line) => sum + line.length + 1, 0) + Number(lineColumn[2]) - 1;
  }
  return /end of (JSON|data)/i.test(message) ? text.length : null;
}

/** The text range of the field a JSON pointer names: the member's key to the
 * end of its line, or the array item. Walks as deep as the text goes (a
 * missing field points at its parent); null when the text is not JSON. */
export function locatePointer(text, pointer) {
  let tree;
  try { tree = parseWithOffsets(text); } catch { return null; }
  let node = tree;
  let range = { start: tree.start, end: tree.start };
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const member = node.members?.get(key);
    const item = /^\d+$/.test(key) ? node.items?.[Number(key)] : undefined;
    if (member) {
      node = member.value;
      range = { start: member.keyStart, end: member.value.end };
    } else if (item) {
      node = item;
      range = { start: item.start, end: item.end };
    } else {
      break;
    }
  }
  const lineEnd = text.indexOf('\n', range.start);
  return { start: range.start, end: lineEnd < 0 ? range.end : Math.min(range.end, lineEnd) };
}

/** A JSON parse that keeps where each value and key starts and ends. Throws
 * on text that is not JSON. */
function parseWithOffsets(text) {
  let i = 0;
  const skipSpace = () => { while (/\s/.test(text[i] ?? '')) i++; };
  const expect = (char) => { skipSpace(); if (text[i] !== char) throw new Error(`expected ${char} at ${i}`); i++; };
  const string = () => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) throw new Error('unterminated string');
    i++;
    return { start, end: i, text: JSON.parse(text.slice(start, i)) };
  };
  const value = () => {
    skipSpace();
    const start = i;
    if (text[i] === '{') {
      i++;
      const members = new Map();
      skipSpace();
      if (text[i] === '}') { i++; return { start, end: i, members }; }
      for (;;) {
        skipSpace();
        if (text[i] !== '"') throw new Error(`expected a key at ${i}`);
        const key = string();
        expect(':');
        members.set(key.text, { keyStart: key.start, value: value() });
        skipSpace();
        if (text[i] === ',') { i++; continue; }
        expect('}');
        return { start, end: i, members };
      }
    }
    if (text[i] === '[') {
      i++;
      const items = [];
      skipSpace();
      if (text[i] === ']') { i++; return { start, end: i, items }; }
      for (;;) {
        items.push(value());
        skipSpace();
        if (text[i] === ',') { i++; continue; }
        expect(']');
        return { start, end: i, items };
      }
    }
    if (text[i] === '"') return string();
    while (i < text.length && !/[\s,\]}]/.test(text[i])) i++;
    if (i === start) throw new Error(`expected a value at ${i}`);
    return { start, end: i };
  };
  return value();
}
