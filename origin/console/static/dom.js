// Small DOM helpers. Data only ever enters the page as text nodes or
// property values (textContent, .value), never as HTML, so a link URL or a
// reference holding markup shows as text.

// h builds an element: h('td', {class: 'num'}, 'text', otherNode).
// Props starting with "on" are event listeners; "class" sets className;
// everything else is an attribute (true = present, null/false = absent).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  put(el, children);
  return el;
}

function put(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// fill replaces el's children.
export function fill(el, ...children) {
  el.replaceChildren();
  put(el, children);
  return el;
}

// table builds a table from column headers and rows of cells.
export function table(id, headers, rows, empty = 'nothing yet') {
  return h('table', { id },
    h('thead', null, h('tr', null, headers.map((x) => h('th', null, x)))),
    h('tbody', null, rows.length === 0
      ? h('tr', null, h('td', { colspan: headers.length, class: 'muted' }, empty))
      : rows));
}

// fmtTime shows an RFC 3339 time in the browser's zone; '' for null.
export function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString();
}

// ago says how long before now t was: "3 s ago".
export function ago(s, now = Date.now()) {
  if (!s) return 'never';
  const ms = now - new Date(s).getTime();
  if (!Number.isFinite(ms)) return String(s);
  if (ms < 1000) return 'just now';
  if (ms < 60000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 3600000) return `${Math.round(ms / 60000)} min ago`;
  return `${Math.round(ms / 3600000)} h ago`;
}

// status shows a result line under a form: ok or error.
export function status(el, text, ok = false) {
  el.className = ok ? 'ok' : 'error';
  el.textContent = text;
}

// field is a labelled input.
export function field(label, input) {
  return h('label', null, label, ' ', input);
}

// formValues reads a form's inputs by id.
export function val(id) {
  const el = document.getElementById(id);
  return el ? el.value.trim() : '';
}

// localToISO turns a datetime-local value into RFC 3339 UTC ('' stays '').
export function localToISO(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

// isoToLocal turns RFC 3339 into a datetime-local value.
export function isoToLocal(s) {
  if (!s) return '';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
