// Links: look up, create, edit and delete links, and watch their clicks.
//
// The list at the top uses GET /v1/links (search, tag filter, cursor
// pagination) when the origin has it; an origin without it answers 404 or
// 405 and the list falls back to the links opened in this tab. The detail
// panel has room for more per-link tools (QR, analytics charts): add them
// as sections of renderDetail.

import { api, seg } from './api.js';
import { h, fill, table, fmtTime, status, field, val, localToISO, isoToLocal } from './dom.js';

const RECENT = 'shortstock.recent-links';
const STATS_EVERY_MS = 2000;
// Stats fields the link panel shows already; any other scalar the stats
// endpoint answers is listed under the click count.
const SHOWN = new Set(['code', 'clicks', 'version', 'created_at', 'expires_at', 'expired']);

function recent() {
  try { return JSON.parse(sessionStorage.getItem(RECENT) || '[]'); } catch { return []; }
}
function remember(code) {
  const list = [code, ...recent().filter((c) => c !== code)].slice(0, 50);
  sessionStorage.setItem(RECENT, JSON.stringify(list));
}
function forget(code) {
  sessionStorage.setItem(RECENT, JSON.stringify(recent().filter((c) => c !== code)));
}

export function mount(root) {
  let statsTimer = null;
  let alive = true;
  const list = h('div', { id: 'links-list' });
  const detail = h('div', { id: 'link-detail', class: 'panel' }, h('p', { class: 'muted' }, 'Open or create a link to see it here.'));
  const lookupMsg = h('p', { id: 'link-lookup-msg', role: 'alert' });
  const createMsg = h('p', { id: 'link-create-msg', role: 'alert' });
  let listState = { q: '', tag: '', cursor: '', supported: null };

  const lookupForm = h('form', { id: 'link-lookup', onsubmit: (e) => { e.preventDefault(); open(val('lookup-code'), lookupMsg); } },
    field('Code', h('input', { id: 'lookup-code', required: true, spellcheck: 'false', autocomplete: 'off' })),
    h('button', { type: 'submit', id: 'lookup-submit' }, 'Open'), lookupMsg);

  const createForm = h('form', { id: 'link-create', onsubmit: create },
    field('Target URL', h('input', { id: 'create-url', type: 'url', required: true, size: 50, spellcheck: 'false' })),
    field('Code (optional)', h('input', { id: 'create-code', spellcheck: 'false', autocomplete: 'off' })),
    field('Redirect', redirectSelect('create-redirect', 302)),
    field('Expires (optional)', h('input', { id: 'create-expires', type: 'datetime-local' })),
    h('button', { type: 'submit', id: 'create-submit' }, 'Create'), createMsg);

  root.append(
    h('h2', null, 'Links'),
    h('div', { class: 'cols' },
      h('section', { class: 'panel' }, h('h3', null, 'Open a link'), lookupForm),
      h('section', { class: 'panel' }, h('h3', null, 'Create a link'), createForm)),
    list,
    detail);
  loadList();

  async function create(e) {
    e.preventDefault();
    const body = { url: val('create-url') };
    const code = val('create-code');
    if (code) body.code = code;
    body.redirect = Number(val('create-redirect'));
    const exp = localToISO(val('create-expires'));
    if (exp) body.expires_at = exp;
    try {
      const { data, changeId } = await api('POST', '/v1/links', body);
      status(createMsg, `Created ${data.code} (change ${changeId || '-'})`, true);
      createForm.reset();
      remember(data.code);
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
      remember(data.code);
      renderDetail(data);
      loadList();
    } catch (err) {
      if (msgEl) status(msgEl, String(err));
    }
  }

  async function loadList() {
    if (!alive) return;
    if (listState.supported !== false) {
      const q = new URLSearchParams({ limit: '20' });
      if (listState.q) q.set('q', listState.q);
      if (listState.tag) q.set('tag', listState.tag);
      if (listState.cursor) q.set('cursor', listState.cursor);
      try {
        const { data } = await api('GET', `/v1/links?${q}`);
        listState.supported = true;
        renderServerList(data);
        return;
      } catch (err) {
        if (err.status !== 404 && err.status !== 405) {
          fill(list, h('p', { class: 'error' }, String(err)));
          return;
        }
        listState.supported = false; // this origin has no list endpoint yet
      }
    }
    renderRecent();
  }

  function renderServerList(data) {
    const rows = (data.links || []).map(linkRow);
    const search = h('form', { id: 'links-search', onsubmit: (e) => {
      e.preventDefault();
      listState = { ...listState, q: val('links-q'), tag: val('links-tag'), cursor: '' };
      loadList();
    } },
    field('Search', h('input', { id: 'links-q', value: listState.q })),
    field('Tag', h('input', { id: 'links-tag', value: listState.tag })),
    h('button', { type: 'submit' }, 'Filter'));
    const more = data.next
      ? h('button', { type: 'button', id: 'links-next', onclick: () => { listState.cursor = data.next; loadList(); } }, 'Next page')
      : null;
    fill(list, h('section', { class: 'panel' }, h('h3', null, 'All links'), search,
      table('links-table', ['Code', 'Target', 'Clicks', 'Expires'], rows, 'no links'), more));
  }

  function renderRecent() {
    const codes = recent();
    const rows = codes.map((c) => h('tr', null,
      h('td', null, h('button', { type: 'button', class: 'linkish', onclick: () => open(c, lookupMsg) }, c))));
    fill(list, h('section', { class: 'panel' }, h('h3', null, 'Links opened in this tab'),
      h('p', { class: 'muted' }, 'This origin has no link listing (GET /v1/links); open a link by its code.'),
      table('links-table', ['Code'], rows, 'none yet')));
  }

  function linkRow(l) {
    return h('tr', null,
      h('td', null, h('button', { type: 'button', class: 'linkish', onclick: () => open(l.code, lookupMsg) }, l.code)),
      h('td', { class: 'url' }, l.url),
      h('td', { class: 'num' }, l.clicks ?? ''),
      h('td', null, fmtTime(l.expires_at)));
  }

  function renderDetail(l) {
    if (statsTimer) clearInterval(statsTimer);
    const clicks = h('span', { id: 'link-clicks', class: 'big' }, String(l.clicks ?? 0));
    const statsBox = h('dl', { id: 'link-stats' });
    const extras = h('div', { id: 'link-analytics' });
    const msg = h('p', { id: 'link-detail-msg', role: 'alert' });
    const refreshStats = async () => {
      try {
        const { data } = await api('GET', `/v1/links/${seg(l.code)}/stats`);
        clicks.textContent = String(data.clicks ?? 0);
        fill(statsBox, Object.entries(data)
          .filter(([k, v]) => !SHOWN.has(k) && (v === null || typeof v !== 'object'))
          .map(([k, v]) => [h('dt', null, k), h('dd', null, v === null ? '—' : String(v))]));
        fill(extras, statsExtras(data));
      } catch (err) {
        if (err.status === 404) { clearInterval(statsTimer); statsTimer = null; }
        status(msg, String(err));
      }
    };
    statsTimer = setInterval(refreshStats, STATS_EVERY_MS);
    refreshStats();

    const editForm = h('form', { id: 'link-edit', onsubmit: async (e) => {
      e.preventDefault();
      const body = {};
      const url = val('edit-url');
      if (url !== l.url) body.url = url;
      const red = Number(val('edit-redirect'));
      if (red !== l.redirect) body.redirect = red;
      if (document.getElementById('edit-clear-expiry').checked) body.expires_at = null;
      else {
        const local = val('edit-expires');
        if (local && local !== isoToLocal(l.expires_at)) body.expires_at = localToISO(local);
      }
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
    field('Target URL', h('input', { id: 'edit-url', type: 'url', size: 50, value: l.url, required: true })),
    field('Redirect', redirectSelect('edit-redirect', l.redirect)),
    field('Expires', h('input', { id: 'edit-expires', type: 'datetime-local', value: isoToLocal(l.expires_at) })),
    h('label', null, h('input', { id: 'edit-clear-expiry', type: 'checkbox' }), ' no expiry'),
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
        if (statsTimer) clearInterval(statsTimer);
        statsTimer = null;
        forget(l.code);
        fill(detail, h('p', { class: 'ok', id: 'link-deleted' }, `Deleted ${l.code}.`));
        loadList();
      } catch (err) {
        status(msg, String(err));
      }
    });

    fill(detail,
      h('h3', null, 'Link ', h('code', { id: 'link-code' }, l.code), l.expired ? h('span', { class: 'badge bad' }, 'expired') : null),
      h('dl', { class: 'kv' },
        h('dt', null, 'Target'), h('dd', { id: 'link-url', class: 'url' }, l.url),
        h('dt', null, 'Redirect'), h('dd', null, String(l.redirect)),
        h('dt', null, 'Created'), h('dd', null, fmtTime(l.created_at)),
        h('dt', null, 'Expires'), h('dd', null, l.expires_at ? fmtTime(l.expires_at) : 'never'),
        h('dt', null, 'Version'), h('dd', { id: 'link-version' }, String(l.version)),
        (l.flags && l.flags.length) ? [h('dt', null, 'Flags'), h('dd', { class: 'warn' }, l.flags.join(', '))] : null),
      h('section', { class: 'stats' }, h('h4', null, 'Clicks (counted at the edges, every region)'), clicks, statsBox, extras),
      h('section', null, h('h4', null, 'Edit'), editForm),
      del, msg);
  }

  return () => { alive = false; if (statsTimer) clearInterval(statsTimer); };
}

// statsExtras renders what a stats answer has beyond counts: a "series"
// of {t, clicks} as a bar chart, and every map of name -> count
// (referrers, devices, browsers, countries, ...) as a top-10 table. An
// origin without analytics answers none of them, and nothing is drawn.
export function statsExtras(data) {
  const out = [];
  if (Array.isArray(data.series) && data.series.length > 0) {
    out.push(h('h4', null, 'Clicks over time'), seriesChart(data.series));
  }
  const maps = Object.entries(data).filter(([, v]) => v && typeof v === 'object' && !Array.isArray(v));
  if (maps.length > 0) {
    out.push(h('div', { class: 'breakdowns' }, maps.map(([name, m]) => {
      const rows = Object.entries(m).filter(([, n]) => typeof n === 'number')
        .sort((a, b) => b[1] - a[1]).slice(0, 10)
        .map(([k, n]) => h('tr', null, h('td', null, k), h('td', { class: 'num' }, n)));
      return h('div', null, table(`stats-${name}`, [name, 'clicks'], rows, 'none'));
    })));
  }
  return out;
}

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// seriesChart draws one bar per point, scaled to the largest; each bar's
// tooltip (an SVG <title>, text) says when and how many.
function seriesChart(series) {
  const W = 640, H = 120, pad = 2;
  const most = Math.max(1, ...series.map((p) => Number(p.clicks) || 0));
  const w = W / series.length;
  const bars = series.map((p, i) => {
    const n = Number(p.clicks) || 0;
    const bh = Math.round((n / most) * (H - 14));
    return svg('rect', { x: (i * w + pad / 2).toFixed(1), y: H - bh, width: Math.max(1, w - pad).toFixed(1), height: bh, class: 'bar' },
      svg('title', null, `${fmtTime(p.t)}: ${n}`));
  });
  return svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `clicks over time, most ${most}` },
    svg('text', { x: 4, y: 11, class: 'axis' }, `max ${most}`), ...bars);
}

function redirectSelect(id, current) {
  return h('select', { id }, [301, 302, 307, 308].map((c) => h('option', { value: String(c), selected: c === current }, String(c))));
}
