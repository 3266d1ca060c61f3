// Bulk links: import a CSV (header row naming the columns) or NDJSON file
// with POST /v1/links:import, all or nothing, showing every bad line by its
// number; export every link, or a tag's, as NDJSON (GET /v1/links:export),
// downloaded through an object URL so the key stays out of the link.

import { api, fetchBlob } from './api.js';
import { h, fill, table, status, field, val } from './dom.js';

// ioPanel is the import/export section; onImported runs after an import.
export function ioPanel(onImported) {
  const msg = h('p', { id: 'import-msg', role: 'alert' });
  const errs = h('div', { id: 'import-errors' });
  const exportMsg = h('p', { id: 'export-msg', role: 'alert' });
  let exportURL = null;

  const importForm = h('form', { id: 'import-form', onsubmit: doImport },
    field('CSV (url,code,tags,title,... header) or NDJSON file', h('input', { id: 'import-file', type: 'file', accept: '.csv,.ndjson,.jsonl,.json,text/csv,application/x-ndjson' })),
    field('Format', h('select', { id: 'import-format' },
      h('option', { value: '' }, 'by file name'), h('option', { value: 'csv' }, 'CSV'), h('option', { value: 'ndjson' }, 'NDJSON'))),
    h('button', { type: 'submit', id: 'import-submit' }, 'Import'), msg, errs);

  const exportForm = h('form', { id: 'export-form', onsubmit: doExport },
    field('Tag (empty: every link)', h('input', { id: 'export-tag', spellcheck: 'false', size: 16 })),
    h('button', { type: 'submit', id: 'export-submit' }, 'Export NDJSON'), exportMsg);

  async function doImport(e) {
    e.preventDefault();
    fill(errs);
    const file = document.getElementById('import-file').files[0];
    if (!file) { status(msg, 'Choose a file.'); return; }
    const csv = (val('import-format') || (/\.csv$/i.test(file.name) ? 'csv' : 'ndjson')) === 'csv';
    try {
      const { data } = await api('POST', '/v1/links:import', undefined,
        { raw: await file.text(), contentType: csv ? 'text/csv' : 'application/x-ndjson' });
      status(msg, `Imported ${data.created} link${data.created === 1 ? '' : 's'} from ${file.name}.`, true);
      importForm.reset();
      onImported();
    } catch (err) {
      status(msg, String(err));
      const lines = (err.data && err.data.errors) || [];
      if (lines.length) {
        fill(errs, table('import-errors-table', ['Line', 'Error', 'Message'], lines.map((l) => h('tr', null,
          h('td', { class: 'num' }, l.line), h('td', null, l.error), h('td', null, l.message)))),
        err.data.more_errors ? h('p', { class: 'muted' }, 'More lines are bad; the first 100 are listed.') : null);
      }
    }
  }

  async function doExport(e) {
    e.preventDefault();
    const tag = val('export-tag');
    const q = tag ? `?${new URLSearchParams({ tag })}` : '';
    try {
      const blob = await fetchBlob(`/v1/links:export${q}`, 'application/x-ndjson');
      if (exportURL) URL.revokeObjectURL(exportURL);
      exportURL = URL.createObjectURL(blob);
      const name = `links${tag ? `-${tag}` : ''}.ndjson`;
      const n = (await blob.text()).split('\n').filter(Boolean).length;
      const a = h('a', { id: 'export-download', href: exportURL, download: name }, `Save ${name}`);
      fill(exportMsg, `${n} link${n === 1 ? '' : 's'} exported: `, a);
      exportMsg.className = 'ok';
    } catch (err) {
      status(exportMsg, String(err));
    }
  }

  const el = h('div', { class: 'cols' },
    h('section', { class: 'panel' }, h('h3', null, 'Import links'), importForm),
    h('section', { class: 'panel' }, h('h3', null, 'Export links'), exportForm));
  return { el, stop: () => { if (exportURL) URL.revokeObjectURL(exportURL); } };
}
