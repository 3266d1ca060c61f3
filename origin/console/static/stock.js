// Stock: a SKU's warehouses, its reservations and its movement ledger;
// adjust or set stock with a reason.
//
// Reservations are read from the ledger: a hold movement's ref is the
// reservation id, and a later commit, release or expire with the same ref
// ends it. Held ones are fetched (GET /v1/reservations/{id}) for their
// expiry and can be committed or released from here.

import { api, seg } from './api.js';
import { h, fill, table, fmtTime, status, field, val } from './dom.js';

const REASONS = ['received', 'sold', 'returned', 'damaged', 'lost', 'cycle_count', 'correction', 'transfer'];
const PAGE = 100;
const MAX_HELD_FETCH = 20;

export function mount(root) {
  let sku = '';
  let movements = [];
  let next = null;
  const msg = h('p', { id: 'stock-msg', role: 'alert' });
  const view = h('div', { id: 'stock-view', class: 'panel' }, h('p', { class: 'muted' }, 'Open a SKU to see its stock.'));
  const holds = h('div', { id: 'stock-reservations', class: 'panel' });
  const ledger = h('div', { id: 'stock-movements', class: 'panel' });
  holds.hidden = true;
  ledger.hidden = true;

  const lookup = h('form', { id: 'stock-lookup', onsubmit: (e) => { e.preventDefault(); openSKU(val('stock-sku')); } },
    field('SKU', h('input', { id: 'stock-sku', required: true, spellcheck: 'false', autocomplete: 'off' })),
    h('button', { type: 'submit', id: 'stock-open' }, 'Open'));

  const adjust = h('form', { id: 'stock-adjust', onsubmit: doAdjust },
    field('Warehouse', h('input', { id: 'adjust-wh', required: true, spellcheck: 'false', list: 'stock-whs' })),
    field('Delta', h('input', { id: 'adjust-delta', type: 'number', step: '1', required: true })),
    field('Reason', h('select', { id: 'adjust-reason' }, h('option', { value: '' }, '(none)'), REASONS.map((r) => h('option', { value: r }, r)))),
    field('Ref', h('input', { id: 'adjust-ref', spellcheck: 'false' })),
    h('button', { type: 'submit', id: 'adjust-submit' }, 'Adjust'));

  const set = h('form', { id: 'stock-set', onsubmit: doSet },
    field('Warehouse', h('input', { id: 'set-wh', required: true, spellcheck: 'false', list: 'stock-whs' })),
    field('On hand', h('input', { id: 'set-onhand', type: 'number', min: '0', step: '1', required: true })),
    field('Reason', h('select', { id: 'set-reason' }, h('option', { value: '' }, '(none)'), REASONS.map((r) => h('option', { value: r }, r)))),
    h('button', { type: 'submit', id: 'set-submit' }, 'Set'));

  root.append(
    h('h2', null, 'Stock'),
    h('section', { class: 'panel' }, lookup),
    h('datalist', { id: 'stock-whs' }),
    view,
    h('div', { class: 'cols' },
      h('section', { class: 'panel' }, h('h3', null, 'Adjust (a delta, with a reason)'), adjust),
      h('section', { class: 'panel' }, h('h3', null, 'Set on hand (a count)'), set)),
    msg, holds, ledger);

  async function openSKU(s) {
    if (!s) return;
    sku = s;
    msg.textContent = '';
    await Promise.all([loadView(), loadMovements(true)]);
  }

  async function loadView() {
    try {
      const { data } = await api('GET', `/v1/stock/${seg(sku)}`);
      renderView(data);
    } catch (err) {
      if (err.status === 404) fill(view, h('p', { class: 'muted', id: 'stock-none' }, `No stock recorded for ${sku}: adjust or set to create it.`));
      else fill(view, h('p', { class: 'error' }, String(err)));
    }
  }

  function renderView(v) {
    const whs = Object.keys(v.warehouses || {}).sort();
    fill(document.getElementById('stock-whs'), whs.map((w) => h('option', { value: w })));
    fill(view,
      h('h3', null, 'SKU ', h('code', { id: 'stock-title' }, v.sku), ' ',
        h('span', { class: 'badge' }, `available ${v.available}`), ' ',
        h('span', { class: 'muted' }, `version ${v.version}`)),
      table('stock-warehouses', ['Warehouse', 'On hand', 'Reserved', 'Available'], whs.map((w) => {
        const x = v.warehouses[w];
        return h('tr', null, h('td', null, w), h('td', { class: 'num' }, x.on_hand), h('td', { class: 'num' }, x.reserved), h('td', { class: 'num' }, x.available));
      }), 'no warehouses'));
  }

  async function loadMovements(reset) {
    if (reset) { movements = []; next = null; }
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (next) q.set('after', next);
    try {
      const { data } = await api('GET', `/v1/stock/${seg(sku)}/movements?${q}`);
      movements = movements.concat(data.movements || []);
      next = data.next;
      renderMovements();
      renderReservations();
    } catch (err) {
      ledger.hidden = false;
      fill(ledger, h('p', { class: 'error' }, String(err)));
    }
  }

  function renderMovements() {
    ledger.hidden = false;
    // Newest first: what changed last is what people look for.
    const rows = movements.slice().reverse().map((m) => h('tr', { class: `kind-${m.kind}` },
      h('td', null, fmtTime(m.at)), h('td', null, m.warehouse), h('td', null, m.kind),
      h('td', { class: 'num' }, signed(m.delta_on_hand)), h('td', { class: 'num' }, signed(m.delta_reserved)),
      h('td', { class: 'num' }, m.on_hand), h('td', { class: 'num' }, m.reserved),
      h('td', { class: 'reason' }, m.reason), h('td', null, m.ref), h('td', null, m.actor), h('td', { class: 'num' }, m.version)));
    fill(ledger, h('h3', null, 'Movements'),
      table('movements-table', ['At', 'Warehouse', 'Kind', 'Δ on hand', 'Δ reserved', 'On hand', 'Reserved', 'Reason', 'Ref', 'Actor', 'Version'], rows, 'no movements'),
      next ? h('button', { type: 'button', id: 'movements-more', onclick: () => loadMovements(false) }, 'Load more') : null);
  }

  async function renderReservations() {
    const byID = new Map();
    for (const m of movements) {
      if (!m.ref) continue;
      if (m.kind === 'hold') byID.set(m.ref, { id: m.ref, warehouse: m.warehouse, qty: m.delta_reserved, state: 'held', at: m.at });
      else if (['commit', 'release', 'expire'].includes(m.kind) && byID.has(m.ref)) {
        byID.get(m.ref).state = { commit: 'committed', release: 'released', expire: 'expired' }[m.kind];
      }
    }
    const list = [...byID.values()].reverse();
    holds.hidden = false;
    const rows = list.map((r) => {
      const exp = h('td', null, '');
      const actions = h('td', null);
      if (r.state === 'held') {
        actions.append(
          h('button', { type: 'button', onclick: () => act(r.id, 'commit') }, 'Commit'), ' ',
          h('button', { type: 'button', onclick: () => act(r.id, 'release') }, 'Release'));
      }
      r.expCell = exp;
      return h('tr', null, h('td', null, h('code', null, r.id)), h('td', null, r.warehouse), h('td', { class: 'num' }, r.qty),
        h('td', null, r.state), exp, actions);
    });
    fill(holds, h('h3', null, 'Reservations (from the ledger)'),
      table('reservations-table', ['Reservation', 'Warehouse', 'Qty', 'State', 'Expires', ''], rows, 'no reservations in the movements loaded'));
    for (const r of list.filter((x) => x.state === 'held').slice(0, MAX_HELD_FETCH)) {
      api('GET', `/v1/reservations/${seg(r.id)}`).then(({ data }) => {
        r.expCell.textContent = fmtTime(data.expires_at);
      }).catch(() => {});
    }
  }

  async function act(id, what) {
    try {
      await api('POST', `/v1/reservations/${seg(id)}/${what}`);
      status(msg, `Reservation ${id}: ${what} done.`, true);
      await openSKU(sku);
    } catch (err) {
      status(msg, String(err));
    }
  }

  async function doAdjust(e) {
    e.preventDefault();
    const s = sku || val('stock-sku');
    if (!s) { status(msg, 'Open a SKU first.'); return; }
    sku = s;
    const body = { delta: Number(val('adjust-delta')) };
    if (val('adjust-reason')) body.reason = val('adjust-reason');
    if (val('adjust-ref')) body.ref = val('adjust-ref');
    try {
      const { data, changeId } = await api('POST', `/v1/stock/${seg(sku)}/${seg(val('adjust-wh'))}/adjust`, body);
      status(msg, `Adjusted: ${data.sku} available ${data.available} (change ${changeId || '-'})`, true);
      renderView(data);
      await loadMovements(true);
    } catch (err) {
      status(msg, String(err));
    }
  }

  async function doSet(e) {
    e.preventDefault();
    const s = sku || val('stock-sku');
    if (!s) { status(msg, 'Open a SKU first.'); return; }
    sku = s;
    const body = { on_hand: Number(val('set-onhand')) };
    if (val('set-reason')) body.reason = val('set-reason');
    try {
      const { data, changeId } = await api('PUT', `/v1/stock/${seg(sku)}/${seg(val('set-wh'))}`, body);
      status(msg, `Set: ${data.sku} available ${data.available} (change ${changeId || '-'})`, true);
      renderView(data);
      await loadMovements(true);
    } catch (err) {
      status(msg, String(err));
    }
  }

  return () => {};
}

function signed(n) {
  if (!n) return '0';
  return n > 0 ? `+${n}` : String(n);
}
