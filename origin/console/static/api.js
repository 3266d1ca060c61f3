// The admin API client: every call is a plain fetch of the origin's /v1/
// API with the key as a bearer token, exactly like curl. The key lives in
// sessionStorage (this tab only, gone when it closes); it is never put in
// a URL, a cookie or the page.

const KEY = 'shortstock.admin-key';

export const session = {
  get key() { return sessionStorage.getItem(KEY) || ''; },
  set(k) { sessionStorage.setItem(KEY, k); },
  clear() { sessionStorage.removeItem(KEY); },
};

// APIError is a non-2xx answer: status, machine code, message.
export class APIError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
  toString() { return `${this.status} ${this.code}: ${this.message}`; }
}

let unauthorized = () => {};
// onUnauthorized sets what happens when a signed-in call answers 401 (the
// key was removed at the origin): sign out.
export function onUnauthorized(fn) { unauthorized = fn; }

// api calls the admin API. opts.key overrides the session's key (sign in);
// opts.headers adds headers; opts.raw is a body to send as it is, with
// opts.contentType. It resolves to {status, data, changeId,
// replayed} and rejects with APIError.
export async function api(method, path, body, opts = {}) {
  const key = opts.key ?? session.key;
  const headers = { Authorization: `Bearer ${key}`, Accept: 'application/json', ...(opts.headers || {}) };
  const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error', referrerPolicy: 'no-referrer' };
  if (opts.raw !== undefined) { // a body sent as it is (NDJSON uploads)
    init.body = opts.raw;
    headers['Content-Type'] = opts.contentType || 'application/octet-stream';
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new APIError(0, 'network', `the origin did not answer (${e.message})`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text }; }
  }
  if (!res.ok) {
    const err = new APIError(res.status, (data && data.error) || `http_${res.status}`,
      (data && data.message) || res.statusText, res.headers.get('Retry-After'));
    err.data = data; // the whole answer: an import's bad lines, say
    if (res.status === 401 && opts.key === undefined) unauthorized();
    throw err;
  }
  return { status: res.status, data, changeId: res.headers.get('X-Change-Id'), replayed: res.headers.get('Idempotent-Replayed') === 'true' };
}

// fetchBlob GETs a binary or streamed answer (a QR image, an NDJSON
// export) with the same bearer key and resolves to a Blob; the page shows
// it through URL.createObjectURL, so the key never goes into an <img src>
// or a download link. Errors reject with APIError as api does.
export async function fetchBlob(path, accept = '*/*') {
  const headers = { Authorization: `Bearer ${session.key}`, Accept: accept };
  let res;
  try {
    res = await fetch(path, { method: 'GET', headers, cache: 'no-store', credentials: 'omit', redirect: 'error', referrerPolicy: 'no-referrer' });
  } catch (e) {
    throw new APIError(0, 'network', `the origin did not answer (${e.message})`);
  }
  if (!res.ok) {
    let data = null;
    try { data = JSON.parse(await res.text()); } catch { /* not JSON */ }
    if (res.status === 401) unauthorized();
    throw new APIError(res.status, (data && data.error) || `http_${res.status}`,
      (data && data.message) || res.statusText, res.headers.get('Retry-After'));
  }
  return res.blob();
}

// seg escapes one path segment.
export const seg = (s) => encodeURIComponent(s);
