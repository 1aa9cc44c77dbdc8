/* echobase API docs: renders /openapi.json with plain DOM APIs.
 * CSP-safe: no inline code, no eval, no innerHTML; spec text only ever goes through textContent. */
(function () {
  'use strict';

  var METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
  var MAX_DEPTH = 8;       // nesting levels shown inline
  var MAX_ROWS = 500;      // rows per rendered schema, so huge graphs cannot freeze the tab
  var spec = null, budget = 0, total = 0;

  // ---------- small DOM / data helpers ----------
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return parent;
  }
  // Text with `backtick` spans shown as <code>; everything stays textContent.
  function rich(tag, cls, text) {
    var n = el(tag, cls);
    String(text).split(/`([^`\n]+)`/).forEach(function (part, i) {
      if (part) add(n, i % 2 ? el('code', null, part) : part);
    });
    return n;
  }
  function $(id) { return document.getElementById(id); }
  function isObj(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
  function has(o, k) { return o !== null && typeof o === 'object' && Object.prototype.hasOwnProperty.call(o, k); }
  function keys(o) { return isObj(o) ? Object.keys(o) : []; }
  function str(v) { return typeof v === 'string' ? v : ''; }
  function fmt(v) {
    var t = JSON.stringify(v);
    if (t === undefined) t = String(v);
    return t.length > 80 ? t.slice(0, 77) + '…' : t;
  }
  function slug(s) { return String(s).replace(/[^A-Za-z0-9_.-]+/g, '-'); }
  function unescapePtr(p) { return p.replace(/~1/g, '/').replace(/~0/g, '~'); }
  function refName(ref) { return unescapePtr(String(ref).split('/').pop()); }

  // Resolve a local JSON pointer such as "#/components/schemas/Foo".
  function pointer(ref) {
    if (typeof ref !== 'string' || ref.indexOf('#/') !== 0) return undefined;
    var cur = spec, parts = ref.slice(2).split('/');
    for (var i = 0; i < parts.length; i++) {
      var p;
      try { p = unescapePtr(decodeURIComponent(parts[i])); } catch (e) { return undefined; }
      if (!has(cur, p)) return undefined;
      cur = cur[p];
    }
    return cur;
  }
  // Follow $ref chains for non-schema objects (parameters, request bodies, responses).
  function deref(obj) {
    for (var guard = 0; isObj(obj) && typeof obj.$ref === 'string' && guard < 20; guard++) obj = pointer(obj.$ref);
    return isObj(obj) ? obj : null;
  }

  // ---------- schema rendering ----------
  function isNull(s) {
    return isObj(s) && (s.type === 'null' || (Array.isArray(s.type) && s.type.length === 1 && s.type[0] === 'null'));
  }
  // Peel wrappers utoipa emits: oneOf [T, null] for Option<T>, single-element allOf.
  function unwrap(s) {
    var nullable = false;
    for (var guard = 0; isObj(s) && guard < 10; guard++) {
      var list = s.oneOf || s.anyOf;
      if (Array.isArray(list) && list.length === 2 && list.filter(isNull).length === 1 && !s.properties) {
        nullable = true;
        s = isNull(list[0]) ? list[1] : list[0];
      } else if (Array.isArray(s.allOf) && s.allOf.length === 1 && !s.properties) {
        s = s.allOf[0];
      } else break;
    }
    return { s: s, nullable: nullable };
  }

  function refLink(ref) {
    var name = refName(ref);
    if (ref.indexOf('#/components/schemas/') !== 0) return el('span', 'ref', name);
    var a = el('a', 'ref', name);
    a.href = '#schema-' + encodeURIComponent(name);
    return a;
  }

  // Compact type label: "string(uuid)", "array<Item>", "map<string, integer>", "Foo | null".
  function typeLabel(schema) {
    var u = unwrap(schema), s = u.s, span = el('span', 'type'), nullable = u.nullable;
    if (s === true || (isObj(s) && !keys(s).length)) add(span, 'any');
    else if (s === false) add(span, 'never');
    else if (!isObj(s)) add(span, '?');
    else if (typeof s.$ref === 'string') add(span, refLink(s.$ref));
    else if (Array.isArray(s.oneOf)) add(span, 'oneOf');
    else if (Array.isArray(s.anyOf)) add(span, 'anyOf');
    else if (Array.isArray(s.allOf)) {
      s.allOf.forEach(function (part, i) { add(span, i ? ' & ' : '', typeLabel(part)); });
    }
    else {
      var types = Array.isArray(s.type) ? s.type.slice() : s.type ? [s.type] : [];
      if (types.indexOf('null') >= 0 && types.length > 1) { nullable = true; types = types.filter(function (t) { return t !== 'null'; }); }
      if (!types.length) types = [s.properties ? 'object' : s.items ? 'array' : has(s, 'const') ? 'const' : s.enum ? 'enum' : 'any'];
      types.forEach(function (t, i) {
        if (i) add(span, ' | ');
        if (t === 'array' && s.items !== undefined) add(span, 'array<', typeLabel(s.items), '>');
        else if (t === 'object' && !s.properties && (isObj(s.additionalProperties) || s.additionalProperties === true)) {
          add(span, 'map<string, ', typeLabel(s.additionalProperties), '>');
        } else add(span, String(t) + (s.format ? '(' + s.format + ')' : ''));
      });
    }
    if (nullable) add(span, el('span', 'nullable', ' | null'));
    return span;
  }

  function notes(schema) {
    var out = [], u = unwrap(schema).s;
    [schema, u].forEach(function (s, i) {
      if (!isObj(s) || (i === 1 && s === schema)) return;
      if (Array.isArray(s.enum)) out.push('enum: ' + s.enum.slice(0, 30).map(fmt).join(', ') + (s.enum.length > 30 ? ', …' : ''));
      if (has(s, 'const')) out.push('const: ' + fmt(s.const));
      if (has(s, 'default')) out.push('default: ' + fmt(s.default));
      ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength',
        'minItems', 'maxItems', 'multipleOf', 'pattern'].forEach(function (k) {
        if (has(s, k)) out.push(k + ': ' + fmt(s[k]));
      });
      if (s.readOnly) out.push('read-only');
      if (s.writeOnly) out.push('write-only');
      if (s.deprecated) out.push('deprecated');
      if (has(s, 'example')) out.push('example: ' + fmt(s.example));
      else if (Array.isArray(s.examples) && s.examples.length) out.push('example: ' + fmt(s.examples[0]));
      if (isObj(s.discriminator) && s.discriminator.propertyName) out.push('discriminator: ' + s.discriminator.propertyName);
    });
    return out;
  }
  function descOf(s) { return (isObj(s) && str(s.description)) || (isObj(unwrap(s).s) && str(unwrap(s).s.description)) || ''; }

  // Rows nested below a schema: object properties, array item properties, composition variants.
  // `seen` holds the $refs on the current path so recursive schemas stop instead of looping.
  function childRows(schema, seen) {
    var s = unwrap(schema).s, rows = [];
    if (!isObj(s)) return rows;
    if (typeof s.$ref === 'string') {
      if (seen.indexOf(s.$ref) >= 0) return [{ note: '↻ recursive: ' + refName(s.$ref) }];
      var target = pointer(s.$ref);
      if (target === undefined) return [{ note: '⚠ unresolved reference ' + s.$ref }];
      return childRows(target, seen.concat([s.$ref]));
    }
    if (Array.isArray(s.allOf)) s.allOf.forEach(function (part) { rows = rows.concat(childRows(part, seen)); });
    var variants = s.oneOf || s.anyOf;
    if (Array.isArray(variants)) {
      variants.forEach(function (v, i) {
        rows.push({ name: (s.oneOf ? 'oneOf ' : 'anyOf ') + '#' + (i + 1), schema: v, seen: seen, variant: true });
      });
    }
    var req = Array.isArray(s.required) ? s.required : [];
    keys(s.properties).forEach(function (k) {
      rows.push({ name: k, schema: s.properties[k], required: req.indexOf(k) >= 0, seen: seen });
    });
    if (isObj(s.additionalProperties) && s.properties) {
      rows.push({ name: '[any key]', schema: s.additionalProperties, seen: seen });
    } else if (isObj(s.additionalProperties) || s.additionalProperties === true) {
      rows = rows.concat(childRows(s.additionalProperties, seen));
    }
    if (s.items !== undefined) rows = rows.concat(childRows(s.items, seen));
    return rows;
  }

  function renderRows(rows, depth) {
    var ul = el('ul', 'props');
    rows.forEach(function (r) {
      var li = el('li');
      if (budget < 0) return;
      if (budget-- === 0) r = { note: '… (truncated; see Schemas below)' };
      if (r.note) { add(ul, add(li, el('span', 'muted', r.note))); return; }
      var head = add(el('div', 'prop'), el('code', r.variant ? 'pname variant' : 'pname', r.name), typeLabel(r.schema));
      if (r.required) add(head, el('span', 'req', 'required'));
      var d = descOf(r.schema);
      if (d) add(head, rich('span', 'pdesc', d));
      var n = notes(r.schema);
      if (n.length) add(head, el('span', 'notes', n.join(' · ')));
      li.appendChild(head);
      var sub = childRows(r.schema, r.seen);
      if (sub.length && depth >= MAX_DEPTH) sub = [{ note: '… (nested too deep; see Schemas below)' }];
      if (sub.length) li.appendChild(renderRows(sub, depth + 1));
      ul.appendChild(li);
    });
    return ul;
  }

  function renderSchema(schema, seen, omitType) {
    var box = el('div', 'schema');
    var line = add(el('div', 'schema-head'), omitType ? null : typeLabel(schema));
    var n = notes(schema);
    if (n.length) add(line, el('span', 'notes', n.join(' · ')));
    if (line.childNodes.length) box.appendChild(line);
    var rows = childRows(schema, seen || []);
    budget = MAX_ROWS;
    if (rows.length) box.appendChild(renderRows(rows, 0));
    return box;
  }

  function renderContent(content) {
    var wrap = el('div', 'content');
    keys(content).forEach(function (mt) {
      var media = isObj(content[mt]) ? content[mt] : {};
      var block = add(el('div', 'media'), el('code', 'mediatype', mt));
      block.appendChild(media.schema !== undefined ? renderSchema(media.schema) : el('div', 'muted', 'no schema'));
      wrap.appendChild(block);
    });
    return wrap;
  }

  // ---------- operations ----------
  function section(title) { return el('h4', 'section-title', title); }

  function renderParams(params) {
    var table = el('table', 'params');
    var hr = el('tr');
    ['Name', 'In', 'Type', 'Required', 'Description'].forEach(function (h) { hr.appendChild(el('th', null, h)); });
    add(table, add(el('thead'), hr));
    var tbody = el('tbody');
    params.forEach(function (p) {
      var schema = p.schema;
      if (schema === undefined && isObj(p.content)) {
        var first = p.content[keys(p.content)[0]];
        schema = isObj(first) ? first.schema : undefined;
      }
      var tr = el('tr');
      add(tr, add(el('td'), el('code', 'pname', p.name)), el('td', 'in', p.in), add(el('td'), schema !== undefined ? typeLabel(schema) : ''),
        el('td', p.required ? 'req' : 'muted', p.required ? 'required' : 'optional'));
      var desc = rich('td', null, str(p.description) || descOf(schema));
      var n = schema !== undefined ? notes(schema) : [];
      if (p.deprecated) n.unshift('deprecated');
      if (n.length) add(desc, el('div', 'notes', n.join(' · ')));
      tbody.appendChild(add(tr, desc));
    });
    return add(table, tbody);
  }

  function statusClass(code) {
    var c = String(code).charAt(0);
    return 'status-code s' + (/[1-5]/.test(c) ? c : 'x') + 'xx';
  }

  function renderOpBody(op, pathItem) {
    var body = el('div', 'op-body');
    if (str(op.description)) body.appendChild(rich('p', 'desc', op.description));
    var meta = el('div', 'meta');
    if (op.operationId) add(meta, el('span', 'muted', 'operationId '), el('code', null, op.operationId));
    var security = Array.isArray(op.security) ? op.security : spec.security;
    if (Array.isArray(security) && security.length) {
      var names = security.map(function (req) { return keys(req).join(' + ') || 'none'; });
      add(meta, el('span', 'muted', ' · auth '), el('code', null, names.join(' or ')));
    }
    if (meta.childNodes.length) body.appendChild(meta);

    // Path-level parameters apply unless overridden by an operation parameter with the same name+in.
    var byKey = {}, order = [];
    [pathItem.parameters, op.parameters].forEach(function (list) {
      (Array.isArray(list) ? list : []).forEach(function (raw) {
        var p = deref(raw);
        if (!p) return;
        var k = p.in + ':' + p.name;
        if (!has(byKey, k)) order.push(k);
        byKey[k] = p;
      });
    });
    if (order.length) add(body, section('Parameters'), renderParams(order.map(function (k) { return byKey[k]; })));

    var rb = deref(op.requestBody);
    if (rb) {
      var h = section('Request body');
      if (rb.required) add(h, ' ', el('span', 'req', 'required'));
      body.appendChild(h);
      if (str(rb.description)) body.appendChild(rich('p', 'desc', rb.description));
      body.appendChild(renderContent(rb.content));
    }

    var codes = keys(op.responses);
    if (codes.length) {
      body.appendChild(section('Responses'));
      codes.forEach(function (code) {
        var r = deref(op.responses[code]) || {};
        var row = el('div', 'response');
        add(row, add(el('div', 'response-head'), el('span', statusClass(code), code), rich('span', 'rdesc', str(r.description))));
        var hdrs = keys(r.headers);
        if (hdrs.length) add(row, el('div', 'notes', 'headers: ' + hdrs.join(', ')));
        if (keys(r.content).length) row.appendChild(renderContent(r.content));
        body.appendChild(row);
      });
    }
    return body;
  }

  // Build details lazily on first open so large specs stay fast.
  function lazy(details, build) {
    var built = false;
    details.addEventListener('toggle', function () {
      if (!details.open || built) return;
      built = true;
      try { details.appendChild(build()); } catch (e) {
        details.appendChild(el('p', 'error', 'Could not render this entry: ' + (e && e.message)));
      }
    });
  }

  function renderOperation(path, method, op, pathItem, tags, usedIds) {
    var d = el('details', 'op m-' + method);
    var id = 'op-' + slug(op.operationId || method + '-' + path);
    if (!usedIds[id]) { usedIds[id] = true; d.id = id; }
    var pathCode = el('code', 'path');
    String(path).split(/(\{[^}]*\})/).forEach(function (part) {
      if (part) add(pathCode, /^\{.*\}$/.test(part) ? el('span', 'path-param', part) : part);
    });
    var sum = add(el('summary'), el('span', 'method', method.toUpperCase()), pathCode);
    if (str(op.summary)) add(sum, el('span', 'op-summary', op.summary));
    if (op.deprecated) { d.classList.add('deprecated'); add(sum, el('span', 'badge dep', 'deprecated')); }
    d.appendChild(sum);
    d.dataset.search = [method, path, op.summary, op.operationId, tags.join(' ')].join(' ').toLowerCase();
    lazy(d, function () { return renderOpBody(op, pathItem); });
    return d;
  }

  function renderOperations() {
    var groups = {}, order = [], tagInfo = {}, usedIds = {};
    function group(name) {
      if (!has(groups, name)) { groups[name] = []; order.push(name); }
      return groups[name];
    }
    (Array.isArray(spec.tags) ? spec.tags : []).forEach(function (t) {
      if (isObj(t) && typeof t.name === 'string') { tagInfo[t.name] = t; group(t.name); }
    });
    keys(spec.paths).forEach(function (path) {
      var item = deref(spec.paths[path]);
      if (!item) return;
      METHODS.forEach(function (m) {
        var op = item[m];
        if (!isObj(op)) return;
        total++;
        var tags = Array.isArray(op.tags) && op.tags.length ? op.tags.map(String) : ['default'];
        tags.forEach(function (t) { group(t).push({ path: path, method: m, op: op, item: item, tags: tags }); });
      });
    });
    var root = $('operations'), toc = $('toc');
    order.forEach(function (name) {
      if (!groups[name].length) return;
      var sec = el('section', 'tag-group');
      sec.id = 'tag-' + slug(name);
      add(sec, add(el('h2'), name, el('span', 'count-badge', String(groups[name].length))));
      if (has(tagInfo, name) && str(tagInfo[name].description)) sec.appendChild(rich('p', 'desc', tagInfo[name].description));
      groups[name].forEach(function (o) { sec.appendChild(renderOperation(o.path, o.method, o.op, o.item, o.tags, usedIds)); });
      root.appendChild(sec);
      var a = el('a', null, name);
      a.href = '#' + sec.id;
      toc.appendChild(a);
    });
    if (!total) root.appendChild(el('p', 'muted', 'This API description has no operations.'));
    toc.hidden = !toc.childNodes.length;
  }

  function renderSchemas() {
    var schemas = isObj(spec.components) && isObj(spec.components.schemas) ? spec.components.schemas : {};
    var names = keys(schemas);
    if (!names.length) return;
    var sec = $('schemas');
    add(sec, add(el('h2'), 'Schemas', el('span', 'count-badge', String(names.length))));
    names.forEach(function (name) {
      var d = el('details', 'schema-item');
      d.id = 'schema-' + name;
      add(d, add(el('summary'), el('code', 'schema-name', name), typeLabel(schemas[name])));
      lazy(d, function () {
        var body = el('div', 'op-body');
        if (str(schemas[name].description)) body.appendChild(rich('p', 'desc', schemas[name].description));
        return add(body, renderSchema(schemas[name], ['#/components/schemas/' + name], true));
      });
      sec.appendChild(d);
    });
    var a = el('a', 'toc-schemas', 'Schemas');
    a.href = '#schemas';
    $('toc').appendChild(a);
    $('toc').hidden = false;
    sec.hidden = false;
  }

  // ---------- filter, expand/collapse, in-page navigation ----------
  function applyFilter() {
    var terms = $('filter').value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0, seen = {};
    Array.prototype.forEach.call(document.querySelectorAll('.tag-group'), function (sec) {
      var any = false;
      Array.prototype.forEach.call(sec.querySelectorAll('details.op'), function (d) {
        var ok = terms.every(function (t) { return d.dataset.search.indexOf(t) >= 0; });
        d.hidden = !ok;
        if (ok) { any = true; if (!seen[d.dataset.search]) { seen[d.dataset.search] = true; shown++; } }
      });
      sec.hidden = !any;
    });
    var noun = total === 1 ? ' operation' : ' operations';
    $('count').textContent = terms.length ? shown + ' of ' + total + noun : total + noun;
  }

  function reveal(hash) {
    var id;
    try { id = decodeURIComponent(String(hash).replace(/^#/, '')); } catch (e) { return; }
    var target = id && document.getElementById(id);
    if (!target) return;
    if (target.closest('[hidden]') && $('filter').value) { $('filter').value = ''; applyFilter(); }
    for (var n = target; n; n = n.parentElement) if (n.tagName === 'DETAILS') n.open = true;
    target.scrollIntoView({ block: 'start' });
  }

  function setAll(open) {
    Array.prototype.forEach.call(document.querySelectorAll('details.op'), function (d) {
      if (!d.hidden || !open) d.open = open;
    });
  }

  function showError(message) {
    var status = $('status');
    status.className = 'error';
    status.setAttribute('role', 'alert');
    status.textContent = '';
    var link = el('a', null, '/openapi.json');
    link.href = '/openapi.json';
    add(status, el('strong', null, 'Could not load the API description. '), message, el('br'), 'Raw document: ', link);
    status.hidden = false;
  }

  function render(doc) {
    if (!isObj(doc) || typeof doc.openapi !== 'string') throw new Error('The document is not an OpenAPI description (missing "openapi" field).');
    if (doc.paths !== undefined && !isObj(doc.paths)) throw new Error('"paths" must be an object.');
    spec = doc;
    var info = isObj(doc.info) ? doc.info : {};
    if (str(info.title)) { $('api-title').textContent = info.title; document.title = info.title + ' — API docs'; }
    if (info.version !== undefined) { $('api-version').textContent = 'v' + String(info.version).replace(/^v/, ''); $('api-version').hidden = false; }
    $('api-oas').textContent = 'OpenAPI ' + doc.openapi;
    $('api-oas').hidden = false;
    if (str(info.description)) {
      var d = $('api-description');
      d.textContent = '';
      add(d, rich('span', null, info.description));
      d.hidden = false;
    }
    renderOperations();
    renderSchemas();
    $('status').hidden = true;
    $('toolbar').hidden = false;
    $('filter').addEventListener('input', function () { applyFilter(); });
    $('expand-all').addEventListener('click', function () { setAll(true); });
    $('collapse-all').addEventListener('click', function () { setAll(false); });
    applyFilter();
    document.addEventListener('click', function (e) {
      var a = e.target.closest && e.target.closest('a[href^="#"]');
      if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      history.pushState(null, '', a.getAttribute('href'));
      reveal(a.getAttribute('href'));
    });
    window.addEventListener('popstate', function () { reveal(location.hash); });
    if (location.hash) reveal(location.hash);
  }

  function load() {
    fetch('/openapi.json', { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-cache' })
      .then(function (res) {
        if (res.ok) return res.text();
        return res.text().then(function (body) {
          var detail = '';
          try { detail = str(JSON.parse(body).detail); } catch (e) { /* not problem+json */ }
          throw new Error('Server answered HTTP ' + res.status + (res.statusText ? ' ' + res.statusText : '') + (detail ? ': ' + detail : '.'));
        });
      })
      .then(function (text) {
        var doc;
        try { doc = JSON.parse(text); } catch (e) { throw new Error('The response is not valid JSON (' + e.message + ').'); }
        render(doc);
      })
      .catch(function (err) {
        if (window.console) console.warn('docs:', err);
        showError(err && err.message ? err.message : String(err));
      });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', load);
  else load();
})();
