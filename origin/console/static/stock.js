// Stock: a SKU's warehouses, its reservations and its movement ledger
// (followed while open); adjust or set stock with a reason, transfer, hold,
// time-travel, verify and rebuild; bulk uploads with job progress; a
// reservation by id and every SKU's feed (stockops.js).
//
// Reservations are read from the ledger: a hold movement's ref is the
// reservation id, and a later commit, release or expire with the same ref
// ends it. Held ones are fetched (GET /v1/reservations/{id}) for their
// expiry and can be committed or released from here.

import { api, seg } from './api.js';
import { h, fill, table, fmtTime, status, field, val, localToISO } from './dom.js';
import { reservationPanel, feedPanel } from './stockops.js';

const REASONS = ['received', 'sold', 'returned', 'damaged', 'lost', 'cycle_count', 'correction', 'transfer'];
const PAGE = 100;
const MAX_HELD_FETCH = 20;
// FOLLOW_MS: how often the open SKU's ledger is asked for movements after
// the last one shown (holds made elsewhere, expiries, other consoles).
const FOLLOW_MS = 3000;
const JOB_POLL_MS = 500;

export function mount(root) {
  let sku = '';
  let movements = [];
  let next = null;
  let following = false;
  let gen = 0; // bumped when the list is reloaded: a follow in flight is dropped
  const followTimer = setInterval(follow, FOLLOW_MS);
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
    ...guards('adjust'),
    h('button', { type: 'submit', id: 'adjust-submit' }, 'Adjust'));

  const set = h('form', { id: 'stock-set', onsubmit: doSet },
    field('Warehouse', h('input', { id: 'set-wh', required: true, spellcheck: 'false', list: 'stock-whs' })),
    field('On hand', h('input', { id: 'set-onhand', type: 'number', min: '0', step: '1', required: true })),
    field('Reason', h('select', { id: 'set-reason' }, h('option', { value: '' }, '(none)'), REASONS.map((r) => h('option', { value: r }, r)))),
    ...guards('set'),
    h('button', { type: 'submit', id: 'set-submit' }, 'Set'));

  const transfer = h('form', { id: 'stock-transfer', onsubmit: doTransfer },
    field('From', h('input', { id: 'transfer-from', required: true, spellcheck: 'false', list: 'stock-whs' })),
    field('To', h('input', { id: 'transfer-to', required: true, spellcheck: 'false', list: 'stock-whs' })),
    field('Qty', h('input', { id: 'transfer-qty', type: 'number', min: '1', step: '1', required: true })),
    field('Ref', h('input', { id: 'transfer-ref', spellcheck: 'false' })),
    h('button', { type: 'submit', id: 'transfer-submit' }, 'Transfer'));

  const reserve = h('form', { id: 'stock-reserve', onsubmit: doReserve },
    field('Qty', h('input', { id: 'reserve-qty', type: 'number', min: '1', step: '1' })),
    field('Warehouse (optional)', h('input', { id: 'reserve-wh', spellcheck: 'false', list: 'stock-whs' })),
    field('Hold for (s, default 600)', h('input', { id: 'reserve-ttl', type: 'number', min: '1', max: '86400', step: '1' })),
    field('Idempotency-Key (optional)', h('input', { id: 'reserve-ik', spellcheck: 'false' })),
    field('Or a cart, all lines or none: SKU QTY [WAREHOUSE] a line', h('textarea', { id: 'reserve-lines', rows: '2', cols: '30', spellcheck: 'false' })),
    h('button', { type: 'submit', id: 'reserve-submit' }, 'Hold'));

  const tools = h('form', { id: 'stock-tools', onsubmit: (e) => { e.preventDefault(); asOf(); } },
    field('View as of', h('input', { id: 'stock-at', type: 'datetime-local', step: '1' })),
    h('button', { type: 'submit', id: 'stock-at-submit' }, 'Show'),
    h('button', { type: 'button', id: 'stock-verify', onclick: verify }, 'Verify ledger'),
    h('button', { type: 'button', id: 'stock-verify-all', onclick: verifyAll }, 'Verify every SKU'),
    h('button', { type: 'button', id: 'stock-rebuild', class: 'danger', onclick: rebuild }, 'Rebuild view'));

  const bulkMsg = h('p', { id: 'bulk-msg', role: 'alert' });
  const bulkJob = h('div', { id: 'bulk-job' });
  let jobTimer = null;
  const bulk = h('form', { id: 'stock-bulk', onsubmit: doBulk },
    field('NDJSON: one {"op":"set|adjust|transfer","sku":..,"warehouse":..,...} a line', h('textarea', { id: 'bulk-lines', rows: '4', cols: '70', spellcheck: 'false' })),
    field('or a file', h('input', { id: 'bulk-file', type: 'file', accept: '.ndjson,.jsonl,.json,.txt' })),
    h('button', { type: 'submit', id: 'bulk-submit' }, 'Upload'), bulkMsg);
  // A job started elsewhere (curl, another console) is watched by its id.
  const jobLookup = h('form', { id: 'job-lookup', onsubmit: (e) => { e.preventDefault(); if (val('job-id')) watchJob(val('job-id')); } },
    field('Or watch a job by id', h('input', { id: 'job-id', spellcheck: 'false', size: 30 })),
    h('button', { type: 'submit', id: 'job-submit' }, 'Watch'));
  const feed = feedPanel();

  root.append(
    h('h2', null, 'Stock'),
    h('section', { class: 'panel' }, lookup),
    h('datalist', { id: 'stock-whs' }),
    view,
    msg,
    h('div', { class: 'cols' },
      h('section', { class: 'panel' }, h('h3', null, 'Adjust (a delta, with a reason)'), adjust),
      h('section', { class: 'panel' }, h('h3', null, 'Set on hand (a count)'), set)),
    h('div', { class: 'cols' },
      h('section', { class: 'panel' }, h('h3', null, 'Transfer between warehouses'), transfer),
      h('section', { class: 'panel' }, h('h3', null, 'Hold (reserve)'), reserve)),
    h('section', { class: 'panel' }, h('h3', null, 'Ledger'), tools),
    h('section', { class: 'panel' }, h('h3', null, 'Bulk upload (any SKUs; queued, applied in the background)'), bulk, jobLookup, bulkJob),
    holds, ledger,
    reservationPanel(() => { if (sku) reload(); }),
    feed.el);

  async function openSKU(s) {
    if (!s) return;
    sku = s;
    msg.textContent = '';
    await reload();
  }

  // reload reads the open SKU's view and ledger again (after a write; the
  // write's message stays).
  async function reload() {
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

  function renderView(v, at) {
    const whs = Object.keys(v.warehouses || {}).sort();
    if (!at) fill(document.getElementById('stock-whs'), whs.map((w) => h('option', { value: w })));
    fill(view,
      h('h3', null, 'SKU ', h('code', { id: 'stock-title' }, v.sku), ' ',
        h('span', { class: 'badge' }, `available ${v.available}`), ' ',
        h('span', { class: 'muted' }, `version ${v.version}`),
        at ? h('span', { class: 'badge bad', id: 'stock-as-of' }, `as of ${fmtTime(at)}, replayed from the ledger`) : null),
      table('stock-warehouses', ['Warehouse', 'On hand', 'Reserved', 'Available'], whs.map((w) => {
        const x = v.warehouses[w];
        return h('tr', null, h('td', null, w), h('td', { class: 'num' }, x.on_hand), h('td', { class: 'num' }, x.reserved), h('td', { class: 'num' }, x.available));
      }), 'no warehouses'));
  }

  async function loadMovements(reset) {
    if (reset) { movements = []; next = null; gen++; }
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

  // follow appends movements newer than the last one shown, once every
  // page has been loaded, and refreshes the view when there are any.
  async function follow() {
    if (!sku || next || following) return;
    following = true;
    const shown = gen;
    try {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (movements.length > 0) q.set('after', movements[movements.length - 1].cursor);
      const { data } = await api('GET', `/v1/stock/${seg(sku)}/movements?${q}`);
      if (shown !== gen || !(data.movements || []).length) return;
      movements = movements.concat(data.movements);
      next = data.next;
      renderMovements();
      renderReservations();
      await loadView();
    } catch {
      // the next tick tries again; errors show on user actions
    } finally {
      following = false;
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
          h('button', { type: 'button', onclick: () => act(r.id, 'release') }, 'Release'), ' ',
          h('button', { type: 'button', onclick: () => act(r.id, 'extend') }, 'Extend 10 min'));
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
      await api('POST', `/v1/reservations/${seg(id)}/${what}`, what === 'extend' ? { ttl_seconds: 600 } : undefined);
      status(msg, `Reservation ${id}: ${what} done.`, true);
      await reload();
    } catch (err) {
      status(msg, String(err));
    }
  }

  async function doAdjust(e) {
    e.preventDefault();
    if (!current()) return;
    const body = { delta: Number(val('adjust-delta')) };
    if (val('adjust-reason')) body.reason = val('adjust-reason');
    if (val('adjust-ref')) body.ref = val('adjust-ref');
    try {
      const { data, changeId, replayed } = await api('POST', `/v1/stock/${seg(sku)}/${seg(val('adjust-wh'))}/adjust`, body, { headers: guardHeaders('adjust') });
      status(msg, `Adjusted: ${data.sku} available ${data.available} (change ${changeId || '-'})${replayed ? ' (replayed: this Idempotency-Key was used before)' : ''}`, true);
      renderView(data);
      await loadMovements(true);
    } catch (err) {
      status(msg, String(err));
    }
  }

  async function doSet(e) {
    e.preventDefault();
    if (!current()) return;
    const body = { on_hand: Number(val('set-onhand')) };
    if (val('set-reason')) body.reason = val('set-reason');
    try {
      const { data, changeId, replayed } = await api('PUT', `/v1/stock/${seg(sku)}/${seg(val('set-wh'))}`, body, { headers: guardHeaders('set') });
      status(msg, `Set: ${data.sku} available ${data.available} (change ${changeId || '-'})${replayed ? ' (replayed: this Idempotency-Key was used before)' : ''}`, true);
      renderView(data);
      await loadMovements(true);
    } catch (err) {
      status(msg, String(err));
    }
  }

  // current returns the SKU to act on: the open one, else the one typed.
  function current() {
    sku = sku || val('stock-sku');
    if (!sku) status(msg, 'Open a SKU first.');
    return sku;
  }

  async function doTransfer(e) {
    e.preventDefault();
    if (!current()) return;
    const body = { from: val('transfer-from'), to: val('transfer-to'), qty: Number(val('transfer-qty')) };
    if (val('transfer-ref')) body.ref = val('transfer-ref');
    try {
      const { data, changeId } = await api('POST', `/v1/stock/${seg(sku)}/transfers`, body);
      status(msg, `Transferred ${body.qty} from ${body.from} to ${body.to} (change ${changeId || '-'})`, true);
      renderView(data);
      await loadMovements(true);
    } catch (err) {
      status(msg, String(err));
    }
  }

  async function doReserve(e) {
    e.preventDefault();
    if (!current()) return;
    const cart = val('reserve-lines').split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[0]);
    const body = cart.length > 0
      ? { lines: cart.map(([s, q, w]) => (w ? { sku: s, qty: Number(q), warehouse: w } : { sku: s, qty: Number(q) })) }
      : { sku, qty: Number(val('reserve-qty')) };
    if (!cart.length && val('reserve-wh')) body.warehouse = val('reserve-wh');
    if (val('reserve-ttl')) body.ttl_seconds = Number(val('reserve-ttl'));
    const headers = val('reserve-ik') ? { 'Idempotency-Key': val('reserve-ik') } : {};
    try {
      const { data, replayed } = await api('POST', '/v1/reservations', body, { headers });
      const what = data.lines ? `cart of ${data.lines.length} line${data.lines.length === 1 ? '' : 's'}` : `${data.qty} in ${data.warehouse}`;
      status(msg, `Held ${what}: reservation ${data.id}, expires ${fmtTime(data.expires_at)}${replayed ? ' (replayed: this Idempotency-Key was used before)' : ''}`, true);
      await reload();
    } catch (err) {
      status(msg, String(err));
    }
  }

  async function asOf() {
    if (!current()) return;
    const at = localToISO(val('stock-at'));
    if (!at) { await loadView(); return; }
    try {
      const { data } = await api('GET', `/v1/stock/${seg(sku)}?at=${encodeURIComponent(at)}`);
      renderView(data, at);
    } catch (err) {
      status(msg, String(err));
    }
  }

  async function verifyAll() {
    try {
      const { data } = await api('GET', '/v1/ledger/verify');
      const diffs = data.differences || [];
      if (diffs.length === 0) status(msg, `Ledger verified: all ${data.checked} SKUs match their ledgers.`, true);
      else status(msg, `${diffs.length} of ${data.checked} SKUs differ from their ledgers: ${JSON.stringify(diffs)}`);
    } catch (err) {
      status(msg, String(err));
    }
  }

  async function verify() {
    if (!current()) return;
    try {
      const { data } = await api('GET', `/v1/ledger/verify?sku=${encodeURIComponent(sku)}`);
      if ((data.differences || []).length === 0) status(msg, `Ledger verified: the view of ${sku} is exactly its ledger replayed.`, true);
      else status(msg, `The view of ${sku} differs from its ledger: ${JSON.stringify(data.differences)}`);
    } catch (err) {
      status(msg, String(err));
    }
  }

  async function rebuild(e) {
    const btn = e.currentTarget;
    if (!current()) return;
    if (!btn.dataset.armed) {
      btn.dataset.armed = '1';
      btn.textContent = `Really rebuild ${sku} from its ledger?`;
      return;
    }
    delete btn.dataset.armed;
    btn.textContent = 'Rebuild view';
    try {
      const { data } = await api('POST', `/v1/stock/${seg(sku)}/rebuild`);
      status(msg, data.rebuilt ? `Rebuilt ${sku} from its ledger.` : `${sku} already matched its ledger; nothing written.`, true);
      await reload();
    } catch (err) {
      status(msg, String(err));
    }
  }

  async function doBulk(e) {
    e.preventDefault();
    const file = document.getElementById('bulk-file').files[0];
    const text = file ? await file.text() : document.getElementById('bulk-lines').value;
    if (!text.trim()) { status(bulkMsg, 'Paste NDJSON lines or choose a file.'); return; }
    try {
      const { data } = await api('POST', '/v1/stock:bulk', undefined, { raw: text, contentType: 'application/x-ndjson' });
      status(bulkMsg, `Queued as job ${data.job}.`, true);
      watchJob(data.job);
    } catch (err) {
      status(bulkMsg, String(err));
    }
  }

  // watchJob polls a bulk job until it is done or failed, with a progress
  // bar and its errors by line.
  function watchJob(id) {
    if (jobTimer) clearTimeout(jobTimer);
    const tick = async () => {
      jobTimer = null;
      try {
        const { data: j } = await api('GET', `/v1/jobs/${seg(id)}`);
        renderJob(j);
        if (j.status === 'queued' || j.status === 'running') jobTimer = setTimeout(tick, JOB_POLL_MS);
        else if (sku) reload();
      } catch (err) {
        status(bulkMsg, String(err));
      }
    };
    tick();
  }

  function renderJob(j) {
    const done = j.applied + j.failed;
    fill(bulkJob,
      h('p', null, 'Job ', h('code', null, j.id), ' ', h('span', { id: 'bulk-status', class: j.status === 'done' ? 'badge good' : (j.status === 'failed' ? 'badge bad' : 'badge') }, j.status), ' ',
        h('span', { id: 'bulk-counts' }, `${j.lines} lines: ${j.applied} applied, ${j.failed} failed`)),
      h('progress', { id: 'bulk-progress', max: String(Math.max(1, j.lines)), value: String(done) }),
      j.errors && j.errors.length
        ? table('bulk-errors', ['Line', 'Error', 'Message'], j.errors.map((x) => h('tr', null, h('td', { class: 'num' }, x.line), h('td', null, x.error), h('td', null, x.message))))
        : null);
  }

  return () => { clearInterval(followTimer); if (jobTimer) clearTimeout(jobTimer); feed.stop(); };
}

// guards are the optional Idempotency-Key and If-Match fields of a write.
function guards(prefix) {
  return [
    field('Idempotency-Key (optional)', h('input', { id: `${prefix}-ik`, spellcheck: 'false' })),
    field('Only at version (If-Match)', h('input', { id: `${prefix}-ifmatch`, type: 'number', min: '1', step: '1' })),
  ];
}

function guardHeaders(prefix) {
  const hd = {};
  if (val(`${prefix}-ik`)) hd['Idempotency-Key'] = val(`${prefix}-ik`);
  if (val(`${prefix}-ifmatch`)) hd['If-Match'] = `"${val(`${prefix}-ifmatch`)}"`;
  return hd;
}

function signed(n) {
  if (!n) return '0';
  return n > 0 ? `+${n}` : String(n);
}
