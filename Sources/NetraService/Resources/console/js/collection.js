// The collection the console works in. A key bound to no collection that may list them
// (admin scope: GET /api/v1/collections answers) gets the header's picker,
// select#collection-select; a bound key acts only in its own, whose name the header shows.
// The choice lives in this module only (no storage: a reload starts at default) and goes
// with every subjects, enroll and identify request as the `collection` parameter.

import { get } from './api.js';
import { h } from './dom.js';
import { showError, describe } from './messages.js';
import { current, can, needsSignIn } from './session.js';

const DEFAULT = 'default';

let chosen = null;        // the picked collection's name; null: none named (the server's default)
let shownFor = null;      // the session the header's part was built for
let container = null;     // #collection-picker
let select = null;        // select#collection-select, when the picker is shown
let onChange = () => {};  // the router's: show the current page again
let asking = 0;           // the number of the newest GET /api/v1/collections; older answers are dropped

// The collection requests name, or null for none (default, or a bound key's own).
export function chosenCollection() {
  return chosen;
}

// Form fields with the chosen collection (formData leaves a null one out).
export function withCollection(fields) {
  return chosen ? { ...fields, collection: chosen } : fields;
}

// An API path with the chosen collection as a query parameter.
export function inCollection(path) {
  if (!chosen) return path;
  return `${path}${path.includes('?') ? '&' : '?'}collection=${encodeURIComponent(chosen)}`;
}

// After sign-in or sign-out: the next header starts from default.
export function forgetCollection() {
  chosen = null;
  shownFor = null;
}

function sessionTag(session) {
  if (needsSignIn()) return 'signed-out';
  const key = session.key || {};
  return [session.signed_in, key.id || '', key.collection || '', (session.scopes || []).join(',')].join('|');
}

// Called with the header on every page: builds the header's part once per session, and
// asks for the collections again (one may have been made or deleted meanwhile, through the
// API or by another admin; the collections page also asks after it makes or deletes one).
// Only the newest request's answer is used; a failure is shown in #error.
// changed(name, goneName) is called when the operator picks another collection, or when
// the picked one no longer exists.
export function showCollection(slot, changed) {
  container = slot;
  onChange = changed;
  const session = current();
  const tag = sessionTag(session);
  if (tag !== shownFor) {
    shownFor = tag;
    chosen = null;
    select = null;
    slot.replaceChildren();
    slot.hidden = true;
    if (tag === 'signed-out') return;
    if (session.key && session.key.collection) {
      slot.replaceChildren(h('span', { id: 'collection-bound' }, 'Collection: ', h('strong', {}, session.key.collection)));
      slot.hidden = false;
      return;
    }
    if (!can('admin')) return; // GET /api/v1/collections needs admin: no picker
    select = h('select', { id: 'collection-select', 'aria-describedby': 'collection-select-help' });
    select.addEventListener('change', () => {
      chosen = select.value === DEFAULT ? null : select.value;
      onChange(select.value, null);
    });
    slot.replaceChildren(
      h('label', { for: 'collection-select' }, 'Collection'), select,
      h('span', { id: 'collection-select-help', class: 'visually-hidden' },
        'Subjects, enrollment and identify work in this collection; changing it shows the page again.'));
  }
  if (select) refreshCollections();
}

// Lists the collections in the picker again, default first, keeping the choice; a failure
// is shown in #error.
export async function refreshCollections() {
  const mine = select;
  if (!mine) return;
  asking += 1;
  const number = asking;
  let answer;
  try {
    answer = await get('/api/v1/collections');
  } catch (error) {
    if (mine !== select || number !== asking) return; // the session changed, or a newer request
    if (!mine.options.length) container.hidden = true; // no picker without a list
    showError({
      message: `The collections for the header's picker could not be read: ${describe(error)}`,
      code: error.code, handled: error.handled, name: error.name,
    });
    return;
  }
  if (mine !== select || number !== asking) return; // the session changed meanwhile, or a newer request
  const listed = (answer && Array.isArray(answer.collections) ? answer.collections : [])
    .map((collection) => String(collection.name)).filter((name) => name !== DEFAULT);
  const names = [DEFAULT, ...listed];
  const shown = [...mine.options].map((option) => option.value);
  if (shown.join('\n') !== names.join('\n')) {
    mine.replaceChildren(...names.map((name) => h('option', { value: name }, name)));
  }
  const gone = chosen && !names.includes(chosen) ? chosen : null;
  if (gone) chosen = null;
  mine.value = chosen || DEFAULT;
  container.hidden = false;
  if (gone) onChange(DEFAULT, gone);
}
