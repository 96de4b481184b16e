// One subject (#/subjects/{id}): rename, metadata, its faces (facts only: NETRA keeps no
// pictures), delete a face or the whole subject.

import { get, patch, del, segment } from './api.js';
import { cloneTemplate, h, messageRow, busy } from './dom.js';
import { showStatus, showError, clearMessages, statusAfterNavigation } from './messages.js';
import { confirmAction } from './dialog.js';
import { formatDate, formatScore, formatCount } from './format.js';
import { inCollection } from './collection.js';

export const title = 'Subject';

// The metadata textarea's text as an object, or an Error saying what is wrong.
export function parseMetadata(text) {
  const trimmed = text.trim();
  if (!trimmed) return {};
  let value;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    return new Error(`The metadata is not valid JSON: ${error.message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return new Error('The metadata must be a JSON object, such as {"badge": "1234"}.');
  }
  return value;
}

export function render(view, { params, signal, navigate }) {
  view.append(cloneTemplate('tpl-subject'));
  const $ = (id) => view.querySelector(`#${id}`);
  const id = params.id;
  const path = `/api/v1/subjects/${segment(id)}`; // with inCollection() on every call
  const nameInput = $('subject-rename');
  const metadataInput = $('subject-metadata');
  const facesTable = $('subject-faces');
  let subject = null;

  function show(answer) {
    subject = answer;
    $('subject-title').textContent = answer.name;
    document.title = `${answer.name} · Subjects · NETRA console`;
    $('subject-id').textContent = String(answer.id);
    $('subject-face-count').textContent = formatCount(answer.face_count);
    $('subject-created').textContent = formatDate(answer.created_at);
    $('subject-updated').textContent = formatDate(answer.updated_at);
    nameInput.value = answer.name;
    metadataInput.value = JSON.stringify(answer.metadata || {}, null, 2);
    if (answer.faces) showFaces(answer.faces);
  }

  function showFaces(faces) {
    const body = facesTable.tBodies[0];
    if (!faces.length) {
      body.replaceChildren(messageRow(facesTable, 'No faces enrolled yet.'));
      return;
    }
    body.replaceChildren(...faces.map((face) => h('tr', { dataset: { faceId: face.id } },
      h('td', {}, String(face.id)),
      h('td', {}, formatDate(face.created_at)),
      h('td', {}, `${face.face_width} × ${face.face_height} px`),
      h('td', {}, formatScore(face.detector_confidence)),
      h('td', {}, face.model_version || '—'),
      h('td', {}, h('button', {
        type: 'button', class: 'small face-delete', dataset: { faceId: face.id },
        'aria-label': `Delete face ${face.id}`,
      }, 'Delete')))));
  }

  async function load() {
    try {
      show(await get(inCollection(path), { signal }));
    } catch (error) {
      showError(error);
      if (error.status === 404) $('subject-title').textContent = `Subject ${id} not found`;
    }
  }

  async function save() {
    clearMessages();
    const metadata = parseMetadata(metadataInput.value);
    metadataInput.setAttribute('aria-invalid', String(metadata instanceof Error));
    if (metadata instanceof Error) {
      showError(metadata);
      metadataInput.focus();
      return;
    }
    const name = nameInput.value.trim();
    if (!name) {
      showError(new Error('The name cannot be empty.'));
      nameInput.focus();
      return;
    }
    try {
      const answer = await patch(inCollection(path), { json: { name, metadata }, signal });
      show({ ...answer, faces: undefined });
      showStatus('Saved.');
    } catch (error) {
      showError(error);
    }
  }

  async function deleteSubject() {
    clearMessages();
    const name = subject ? subject.name : `subject ${id}`;
    if (!(await confirmAction(`Delete ${name} and all of their faces? This cannot be undone.`, 'Delete subject'))) return;
    try {
      await del(inCollection(path), { signal });
      statusAfterNavigation(`Deleted ${name}.`);
      navigate('subjects');
    } catch (error) {
      showError(error);
    }
  }

  async function deleteFace(button) {
    clearMessages();
    const faceId = button.dataset.faceId;
    if (!(await confirmAction(`Delete face ${faceId}? The subject keeps its other faces.`, 'Delete face'))) return;
    try {
      await del(inCollection(`${path}/faces/${segment(faceId)}`), { signal });
      showStatus(`Deleted face ${faceId}.`);
      await load();
      facesTable.parentElement.focus(); // the button pressed is gone; keep the focus nearby
    } catch (error) {
      showError(error);
    }
  }

  $('subject-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('subject-save'), save);
  });
  metadataInput.addEventListener('input', () => metadataInput.removeAttribute('aria-invalid'));
  $('subject-delete').addEventListener('click', (event) => busy(event.currentTarget, deleteSubject));
  facesTable.addEventListener('click', (event) => {
    const button = event.target.closest('button.face-delete');
    if (button) busy(button, () => deleteFace(button));
  });

  facesTable.tBodies[0].replaceChildren(messageRow(facesTable, 'Loading…'));
  load();
}
