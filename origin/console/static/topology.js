// Topology: every region's origin and edges, their health, the last change
// each origin read and how far each edge lags behind it, refreshed by
// polling GET /v1/topology; a purge form (POST /v1/purge) and change
// receipts (GET /v1/changes/{id}), polled until every edge has applied.

import { api, seg } from './api.js';
import { h, fill, table, fmtTime, ago, status, field, val } from './dom.js';

const POLL_MS = 2000;
const RECEIPT_POLL_MS = 1000;
const RECEIPT_POLL_MAX = 60;

export function mount(root) {
  let timer = null;
  let receiptTimer = null;
  let alive = true;
  const regions = h('div', { id: 'topology-regions' }, h('p', { class: 'muted' }, 'Loading…'));
  const updated = h('p', { id: 'topology-updated', class: 'muted' });
  const purgeMsg = h('p', { id: 'purge-msg', role: 'alert' });
  const receipt = h('div', { id: 'receipt', class: 'panel' });
  receipt.hidden = true;

  const purge = h('form', { id: 'purge-form', onsubmit: doPurge },
    field('Surrogate keys (link:CODE or sku:SKU, one a line)', h('textarea', { id: 'purge-keys', rows: '3', cols: '40', spellcheck: 'false' })),
    field('Tags (every link of each tag)', h('input', { id: 'purge-tags', size: 24, spellcheck: 'false' })),
    h('label', null, h('input', { type: 'checkbox', id: 'purge-all' }), ' everything'),
    h('label', null, h('input', { type: 'checkbox', id: 'purge-soft' }), ' soft (serve stale while revalidating)'),
    h('button', { type: 'submit', id: 'purge-submit', class: 'danger' }, 'Purge'), purgeMsg);

  const lookup = h('form', { id: 'receipt-lookup', onsubmit: (e) => { e.preventDefault(); watchReceipt(val('receipt-id')); } },
    field('Change id (X-Change-Id or a purge id)', h('input', { id: 'receipt-id', spellcheck: 'false', size: 30 })),
    h('button', { type: 'submit', id: 'receipt-submit' }, 'Show receipt'));

  root.append(
    h('h2', null, 'Topology'), updated, regions,
    h('div', { class: 'cols' },
      h('section', { class: 'panel' }, h('h3', null, 'Purge edge caches'), purge),
      h('section', { class: 'panel' }, h('h3', null, 'Change receipt'), lookup)),
    receipt);

  async function poll() {
    try {
      const { data } = await api('GET', '/v1/topology');
      if (alive) render(data);
    } catch (err) {
      if (alive) status(updated, `Could not read the topology: ${err}`);
    }
  }
  poll();
  timer = setInterval(poll, POLL_MS);

  function render(t) {
    updated.className = 'muted';
    updated.textContent = `As seen by the ${t.region} origin at ${fmtTime(t.generated_at)}; refreshed every ${POLL_MS / 1000} s.`;
    const now = new Date(t.generated_at).getTime();
    fill(regions, (t.regions || []).map((r) => {
      const o = r.origin || {};
      const last = o.last_change;
      const edgeRows = (r.edges || []).map((e) => h('tr', { class: `state-${e.state}` },
        h('td', null, e.edge), h('td', null, badge(e.state, e.state === 'live')),
        h('td', { class: 'num' }, e.lag), h('td', null, ago(e.last_applied_at, now)),
        h('td', null, ago(e.last_report_at, now)), h('td', { class: 'num' }, e.applied)));
      return h('section', { class: 'panel region', 'data-region': r.name },
        h('h3', null, `Region ${r.name}`, r.self ? h('span', { class: 'badge' }, 'this origin') : null),
        h('dl', { class: 'kv' },
          h('dt', null, 'Origin'), h('dd', null, badge(o.state || 'unknown', o.state === 'up'), r.peer ? [' ', h('code', null, r.peer)] : null),
          h('dt', null, 'Changes read'), h('dd', null, String(o.heads ?? '')),
          h('dt', null, 'Last change'), h('dd', null, last ? [h('code', null, last.id), ` committed ${ago(last.committed_at, now)}`] : 'none since start')),
        table(`edges-${r.name}`, ['Edge', 'State', 'Lag (changes)', 'Last applied', 'Last report', 'Applied'], edgeRows, 'no edge has reported'));
    }));
  }

  async function doPurge(e) {
    e.preventDefault();
    const all = document.getElementById('purge-all').checked;
    const soft = document.getElementById('purge-soft').checked;
    const body = { all: true };
    if (!all) {
      const keys = val('purge-keys').split(/\s+/).filter(Boolean);
      const tags = val('purge-tags').split(/[\s,]+/).filter(Boolean);
      delete body.all;
      if (keys.length || !tags.length) body.keys = keys; // neither: the origin says why
      if (tags.length) body.tags = tags;
    }
    if (soft) body.soft = true;
    try {
      const { data } = await api('POST', '/v1/purge', body);
      status(purgeMsg, `Purge accepted: ${data.change_id}`, true);
      document.getElementById('receipt-id').value = data.change_id;
      watchReceipt(data.change_id);
    } catch (err) {
      status(purgeMsg, String(err));
    }
  }

  function watchReceipt(id) {
    if (!id) return;
    if (receiptTimer) clearTimeout(receiptTimer);
    let n = 0;
    const tick = async () => {
      receiptTimer = null;
      try {
        const { data } = await api('GET', `/v1/changes/${seg(id)}`);
        if (!alive) return;
        renderReceipt(data);
        if (!data.complete && ++n < RECEIPT_POLL_MAX) receiptTimer = setTimeout(tick, RECEIPT_POLL_MS);
      } catch (err) {
        receipt.hidden = false;
        fill(receipt, h('p', { class: 'error' }, String(err)));
      }
    };
    tick();
  }

  function renderReceipt(rc) {
    receipt.hidden = false;
    const rows = (rc.edges || []).map((e) => h('tr', { class: `state-${e.state}` },
      h('td', null, e.region), h('td', null, e.edge), h('td', null, badge(e.state, e.state === 'applied')), h('td', null, fmtTime(e.applied_at))));
    fill(receipt,
      h('h3', null, 'Receipt ', h('code', { id: 'receipt-shown' }, rc.id), ' ',
        h('span', { id: 'receipt-complete', class: rc.complete ? 'badge good' : 'badge bad' }, rc.complete ? 'applied by every live edge' : 'pending')),
      h('p', { class: 'muted' }, `Committed ${rc.committed_at ? fmtTime(rc.committed_at) : 'not yet read from the change log'}`),
      table('receipt-edges', ['Region', 'Edge', 'State', 'Applied at'], rows, 'no edges known'));
  }

  return () => {
    alive = false;
    clearInterval(timer);
    if (receiptTimer) clearTimeout(receiptTimer);
  };
}

function badge(text, good) {
  return h('span', { class: good ? 'badge good' : 'badge bad' }, text);
}
