// Stock tools that are not about one open SKU: a reservation (or cart) by
// its id, committed, released or extended by any number of seconds, as
// README's curl examples do; and every SKU's movement feed
// (GET /v1/stock/movements), read from the start page by page and
// followed by polling from its cursor.

import { api, seg } from './api.js';
import { h, fill, table, fmtTime, status, field, val } from './dom.js';

const FEED_PAGE = 100;
const FEED_EVERY_MS = 2000;
const FEED_KEEP = 500; // rows kept on screen: the oldest fall off

// reservationPanel looks a reservation up by id and acts on it; onChange
// runs after a commit, release or extend (the open SKU reloads).
export function reservationPanel(onChange) {
  const out = h('div', { id: 'resv-out' });
  const msg = h('p', { id: 'resv-msg', role: 'alert' });
  const id = () => val('resv-id');
  const form = h('form', { id: 'resv-form', onsubmit: (e) => { e.preventDefault(); show(); } },
    field('Reservation id', h('input', { id: 'resv-id', required: true, spellcheck: 'false', size: 30 })),
    h('button', { type: 'submit', id: 'resv-open' }, 'Open'),
    h('button', { type: 'button', id: 'resv-commit', onclick: () => act('commit') }, 'Commit'),
    h('button', { type: 'button', id: 'resv-release', onclick: () => act('release') }, 'Release'),
    field('Extend to (s from now; never shortens)', h('input', { id: 'resv-ttl', type: 'number', min: '1', max: '86400', step: '1', value: '300', size: 6 })),
    h('button', { type: 'button', id: 'resv-extend', onclick: () => act('extend') }, 'Extend'),
    msg);

  async function show() {
    if (!id()) return;
    try {
      const { data } = await api('GET', `/v1/reservations/${seg(id())}`);
      render(data);
      msg.textContent = '';
    } catch (err) {
      fill(out);
      status(msg, String(err));
    }
  }

  async function act(what) {
    if (!id()) { status(msg, 'Give a reservation id.'); return; }
    try {
      const body = what === 'extend' ? { ttl_seconds: Number(val('resv-ttl')) } : undefined;
      const { data, changeId } = await api('POST', `/v1/reservations/${seg(id())}/${what}`, body);
      render(data);
      status(msg, `${what} done (change ${changeId || '-'})`, true);
      onChange();
    } catch (err) {
      status(msg, String(err));
    }
  }

  function render(r) {
    const lines = Array.isArray(r.lines) && r.lines.length ? r.lines : [r];
    fill(out,
      h('p', null, h('code', null, r.id), ' ', h('span', { id: 'resv-status', class: r.status === 'held' ? 'badge' : 'badge good' }, r.status),
        r.expires_at ? ` expires ${fmtTime(r.expires_at)}` : null),
      table('resv-lines', ['SKU', 'Warehouse', 'Qty'], lines.map((l) => h('tr', null,
        h('td', null, l.sku), h('td', null, l.warehouse), h('td', { class: 'num' }, l.qty)))));
  }

  return h('section', { class: 'panel' }, h('h3', null, 'A reservation by id'), form, out);
}

// feedPanel is every SKU's movements in ledger order. stop() ends the
// following.
export function feedPanel() {
  let cursor = '';
  let timer = null;
  let busy = false;
  let rows = [];
  let dead = false; // the page was left: a tick in flight sets no new timer
  const msg = h('p', { id: 'feed-msg', role: 'alert' });
  const out = h('div', { id: 'feed-out' });
  const follow = h('input', { id: 'feed-follow', type: 'checkbox', onchange: () => { if (follow.checked) tick(); else stop(); } });
  const form = h('form', { id: 'feed-form', onsubmit: (e) => { e.preventDefault(); cursor = val('feed-after'); rows = []; more(); } },
    field('From cursor (empty: the start)', h('input', { id: 'feed-after', spellcheck: 'false', size: 24 })),
    h('button', { type: 'submit', id: 'feed-load' }, 'Read'),
    h('button', { type: 'button', id: 'feed-more', onclick: () => more() }, 'Next page'),
    h('label', null, follow, ' follow (new movements every 2 s)'),
    msg);

  // more reads one page after the cursor; true when it was full.
  async function more() {
    if (busy) return false;
    busy = true;
    try {
      const q = new URLSearchParams({ limit: String(FEED_PAGE) });
      if (cursor) q.set('after', cursor);
      const { data } = await api('GET', `/v1/stock/movements?${q}`);
      cursor = data.next || cursor;
      rows = [...rows, ...data.movements].slice(-FEED_KEEP);
      render();
      msg.textContent = '';
      return data.movements.length === FEED_PAGE;
    } catch (err) {
      status(msg, String(err));
      stop();
      return false;
    } finally {
      busy = false;
    }
  }

  async function tick() {
    timer = null;
    while (await more()) { /* catch up page by page */ }
    if (follow.checked && !dead) timer = setTimeout(tick, FEED_EVERY_MS);
  }

  function stop() { if (timer) clearTimeout(timer); timer = null; follow.checked = false; }

  function render() {
    fill(out,
      h('p', { class: 'muted' }, 'Cursor after the last row: ', h('code', { id: 'feed-cursor' }, cursor || '(start)')),
      table('feed-table', ['At', 'SKU', 'Warehouse', 'Kind', 'Δ on hand', 'Δ reserved', 'Reason', 'Ref', 'Actor'],
        [...rows].reverse().map((m) => h('tr', null,
          h('td', null, fmtTime(m.at)), h('td', null, m.sku), h('td', null, m.warehouse), h('td', null, m.kind),
          h('td', { class: 'num' }, m.delta_on_hand), h('td', { class: 'num' }, m.delta_reserved),
          h('td', null, m.reason), h('td', null, m.ref), h('td', null, m.actor))), 'no movements'));
  }

  return {
    el: h('section', { class: 'panel' }, h('h3', null, 'Every SKU\u2019s movements (the feed)'), form, out),
    stop: () => { dead = true; if (timer) clearTimeout(timer); timer = null; },
  };
}
