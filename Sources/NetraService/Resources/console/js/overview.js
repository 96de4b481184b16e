// Overview: readiness (public /ready), the model and its threshold, counts, and for admin
// keys the most recent audit events.

import { get } from './api.js';
import { cloneTemplate, h, messageRow, pruneScopes, busy } from './dom.js';
import { showError, clearMessages } from './messages.js';
import { loadInfo } from './info.js';
import { can } from './session.js';
import { formatDate, formatCount } from './format.js';

export const title = 'Overview';

const AUDIT_LIMIT = 20;

export function render(view, { signal }) {
  view.append(cloneTemplate('tpl-overview'));
  pruneScopes(view, can);
  const $ = (id) => view.querySelector(`#${id}`);

  async function refresh(fresh) {
    await Promise.all([
      showReady($, signal),
      showInfo($, signal, fresh),
      can('admin') ? showAudit($('ov-audit'), signal) : null,
    ]);
  }

  $('ov-refresh').addEventListener('click', (event) => {
    clearMessages();
    busy(event.currentTarget, () => refresh(true));
  });
  refresh(true);
}

async function showReady($, signal) {
  try {
    const ready = await get('/ready', { signal, allowStatus: [503] });
    $('ov-ready').textContent = ready.status || 'unknown';
    $('ov-ready').dataset.status = ready.status || 'unknown';
    const details = [];
    if (typeof ready.index_size === 'number') details.push(`${formatCount(ready.index_size)} faces in the index`);
    if (ready.unreadable_faces) details.push(`${formatCount(ready.unreadable_faces)} unreadable faces`);
    if (Array.isArray(ready.problems) && ready.problems.length) details.push(ready.problems.join('; '));
    $('ov-ready-detail').textContent = details.length ? `(${details.join(', ')})` : '';
  } catch (error) {
    $('ov-ready').textContent = 'unreachable';
    showError(error);
  }
}

async function showInfo($, signal, fresh) {
  try {
    const info = await loadInfo({ fresh, signal });
    $('ov-model').textContent = info.model_version || '—';
    $('ov-threshold').textContent = `${info.threshold}${info.threshold_source ? ` (from ${info.threshold_source})` : ''}`;
    $('ov-subjects').textContent = formatCount(info.subject_count);
    $('ov-faces').textContent = formatCount(info.face_count);
    $('ov-liveness').textContent = livenessText(info.liveness);
  } catch (error) {
    showError(error);
  }
}

function livenessText(liveness) {
  if (!liveness) return '—';
  const needed = [liveness.required_for_enroll && 'enroll', liveness.required_for_verify && 'verify'].filter(Boolean);
  return needed.length ? `required for ${needed.join(' and ')}` : 'optional';
}

async function showAudit(table, signal) {
  const body = table.tBodies[0];
  try {
    const answer = await get(`/api/v1/audit?limit=${AUDIT_LIMIT}`, { signal });
    const events = answer.events || [];
    if (!events.length) {
      body.replaceChildren(messageRow(table, 'No audit events yet.'));
      return;
    }
    body.replaceChildren(...events.map((event) => h('tr', { dataset: { eventId: event.id } },
      h('td', { class: 'nowrap' }, formatDate(event.at)),
      h('td', {}, event.actor || '—'),
      h('td', {}, event.action || '—'),
      h('td', {}, event.subject_id ? String(event.subject_id) : '—'),
      h('td', {}, event.face_id ? String(event.face_id) : '—'),
      h('td', {}, event.result || '—'),
      h('td', {}, event.detail || ''))));
  } catch (error) {
    body.replaceChildren(messageRow(table, 'The audit log could not be read.'));
    showError(error);
  }
}
