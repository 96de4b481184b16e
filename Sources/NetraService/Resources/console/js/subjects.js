// Subjects page: search by name as you type, page through, create one.

import { get, post } from './api.js';
import { cloneTemplate, h, messageRow, debounce, busy } from './dom.js';
import { showStatus, showError, clearMessages, isAbort } from './messages.js';
import { formatDate, formatCount } from './format.js';
import { inCollection } from './collection.js';

export const title = 'Subjects';

const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 250;

export function render(view, { signal, navigate }) {
  view.append(cloneTemplate('tpl-subjects'));
  const $ = (id) => view.querySelector(`#${id}`);
  const table = $('subject-table');
  const search = $('subject-search');
  const prev = $('subjects-prev');
  const next = $('subjects-next');
  const range = $('subjects-range');
  const state = { name: '', offset: 0, total: 0 };
  let latest = null; // the search in flight; an older answer is dropped
  // Leaving the page cancels the search in flight (one listener for the page, not one per
  // keystroke).
  signal.addEventListener('abort', () => { if (latest) latest.abort(); }, { once: true });

  async function load() {
    if (latest) latest.abort();
    if (signal.aborted) return;
    const controller = new AbortController();
    latest = controller;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.offset) });
    if (state.name) query.set('name', state.name);
    try {
      const page = await get(inCollection(`/api/v1/subjects?${query}`), { signal: controller.signal });
      if (latest !== controller) return;
      state.total = page.total;
      showRows(page.subjects || []);
      showRange(page);
    } catch (error) {
      if (!isAbort(error)) showError(error);
    }
  }

  function showRows(subjects) {
    const body = table.tBodies[0];
    if (!subjects.length) {
      body.replaceChildren(messageRow(table, state.name ? `No subject's name contains “${state.name}”.` : 'No subjects yet.'));
      return;
    }
    body.replaceChildren(...subjects.map((subject) => h('tr', { dataset: { subjectId: subject.id } },
      h('td', {}, h('a', { href: `#/subjects/${subject.id}` }, subject.name)),
      h('td', {}, String(subject.id)),
      h('td', {}, formatCount(subject.face_count)),
      h('td', {}, formatDate(subject.created_at)),
      h('td', {}, formatDate(subject.updated_at)))));
  }

  function showRange(page) {
    const count = (page.subjects || []).length;
    range.textContent = page.total
      ? `${page.offset + 1}–${page.offset + count} of ${page.total}`
      : '0 subjects';
    prev.disabled = state.offset <= 0;
    next.disabled = state.offset + PAGE_SIZE >= page.total;
  }

  const searchLater = debounce(() => {
    state.name = search.value.trim();
    state.offset = 0;
    load();
  }, SEARCH_DELAY_MS);

  search.addEventListener('input', searchLater);
  prev.addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    load();
  });
  next.addEventListener('click', () => {
    state.offset += PAGE_SIZE;
    load();
  });
  // The whole row opens the subject for a mouse; the keyboard uses the link in it.
  table.tBodies[0].addEventListener('click', (event) => {
    const row = event.target.closest('tr[data-subject-id]');
    if (row && !event.target.closest('a')) navigate(`subjects/${row.dataset.subjectId}`);
  });

  const nameInput = $('subject-create-name');
  $('subject-create-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('subject-create'), async () => {
      clearMessages();
      const name = nameInput.value.trim();
      if (!name) {
        showError(new Error('Enter a name for the new subject.'));
        nameInput.focus();
        return;
      }
      try {
        const subject = await post(inCollection('/api/v1/subjects'), { json: { name }, signal });
        nameInput.value = '';
        showStatus(`Created subject “${subject.name}” (ID ${subject.id}).`);
        await load();
      } catch (error) {
        showError(error);
      }
    });
  });

  table.tBodies[0].replaceChildren(messageRow(table, 'Loading…'));
  load();
  return () => searchLater.cancel();
}
