// Click analytics: a link's stats (GET /v1/links/{code}/stats with from,
// to and granularity) as a bar chart of the series and top-N tables of the
// breakdowns, refreshed while open; and the most clicked links
// (GET /v1/stats/top). The chart is hand-written SVG built with
// createElementNS: names and times only ever enter it as text.

import { api, seg } from './api.js';
import { h, fill, table, fmtTime, status, field, val } from './dom.js';

const EVERY_MS = 2000;
// Stats fields shown elsewhere (the big number, the chart, the tables) or
// not worth a line; every other scalar is listed under the click count.
const SHOWN = new Set(['code', 'clicks', 'version', 'created_at', 'expires_at', 'expired', 'from', 'to', 'granularity']);

// period builds the query of a stats call from a form's inputs
// (PREFIX-from, PREFIX-to as dates, PREFIX-granularity).
function period(prefix) {
  const q = new URLSearchParams();
  if (val(`${prefix}-from`)) q.set('from', val(`${prefix}-from`));
  if (val(`${prefix}-to`)) q.set('to', val(`${prefix}-to`));
  const g = val(`${prefix}-granularity`);
  if (g) q.set('granularity', g);
  return q;
}

function periodFields(prefix, withGranularity) {
  return [
    field('From (UTC date)', h('input', { id: `${prefix}-from`, type: 'date' })),
    field('To (UTC date)', h('input', { id: `${prefix}-to`, type: 'date' })),
    withGranularity ? field('Per', h('select', { id: `${prefix}-granularity` },
      h('option', { value: '' }, 'auto'), h('option', { value: 'hour' }, 'hour'), h('option', { value: 'day' }, 'day'))) : null,
  ];
}

// statsPanel is the analytics section of one link. It polls while the
// panel lives; stop() ends that.
export function statsPanel(code, initialClicks) {
  let timer = null;
  const clicks = h('span', { id: 'link-clicks', class: 'big' }, String(initialClicks ?? 0));
  const scalars = h('dl', { id: 'link-stats' });
  const extras = h('div', { id: 'link-analytics' });
  const msg = h('p', { id: 'link-stats-msg', role: 'alert' });
  const form = h('form', { id: 'stats-period', onsubmit: (e) => { e.preventDefault(); refresh(); } },
    periodFields('stats', true), h('button', { type: 'submit', id: 'stats-submit' }, 'Show'));

  async function refresh() {
    try {
      const { data } = await api('GET', `/v1/links/${seg(code)}/stats?${period('stats')}`);
      msg.textContent = '';
      clicks.textContent = String(data.clicks ?? 0);
      fill(scalars, Object.entries(data)
        .filter(([k, v]) => !SHOWN.has(k) && (v === null || typeof v !== 'object'))
        .map(([k, v]) => [h('dt', null, k), h('dd', { id: `stats-${k}` }, v === null ? '—' : String(v))]));
      fill(extras, statsExtras(data));
    } catch (err) {
      if (err.status === 404) stop();
      status(msg, String(err));
    }
  }
  function stop() { if (timer) clearInterval(timer); timer = null; }
  timer = setInterval(refresh, EVERY_MS);
  refresh();

  const el = h('section', { class: 'stats' },
    h('h4', null, 'Clicks (counted at the edges, every region; bots apart)'), clicks, scalars, form, msg, extras);
  return { el, stop };
}

// statsExtras renders what a stats answer has beyond counts: a "series"
// of {t, clicks, bots} as a bar chart, and every map of name -> count
// (referrers, devices, browsers, countries, ...) as a top-10 table.
export function statsExtras(data) {
  const out = [];
  if (Array.isArray(data.series) && data.series.length > 0) {
    out.push(h('h4', null, `Clicks per ${data.granularity || 'period'}`), seriesChart(data.series));
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

// seriesChart draws one bar per point (bots stacked on top in another
// colour), scaled to the tallest; each bar's tooltip says when and how
// many; the axis names the first and last period and the maximum.
function seriesChart(series) {
  const W = 640, H = 140, top = 14, bottom = 14, pad = 2;
  const total = (p) => (Number(p.clicks) || 0) + (Number(p.bots) || 0);
  const most = Math.max(1, ...series.map(total));
  const w = W / series.length;
  const scale = (n) => Math.round((n / most) * (H - top - bottom));
  const bars = [];
  series.forEach((p, i) => {
    const n = Number(p.clicks) || 0, b = Number(p.bots) || 0;
    const bw = Math.min(48, Math.max(1, w - pad)); // a lone bar stays a bar, not a wall
    const x = (i * w + (w - bw) / 2).toFixed(1);
    const hh = scale(n), hb = scale(b);
    bars.push(svg('rect', { x, y: H - bottom - hh, width: bw.toFixed(1), height: hh, class: 'bar' },
      svg('title', null, `${fmtTime(p.t)}: ${n} clicks`)));
    if (b > 0) {
      bars.push(svg('rect', { x, y: H - bottom - hh - hb, width: bw.toFixed(1), height: hb, class: 'bots' },
        svg('title', null, `${fmtTime(p.t)}: ${b} bots`)));
    }
  });
  return svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', id: 'stats-chart', role: 'img', 'aria-label': `clicks over time, most ${most}` },
    svg('text', { x: 4, y: 11, class: 'axis' }, `max ${most}`),
    svg('text', { x: 4, y: H - 2, class: 'axis' }, fmtTime(series[0].t)),
    svg('text', { x: W - 4, y: H - 2, class: 'axis', 'text-anchor': 'end' }, fmtTime(series[series.length - 1].t)),
    ...bars);
}

// topPanel is the most clicked links of a period (default: the last 24 h);
// a click on a code opens it with open(code).
export function topPanel(open) {
  const out = h('div', { id: 'top-links' });
  const form = h('form', { id: 'top-form', onsubmit: (e) => { e.preventDefault(); load(); } },
    periodFields('top', false),
    field('How many', h('input', { id: 'top-limit', type: 'number', min: '1', value: '10', size: 4 })),
    h('button', { type: 'submit', id: 'top-submit' }, 'Show'));
  async function load() {
    const q = period('top');
    if (val('top-limit')) q.set('limit', val('top-limit'));
    try {
      const { data } = await api('GET', `/v1/stats/top?${q}`);
      fill(out, h('p', { class: 'muted' }, `${fmtTime(data.from)} – ${fmtTime(data.to)}`),
        table('top-table', ['Code', 'Clicks'], (data.links || []).map((l) => h('tr', null,
          h('td', null, h('button', { type: 'button', class: 'linkish', onclick: () => open(l.code) }, l.code)),
          h('td', { class: 'num' }, l.clicks))), 'no clicks in this period'));
    } catch (err) {
      fill(out, h('p', { class: 'error' }, String(err)));
    }
  }
  return { el: h('section', { class: 'panel' }, h('h3', null, 'Most clicked'), form, out), load };
}
