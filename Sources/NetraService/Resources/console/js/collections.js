// Collections (admin): list with counts, create, delete (with its subjects and faces).

import { get, post, del, segment } from './api.js';
import { cloneTemplate, h, messageRow, busy } from './dom.js';
import { showStatus, showError, clearMessages } from './messages.js';
import { confirmAction } from './dialog.js';
import { formatDate, formatCount, plural } from './format.js';
import { refreshCollections } from './collection.js';

export const title = 'Collections';

const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const DEFAULT_COLLECTION = 'default';

function strictText(value) {
  if (value === true) return 'strict';
  if (value === false) return 'not strict';
  return 'service setting';
}

export function render(view, { signal }) {
  view.append(cloneTemplate('tpl-collections'));
  const $ = (id) => view.querySelector(`#${id}`);
  const table = $('collection-table');

  async function load() {
    try {
      const answer = await get('/api/v1/collections', { signal });
      showCollections(answer.collections || []);
    } catch (error) {
      table.tBodies[0].replaceChildren(messageRow(table, 'The collections could not be read.'));
      showError(error);
    }
  }

  function showCollections(collections) {
    const body = table.tBodies[0];
    if (!collections.length) {
      body.replaceChildren(messageRow(table, 'No collections.'));
      return;
    }
    body.replaceChildren(...collections.map((collection) => h('tr', { dataset: { collection: collection.name } },
      h('td', {}, h('code', {}, collection.name)),
      h('td', {}, formatCount(collection.subjects)),
      h('td', {}, formatCount(collection.faces)),
      h('td', {}, strictText(collection.strict_unknown)),
      h('td', {}, formatDate(collection.created_at)),
      h('td', {}, collection.name === DEFAULT_COLLECTION ? '' : h('button', {
        type: 'button', class: 'small danger collection-delete',
        dataset: { name: collection.name, subjects: collection.subjects, faces: collection.faces },
        'aria-label': `Delete collection ${collection.name}`,
      }, 'Delete')))));
  }

  async function create() {
    clearMessages();
    const input = $('collection-name');
    const name = input.value.trim();
    if (!NAME_PATTERN.test(name)) {
      input.setAttribute('aria-invalid', 'true');
      showError(new Error('A collection name is 1 to 64 letters, digits, dots, dashes or underscores.'));
      input.focus();
      return;
    }
    input.removeAttribute('aria-invalid');
    const strict = $('collection-strict').value;
    const body = { name };
    if (strict) body.strict_unknown = strict === 'true';
    try {
      await post('/api/v1/collections', { json: body, signal });
      input.value = '';
      showStatus(`Created collection ${name}.`);
      refreshCollections(); // the header's picker lists it
      await load();
    } catch (error) {
      showError(error);
    }
  }

  async function remove(button) {
    clearMessages();
    const { name, subjects, faces } = button.dataset;
    const question = `Delete the collection ${name} with its ${plural(Number(subjects), 'subject')} and ${plural(Number(faces), 'face')}? This cannot be undone.`;
    if (!(await confirmAction(question, 'Delete collection'))) return;
    try {
      await del(`/api/v1/collections/${segment(name)}`, { signal });
      showStatus(`Deleted collection ${name}.`);
      refreshCollections();
      await load();
    } catch (error) {
      showError(error);
    }
  }

  $('collection-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('collection-create'), create);
  });
  table.addEventListener('click', (event) => {
    const button = event.target.closest('button.collection-delete');
    if (button) busy(button, () => remove(button));
  });

  table.tBodies[0].replaceChildren(messageRow(table, 'Loading…'));
  load();
}
