// API keys (admin): list, create (the key is shown once), revoke.

import { get, post, del, segment } from './api.js';
import { cloneTemplate, h, messageRow, busy } from './dom.js';
import { showStatus, showError, clearMessages } from './messages.js';
import { confirmAction } from './dialog.js';
import { current } from './session.js';
import { formatDate } from './format.js';

export const title = 'API keys';

export function render(view, { signal }) {
  view.append(cloneTemplate('tpl-keys'));
  const $ = (id) => view.querySelector(`#${id}`);
  const table = $('key-table');
  const created = $('key-created');

  async function load() {
    try {
      const answer = await get('/api/v1/apikeys', { signal });
      showKeys(answer.api_keys || []);
    } catch (error) {
      table.tBodies[0].replaceChildren(messageRow(table, 'The keys could not be read.'));
      showError(error);
    }
  }

  function showKeys(keys) {
    const body = table.tBodies[0];
    if (!keys.length) {
      body.replaceChildren(messageRow(table, 'No API keys.'));
      return;
    }
    const own = current().key && current().key.id;
    body.replaceChildren(...keys.map((key) => h('tr', { dataset: { keyId: key.id, revoked: String(Boolean(key.revoked_at)) } },
      h('td', {}, h('code', {}, key.id)),
      h('td', {}, key.name || '—', key.id === own ? ' (this session)' : ''),
      h('td', {}, (key.scopes || []).join(', ') || '—'),
      h('td', {}, key.collection || '—'),
      h('td', {}, formatDate(key.created_at)),
      h('td', {}, key.last_used_at ? formatDate(key.last_used_at) : 'never'),
      h('td', {}, key.revoked_at ? `revoked ${formatDate(key.revoked_at)}` : 'active'),
      h('td', {}, key.revoked_at ? '' : h('button', {
        type: 'button', class: 'small danger key-revoke', dataset: { keyId: key.id, keyName: key.name || key.id },
        'aria-label': `Revoke key ${key.name || ''} (${key.id})`,
      }, 'Revoke')))));
  }

  async function create() {
    clearMessages();
    created.replaceChildren();
    const nameInput = $('key-name');
    const name = nameInput.value.trim();
    const scopes = [...view.querySelectorAll('input[name="key-scope"]:checked')].map((box) => box.value);
    const collection = $('key-collection').value.trim();
    if (!name) {
      showError(new Error('Enter a name for the key.'));
      nameInput.focus();
      return;
    }
    if (!scopes.length) {
      showError(new Error('Choose at least one scope.'));
      view.querySelector('input[name="key-scope"]').focus();
      return;
    }
    try {
      const body = { name, scopes };
      if (collection) body.collection = collection;
      const answer = await post('/api/v1/apikeys', { json: body, signal });
      showCreated(answer);
      nameInput.value = '';
      // #status (a live region) announces the key; #key-created, which is not one, shows it,
      // so a screen reader does not read the secret aloud.
      showStatus(`A new key was created for ${name}${answer.api_key ? ` (ID ${answer.api_key.id})` : ''}; it is shown once, below: copy it now.`);
      await load();
    } catch (error) {
      showError(error);
    }
  }

  function showCreated(answer) {
    const copy = h('button', { type: 'button', id: 'key-copy', class: 'small' }, 'Copy the key');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(answer.key);
        showStatus('The key is on the clipboard.');
      } catch {
        showError(new Error('The browser did not allow copying; select the key and copy it by hand.'));
      }
    });
    created.replaceChildren(
      h('p', {}, `The new key for ${answer.api_key ? answer.api_key.name : 'this program'}:`),
      h('code', {}, answer.key),
      h('p', {}, h('strong', {}, 'Copy it now: it will not be shown again. '), 'NETRA keeps only a hash of it.'),
      navigator.clipboard ? copy : '',
    );
  }

  async function revoke(button) {
    clearMessages();
    const { keyId, keyName } = button.dataset;
    const own = current().key && current().key.id === keyId;
    const question = `Revoke the key ${keyName} (${keyId})? Programs using it are refused at once.${own ? ' It is the key of this session: you will be signed out.' : ''}`;
    if (!(await confirmAction(question, 'Revoke key'))) return;
    try {
      await del(`/api/v1/apikeys/${segment(keyId)}`, { signal });
      showStatus(`Revoked key ${keyName} (${keyId}).`);
      await load();
    } catch (error) {
      showError(error);
    }
  }

  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('key-create'), create);
  });
  table.addEventListener('click', (event) => {
    const button = event.target.closest('button.key-revoke');
    if (button) busy(button, () => revoke(button));
  });

  table.tBodies[0].replaceChildren(messageRow(table, 'Loading…'));
  load();
}
