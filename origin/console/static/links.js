// Links: list (search, tag filter, cursor pages), open, create, edit and
// delete links; per link its clicks and analytics, its QR code; the most
// clicked links; bulk import and export. Each part is its own module:
// linkform.js (the fields), linkstats.js (analytics), linkqr.js (QR),
// linkio.js (import/export); this one lays them out.

import { api, seg } from './api.js';
import { h, fill, table, fmtTime, status, field, val } from './dom.js';
import { linkFields, createBody, patchBody } from './linkform.js';
import { statsPanel, topPanel } from './linkstats.js';
import { qrPanel } from './linkqr.js';
import { ioPanel } from './linkio.js';

// statsExtras is re-exported for the browser tests and older callers.
export { statsExtras } from './linkstats.js';

const PAGE = 20;

export function mount(root) {
  let alive = true;
  let stops = []; // what the open link's panels need stopped
  const detail = h('div', { id: 'link-detail', class: 'panel' }, h('p', { class: 'muted' }, 'Open or create a link to see it here.'));
  const lookupMsg = h('p', { id: 'link-lookup-msg', role: 'alert' });
  const createMsg = h('p', { id: 'link-create-msg', role: 'alert' });
  // cursors[i] is the cursor of page i (page 0: none), for "Previous".
  let listState = { q: '', tag: '', cursors: [''], page: 0 };
  // Only the newest list request renders: an older one answering late
  // (a job's refresh racing a filter, a double click) must not replace it.
  let listSeq = 0;

  const lookupForm = h('form', { id: 'link-lookup', onsubmit: (e) => { e.preventDefault(); open(val('lookup-code'), lookupMsg); } },
    field('Code', h('input', { id: 'lookup-code', required: true, spellcheck: 'false', autocomplete: 'off' })),
    h('button', { type: 'submit', id: 'lookup-submit' }, 'Open'), lookupMsg);

  const createForm = h('form', { id: 'link-create', onsubmit: create },
    linkFields('create', null),
    h('button', { type: 'submit', id: 'create-submit' }, 'Create'), createMsg);

  // The filter form stays put; only the results under it are redrawn.
  const search = h('form', { id: 'links-search', onsubmit: (e) => {
    e.preventDefault();
    listState = { q: val('links-q'), tag: val('links-tag'), cursors: [''], page: 0 };
    loadList();
  } },
  field('Search (code, URL, title)', h('input', { id: 'links-q', spellcheck: 'false' })),
  field('Tag', h('input', { id: 'links-tag', spellcheck: 'false' })),
  h('button', { type: 'submit', id: 'links-filter' }, 'Filter'));
  const results = h('div', { id: 'links-results' });
  const list = h('section', { id: 'links-list', class: 'panel' }, h('h3', null, 'All links'), search, results);

  const top = topPanel((code) => open(code, lookupMsg));
  const io = ioPanel(() => { listState = { ...listState, cursors: [''], page: 0 }; loadList(); });

  root.append(
    h('h2', null, 'Links'),
    h('div', { class: 'cols' },
      h('section', { class: 'panel' }, h('h3', null, 'Open a link'), lookupForm),
      h('section', { class: 'panel' }, h('h3', null, 'Create a link'), createForm)),
    list,
    detail,
    h('div', { class: 'cols' }, top.el),
    io.el);
  loadList();
  top.load();

  async function create(e) {
    e.preventDefault();
    try {
      const { data, changeId } = await api('POST', '/v1/links', createBody('create'));
      status(createMsg, `Created ${data.code} (change ${changeId || '-'})`, true);
      createForm.reset();
      renderDetail(data);
      loadList();
    } catch (err) {
      status(createMsg, String(err));
    }
  }

  async function open(code, msgEl) {
    if (!code) return;
    try {
      const { data } = await api('GET', `/v1/links/${seg(code)}`);
      if (msgEl) msgEl.textContent = '';
      renderDetail(data);
    } catch (err) {
      if (msgEl) status(msgEl, String(err));
    }
  }

  async function loadList() {
    if (!alive) return;
    const seq = ++listSeq;
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (listState.q) q.set('q', listState.q);
    if (listState.tag) q.set('tag', listState.tag);
    const cursor = listState.cursors[listState.page];
    if (cursor) q.set('cursor', cursor);
    try {
      const { data } = await api('GET', `/v1/links?${q}`);
      if (alive && seq === listSeq) renderList(data);
    } catch (err) {
      if (alive && seq === listSeq) renderList({ links: [] }, String(err));
    }
  }

  function renderList(data, error) {
    const go = (page, cursor) => () => {
      if (cursor !== undefined) listState.cursors[page] = cursor;
      listState.page = page;
      loadList();
    };
    const pager = h('p', { class: 'pager' },
      listState.page > 0 ? h('button', { type: 'button', id: 'links-prev', onclick: go(listState.page - 1) }, 'Previous page') : null, ' ',
      h('span', { class: 'muted', id: 'links-page' }, `page ${listState.page + 1}`), ' ',
      data.next ? h('button', { type: 'button', id: 'links-next', onclick: go(listState.page + 1, data.next) }, 'Next page') : null);
    fill(results, error ? h('p', { class: 'error', id: 'links-error' }, error) : null,
      table('links-table', ['Code', 'Title', 'Target', 'Tags', 'Clicks', 'Expires'], (data.links || []).map(linkRow), 'no links'), pager);
  }

  function linkRow(l) {
    return h('tr', null,
      h('td', null, h('button', { type: 'button', class: 'linkish', onclick: () => open(l.code, lookupMsg) }, l.code)),
      h('td', null, l.title || ''),
      h('td', { class: 'url' }, l.url),
      h('td', null, (l.tags || []).map((t) => h('button', { type: 'button', class: 'tag', title: `list the links tagged ${t}`, onclick: () => {
        document.getElementById('links-q').value = '';
        document.getElementById('links-tag').value = t;
        listState = { q: '', tag: t, cursors: [''], page: 0 };
        loadList();
      } }, t))),
      h('td', { class: 'num' }, l.clicks ?? ''),
      h('td', null, fmtTime(l.expires_at)));
  }

  function stopPanels() { for (const s of stops) s(); stops = []; }

  function renderDetail(l) {
    stopPanels();
    const msg = h('p', { id: 'link-detail-msg', role: 'alert' });
    const stats = statsPanel(l.code, l.clicks);
    const qr = qrPanel(l.code);
    stops = [stats.stop, qr.stop];

    const editForm = h('form', { id: 'link-edit', onsubmit: async (e) => {
      e.preventDefault();
      const body = patchBody('edit', l);
      if (Object.keys(body).length === 0) { status(msg, 'Nothing changed.'); return; }
      try {
        const { data, changeId } = await api('PATCH', `/v1/links/${seg(l.code)}`, body);
        renderDetail(data);
        status(document.getElementById('link-detail-msg'), `Saved: version ${data.version} (change ${changeId || '-'})`, true);
        loadList();
      } catch (err) {
        status(msg, String(err));
      }
    } },
    linkFields('edit', l),
    h('button', { type: 'submit', id: 'edit-submit' }, 'Save'));

    const del = h('button', { type: 'button', id: 'link-delete', class: 'danger' }, 'Delete…');
    del.addEventListener('click', async () => {
      if (!del.dataset.armed) { // two clicks: no confirm() dialog to block on
        del.dataset.armed = '1';
        del.textContent = `Really delete ${l.code}?`;
        return;
      }
      try {
        await api('DELETE', `/v1/links/${seg(l.code)}`);
        stopPanels();
        fill(detail, h('p', { class: 'ok', id: 'link-deleted' }, `Deleted ${l.code}.`));
        loadList();
      } catch (err) {
        status(msg, String(err));
      }
    });

    const t = l.targets || {};
    const dd = (id, v, cls) => h('dd', { id, class: cls }, v);
    fill(detail,
      h('h3', null, 'Link ', h('code', { id: 'link-code' }, l.code), l.expired ? h('span', { class: 'badge bad' }, 'expired') : null),
      h('dl', { class: 'kv' },
        h('dt', null, 'Target'), dd('link-url', l.url, 'url'),
        h('dt', null, 'Title'), dd('link-title', l.title || ''),
        h('dt', null, 'Tags'), dd('link-tags', (l.tags || []).join(', ')),
        h('dt', null, 'Redirect'), dd('link-redirect', String(l.redirect)),
        h('dt', null, 'Created'), h('dd', null, fmtTime(l.created_at)),
        h('dt', null, 'Valid from'), dd('link-valid-since', l.valid_since ? fmtTime(l.valid_since) : 'always'),
        h('dt', null, 'Expires'), dd('link-expires', l.expires_at ? fmtTime(l.expires_at) : 'never'),
        h('dt', null, 'Max visits'), dd('link-max-visits', l.max_visits == null ? 'no limit' : String(l.max_visits)),
        h('dt', null, 'Query'), dd('link-forward-query', l.forward_query ? 'forwarded' : 'not forwarded'),
        (t.ios || t.android) ? [h('dt', null, 'Device targets'), dd('link-targets', [t.ios ? `iOS: ${t.ios}` : null, t.android ? `Android: ${t.android}` : null].filter(Boolean).join('  '), 'url')] : null,
        h('dt', null, 'Version'), dd('link-version', String(l.version)),
        (l.flags && l.flags.length) ? [h('dt', null, 'Flags'), h('dd', { class: 'warn' }, l.flags.join(', '))] : null),
      stats.el,
      qr.el,
      h('section', null, h('h4', null, 'Edit'), editForm),
      del, msg);
  }

  return () => { alive = false; stopPanels(); io.stop(); };
}
