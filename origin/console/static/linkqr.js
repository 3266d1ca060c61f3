// A link's QR code (GET /v1/links/{code}/qr?size=&format=png|svg): fetched
// with the bearer key like every call, then shown and offered for download
// through an object URL (blob:), so the key is never in an image URL. An
// SVG answer is shown as an <img> too: an image document runs no script.

import { fetchBlob, seg } from './api.js';
import { h, fill, status, field, val } from './dom.js';

// qrPanel is the QR section of one link; stop() frees the object URL.
export function qrPanel(code) {
  let url = null;
  const out = h('div', { id: 'qr-out' });
  const msg = h('p', { id: 'qr-msg', role: 'alert' });
  const form = h('form', { id: 'qr-form', onsubmit: (e) => { e.preventDefault(); load(); } },
    field('Size (px)', h('input', { id: 'qr-size', type: 'number', min: '64', step: '32', value: '256', size: 5 })),
    field('Format', h('select', { id: 'qr-format' }, h('option', { value: 'png' }, 'PNG'), h('option', { value: 'svg' }, 'SVG'))),
    h('button', { type: 'submit', id: 'qr-submit' }, 'Show QR'));

  function free() { if (url) URL.revokeObjectURL(url); url = null; }

  async function load() {
    const format = val('qr-format') || 'png';
    const q = new URLSearchParams({ format });
    if (val('qr-size')) q.set('size', val('qr-size'));
    try {
      const blob = await fetchBlob(`/v1/links/${seg(code)}/qr?${q}`, format === 'svg' ? 'image/svg+xml' : 'image/png');
      free();
      url = URL.createObjectURL(blob);
      msg.textContent = '';
      fill(out,
        h('img', { id: 'qr-img', src: url, alt: `QR code of ${code}`, class: 'qr' }),
        h('p', null, h('a', { id: 'qr-download', href: url, download: `${code}.${format}` }, `Download ${code}.${format}`)));
    } catch (err) {
      fill(out);
      status(msg, String(err));
    }
  }

  return { el: h('section', { id: 'link-qr' }, h('h4', null, 'QR code'), form, msg, out), stop: free };
}
