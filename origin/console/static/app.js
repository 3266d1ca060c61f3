// The console's entry point: sign in, sign out, and the page router. Pages
// are modules exporting mount(container) -> unmount; the route lives in the
// URL's fragment (#links, #stock, #topology), which never holds the key.

import { api, session, onUnauthorized } from './api.js';
import { status } from './dom.js';
import * as links from './links.js';
import * as stock from './stock.js';
import * as topology from './topology.js';

const pages = { links, stock, topology };
const $ = (id) => document.getElementById(id);
let unmount = null;

function showSignIn(message) {
  if (unmount) { unmount(); unmount = null; }
  $('page').replaceChildren();
  $('page').hidden = true;
  $('nav').hidden = true;
  $('signout').hidden = true;
  $('whoami').hidden = true;
  $('signin').hidden = false;
  if (message) status($('signin-error'), message);
  $('signin-key').focus();
}

function route() {
  if (!session.key) { showSignIn(); return; }
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('signout').hidden = false;
  const name = (location.hash || '#links').slice(1).split('/')[0];
  const page = pages[name] || links;
  for (const n of Object.keys(pages)) {
    $(`nav-${n}`).classList.toggle('active', pages[n] === page);
  }
  if (unmount) unmount();
  const el = $('page');
  el.replaceChildren();
  el.hidden = false;
  unmount = page.mount(el) || null;
}

async function signIn(ev) {
  ev.preventDefault();
  const input = $('signin-key');
  const key = input.value.trim();
  input.value = '';
  const err = $('signin-error');
  err.textContent = '';
  if (!key) return;
  $('signin-submit').disabled = true;
  try {
    // Any admin key may read the topology: a cheap check of the key.
    const { data } = await api('GET', '/v1/topology', undefined, { key });
    session.set(key);
    const who = $('whoami');
    who.textContent = `signed in at ${data.region}`;
    who.hidden = false;
    route();
  } catch (e) {
    if (e.status === 401) status(err, 'Key refused: the origin does not know this admin key.');
    else if (e.status === 429) status(err, `Too many attempts from this address; retry in ${e.retryAfter || 'a few'} s.`);
    else status(err, `Could not sign in: ${e}`);
  } finally {
    $('signin-submit').disabled = false;
  }
}

function signOut() {
  session.clear();
  showSignIn();
}

document.addEventListener('DOMContentLoaded', () => {
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  onUnauthorized(() => { session.clear(); showSignIn('The origin refused the key (401); sign in again.'); });
  window.addEventListener('hashchange', route);
  route();
});
