// The console's entry point: the session, the hash router and the navigation.

import { onUnauthorized, onCsrfRejected } from './api.js';
import { cloneTemplate, h } from './dom.js';
import { clearMessages, showError, showStatus, showPending, statusAfterNavigation, errorAfterNavigation } from './messages.js';
import { initDialog, closeDialog } from './dialog.js';
import { loadSession, signOut, markEnded, current, can, needsSignIn } from './session.js';
import { forgetInfo } from './info.js';
import { showCollection, forgetCollection } from './collection.js';
import { formatDate } from './format.js';
import * as signin from './signin.js';
import * as overview from './overview.js';
import * as subjects from './subjects.js';
import * as subjectDetail from './subject-detail.js';
import * as enroll from './enroll.js';
import * as identify from './identify.js';
import * as verify from './verify.js';
import * as detect from './detect.js';
import * as keys from './keys.js';
import * as collections from './collections.js';

// In navigation order. A route with a label is a link of nav#main-nav when its scope
// allows; nav names the link that stays current on a sub-page.
const ROUTES = [
  { path: 'overview', page: overview, scope: 'recognize', label: 'Overview' },
  { path: 'subjects', page: subjects, scope: 'manage', label: 'Subjects' },
  { pattern: /^subjects\/(\d+)$/, page: subjectDetail, scope: 'manage', nav: 'subjects', params: ['id'] },
  { path: 'enroll', page: enroll, scope: 'manage', label: 'Enroll' },
  { path: 'identify', page: identify, scope: 'recognize', label: 'Identify' },
  { path: 'verify', page: verify, scope: 'recognize', label: 'Verify' },
  { path: 'detect', page: detect, scope: 'recognize', label: 'Detect' },
  { path: 'keys', page: keys, scope: 'admin', label: 'API keys' },
  { path: 'collections', page: collections, scope: 'admin', label: 'Collections' },
];
const SIGNIN = { path: 'signin', page: signin };

const view = () => document.getElementById('view');
let leavePage = null;   // the current page's cleanup (cameras off, requests aborted)
let firstRender = true;

function currentPath() {
  const raw = location.hash.replace(/^#\/?/, '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // a malformed escape: no route matches it, the home page is shown
  }
}

function match(path) {
  for (const route of ROUTES) {
    if (route.path === path) return { route, params: {} };
    const found = route.pattern && route.pattern.exec(path);
    if (found) return { route, params: Object.fromEntries(route.params.map((name, i) => [name, found[i + 1]])) };
  }
  return null;
}

const allowed = (route) => !route.scope || can(route.scope);

// The first page the session may see, or null for none.
function homePath() {
  const home = ROUTES.find((route) => route.label && allowed(route));
  return home ? home.path : null;
}

// Goes to a hash route; replace keeps redirects out of the history.
function navigate(path, { replace = false } = {}) {
  const hash = `#/${path}`;
  if (location.hash === hash) { render(); return; }
  if (replace) {
    history.replaceState(null, '', hash); // no hashchange event: render here
    render();
  } else {
    location.hash = hash; // render on hashchange
  }
}

function leave() {
  closeDialog();
  if (leavePage) {
    try { leavePage(); } catch (error) { console.error(error); }
  }
  leavePage = null;
}

function render() {
  leave();
  clearMessages();
  const path = currentPath();
  if (needsSignIn()) {
    if (path !== SIGNIN.path) { navigate(SIGNIN.path, { replace: true }); return; }
    show(SIGNIN, {});
    return;
  }
  const found = match(path);
  if (found && !allowed(found.route)) {
    errorAfterNavigation({ message: `That page needs the ${found.route.scope} scope, which this key does not have.`, code: 'insufficient_scope' });
  }
  if (!found || !allowed(found.route)) {
    const home = homePath();
    if (!home) { showTemplatePage('tpl-noscope', 'Nothing to show'); return; }
    if (path !== home) { navigate(home, { replace: true }); return; }
  }
  show(found.route, found.params);
}

function show(route, params) {
  const controller = new AbortController();
  renderHeader(route);
  const target = view();
  target.replaceChildren();
  document.title = `${route.page.title} · NETRA console`;
  const cleanup = route.page.render(target, {
    params,
    signal: controller.signal,
    navigate: (path) => navigate(path),
    onSignedIn,
  });
  leavePage = () => {
    controller.abort(); // every request of the page, camera starts included
    if (typeof cleanup === 'function') cleanup();
  };
  showPending();
  window.scrollTo(0, 0); // a new page starts at its top, not where the last one was scrolled
  focusHeading();
}

function showTemplatePage(templateId, title) {
  renderHeader(null);
  view().replaceChildren(cloneTemplate(templateId));
  document.title = `${title} · NETRA console`;
  showPending();
  focusHeading();
}

// After a navigation the page's heading takes the focus, so a screen reader says where
// the operator is; not on the first load (the sign-in input wants it then).
function focusHeading() {
  if (firstRender) { firstRender = false; return; }
  if (document.activeElement && view().contains(document.activeElement)) return;
  // The collection picker shows the page again on every change (arrow keys included): the
  // focus stays on it.
  if (document.activeElement && document.activeElement.id === 'collection-select') return;
  const heading = view().querySelector('h1');
  if (heading) heading.focus();
}

function renderHeader(route) {
  const list = document.querySelector('#main-nav .nav-list');
  const active = route ? (route.nav || route.path) : null;
  const links = needsSignIn() ? [] : ROUTES.filter((r) => r.label && allowed(r));
  list.replaceChildren(...links.map((r) => h('li', {},
    h('a', { href: `#/${r.path}`, 'aria-current': r.path === active ? 'page' : null }, r.label))));
  document.getElementById('main-nav').hidden = links.length === 0;

  const session = current();
  const who = document.getElementById('session-who');
  if (session.signed_in && session.key) {
    who.replaceChildren(h('span', { class: 'who-label' }, 'Signed in: '), session.key.name,
      h('span', { class: 'key-id' }, ` (key ${session.key.id})`));
    who.title = `Signed in: ${session.key.name} (key ${session.key.id})`;
  } else {
    who.textContent = session.key_required === false ? 'No API key needed (loopback)' : '';
    who.removeAttribute('title');
  }
  document.getElementById('signout').hidden = !session.signed_in;
  showCollection(document.getElementById('collection-picker'), onCollectionChanged);
}

// Another collection picked in the header (or the picked one deleted): the current page
// again, now in that collection.
function onCollectionChanged(name, gone) {
  statusAfterNavigation(gone
    ? `The collection ${gone} no longer exists; back to ${name}.`
    : `Working in the collection ${name}.`);
  render();
}

function onSignedIn() {
  forgetInfo();
  forgetCollection();
  const session = current();
  // The session's end is the server's (console.session_hours), so it is read from the answer.
  const until = session.expires_at ? ` until ${formatDate(session.expires_at)} (or until you sign out)` : '';
  statusAfterNavigation(session.key ? `Signed in as ${session.key.name}${until}.` : `Signed in${until}.`);
  const home = homePath();
  if (home) navigate(home); else render();
}

async function onSignOut() {
  leave();
  clearMessages();
  showStatus('Signing out…');
  try {
    await signOut();
    statusAfterNavigation('Signed out.');
  } catch (error) {
    errorAfterNavigation(error);
  }
  forgetInfo();
  forgetCollection();
  await refreshSession();
}

// A 401 from the API: the session has ended (expired, key revoked); back to sign-in.
function onSessionEnded(error) {
  if (needsSignIn() && currentPath() === SIGNIN.path) return; // a second 401 of the same page
  markEnded();
  forgetInfo();
  forgetCollection();
  errorAfterNavigation({ message: `Please sign in again: ${error.message}`, code: error.code });
  navigate(SIGNIN.path, { replace: true });
}

// A write refused for its CSRF token: ask for the session again; retry only when it is
// still the same key's (a sign-in in another tab must not turn this page's writes into
// another key's).
async function onCsrfTokenRejected() {
  const before = current().key ? current().key.id : null;
  try {
    await loadSession();
  } catch {
    return false;
  }
  const after = current().key ? current().key.id : null;
  if (after === before) return Boolean(before);
  errorAfterNavigation({ message: 'This browser signed in again elsewhere; the page now shows that session.', code: 'session_replaced' });
  setTimeout(render); // after the refused request has been reported
  return false;
}

// Asks the server who is signed in, then shows the page of the hash.
async function refreshSession() {
  try {
    await loadSession();
  } catch (error) {
    leave();
    showError(error);
    renderHeader(null);
    view().replaceChildren(cloneTemplate('tpl-unavailable'));
    document.getElementById('unavailable-retry').addEventListener('click', () => { clearMessages(); refreshSession(); });
    return;
  }
  render();
}

function boot() {
  initDialog();
  onUnauthorized(onSessionEnded);
  onCsrfRejected(onCsrfTokenRejected);
  document.getElementById('signout').addEventListener('click', onSignOut);
  // The skip link must not become a hash route.
  document.getElementById('skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('main').focus();
  });
  window.addEventListener('hashchange', render);
  // Leaving the console stops the cameras; a page restored from the back-forward cache
  // is drawn again.
  window.addEventListener('pagehide', leave);
  window.addEventListener('pageshow', (event) => { if (event.persisted) render(); });
  refreshSession();
}

boot();
