// The fields of a link, shared by the create and edit forms: every field
// POST /v1/links and PATCH /v1/links/{code} take (url, code, redirect,
// expires_at, tags, title, max_visits, valid_since, forward_query, targets).
// Inputs get ids PREFIX-FIELD (create-tags, edit-title, ...). Values are
// read back as they are typed: the origin checks them and answers 400 with
// the reason, and the page shows that answer (no second set of rules here
// that could drift from the API's).

import { h, field, val, localToISO, isoToLocal } from './dom.js';

// linkFields builds the inputs of a form, filled from link l (create: null).
export function linkFields(prefix, l) {
  const id = (f) => `${prefix}-${f}`;
  const t = (l && l.targets) || {};
  return [
    field('Target URL', h('input', { id: id('url'), type: 'url', required: true, size: 50, spellcheck: 'false', value: l ? l.url : null })),
    l ? null : field('Code (optional)', h('input', { id: id('code'), spellcheck: 'false', autocomplete: 'off' })),
    field('Title', h('input', { id: id('title'), size: 30, value: l ? l.title || '' : null })),
    field('Tags (space or comma separated)', h('input', { id: id('tags'), size: 24, spellcheck: 'false', value: l ? (l.tags || []).join(' ') : null })),
    field('Redirect', h('select', { id: id('redirect') }, [301, 302, 307, 308].map((c) =>
      h('option', { value: String(c), selected: c === (l ? l.redirect : 302) }, String(c))))),
    field('Valid from', h('input', { id: id('valid-since'), type: 'datetime-local', value: l ? isoToLocal(l.valid_since) : null })),
    field('Expires', h('input', { id: id('expires'), type: 'datetime-local', value: l ? isoToLocal(l.expires_at) : null })),
    field('Max visits', h('input', { id: id('max-visits'), type: 'number', min: '1', step: '1', value: l && l.max_visits != null ? String(l.max_visits) : null })),
    field('iOS target', h('input', { id: id('ios'), type: 'url', size: 30, spellcheck: 'false', value: t.ios || null })),
    field('Android target', h('input', { id: id('android'), type: 'url', size: 30, spellcheck: 'false', value: t.android || null })),
    h('label', null, h('input', { id: id('forward-query'), type: 'checkbox', checked: !!(l && l.forward_query) }), ' forward the query string'),
  ];
}

// tagList splits the tags input.
function tagList(s) { return s.split(/[\s,]+/).filter(Boolean); }

// targets is {ios, android} with only the ones given, or null for none.
function targets(ios, android) {
  const t = {};
  if (ios) t.ios = ios;
  if (android) t.android = android;
  return Object.keys(t).length ? t : null;
}
const targetsOf = (prefix) => targets(val(`${prefix}-ios`), val(`${prefix}-android`));

// maxVisits reads the visit limit: a number, or the text as typed so the
// origin's 400 invalid_max_visits explains what is wrong with it.
function maxVisits(s) {
  if (s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
}

const checked = (id) => document.getElementById(id).checked;

// createBody is the body of POST /v1/links: only the fields given.
export function createBody(prefix) {
  const body = { url: val(`${prefix}-url`), redirect: Number(val(`${prefix}-redirect`)) };
  const put = (k, v) => { if (v !== '' && v != null) body[k] = v; };
  put('code', val(`${prefix}-code`));
  put('title', val(`${prefix}-title`));
  const tags = tagList(val(`${prefix}-tags`));
  if (tags.length) body.tags = tags;
  put('valid_since', localToISO(val(`${prefix}-valid-since`)));
  put('expires_at', localToISO(val(`${prefix}-expires`)));
  put('max_visits', maxVisits(val(`${prefix}-max-visits`)));
  put('targets', targetsOf(prefix));
  if (checked(`${prefix}-forward-query`)) body.forward_query = true;
  return body;
}

// patchBody is the body of PATCH /v1/links/{code}: only what differs from
// l; an emptied field is sent as null (clears it), tags as [].
export function patchBody(prefix, l) {
  const body = {};
  const url = val(`${prefix}-url`);
  if (url !== l.url) body.url = url;
  const red = Number(val(`${prefix}-redirect`));
  if (red !== l.redirect) body.redirect = red;
  const title = val(`${prefix}-title`);
  if (title !== (l.title || '')) body.title = title === '' ? null : title;
  const tags = tagList(val(`${prefix}-tags`));
  if (tags.join(' ') !== (l.tags || []).join(' ')) body.tags = tags;
  for (const [k, input] of [['valid_since', 'valid-since'], ['expires_at', 'expires']]) {
    const local = val(`${prefix}-${input}`);
    if (local === '' && l[k]) body[k] = null;
    else if (local !== '' && local !== isoToLocal(l[k])) body[k] = localToISO(local);
  }
  const mv = maxVisits(val(`${prefix}-max-visits`));
  if (mv !== (l.max_visits ?? null)) body.max_visits = mv;
  const t = targetsOf(prefix);
  const was = l.targets ? targets(l.targets.ios, l.targets.android) : null;
  if (JSON.stringify(t) !== JSON.stringify(was)) body.targets = t;
  const fq = checked(`${prefix}-forward-query`);
  if (fq !== !!l.forward_query) body.forward_query = fq;
  return body;
}
