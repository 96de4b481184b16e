// Identify page: who is in a photo, or live in the webcam picture (about 3 frames a second,
// one request at a time).

import { post, formData } from './api.js';
import { cloneTemplate, h, busy } from './dom.js';
import { showStatus, showError, clearMessages } from './messages.js';
import { setUpLive } from './live.js';
import { drawPhoto } from './photo.js';
import { formatScore, plural } from './format.js';
import { withCollection } from './collection.js';

export const title = 'Identify';

export function render(view, { signal }) {
  view.append(cloneTemplate('tpl-identify'));
  const $ = (id) => view.querySelector(`#${id}`);
  setUpUpload($, signal);
  const live = setUpLiveIdentify($, signal);
  return () => live.stop();
}

// The best candidate's name, or "unknown" when no subject is above the threshold.
function faceName(face) {
  const best = face.candidates && face.candidates[0];
  return best ? best.name : 'unknown';
}

function resultItem(face, index) {
  const best = face.candidates && face.candidates[0];
  const name = faceName(face);
  const detail = best
    ? ` (subject ${best.subject_id}), similarity ${formatScore(best.similarity_score)}`
    : ': no enrolled subject above the threshold';
  const others = (face.candidates || []).slice(1)
    .map((candidate) => `${candidate.name} ${formatScore(candidate.similarity_score)}`);
  return h('li', { class: best ? 'known' : '', dataset: { name, similarity: best ? best.similarity_score : null } },
    `Face ${index + 1}: `, h('span', { class: 'name' }, name), detail,
    others.length ? `; also ${others.join(', ')}` : '');
}

function boxLabel(face) {
  const best = face.candidates && face.candidates[0];
  return best ? `${best.name} ${formatScore(best.similarity_score)}` : 'unknown';
}

// drawBoxes' faces: named ones green, unknown ones amber.
function boxesOf(faces) {
  return faces.map((face) => ({ bbox: face.bbox, label: boxLabel(face), good: Boolean(face.candidates && face.candidates.length) }));
}

function summary(answer) {
  const faces = answer.faces || [];
  if (!faces.length) return 'No face was found.';
  return `${plural(faces.length, 'face')}: ${faces.map(faceName).join(', ')} (threshold ${formatScore(answer.threshold_used)}).`;
}

function setUpUpload($, signal) {
  const input = $('identify-file');
  const results = $('identify-results');
  const photo = $('identify-photo');
  photo.width = 0;
  photo.height = 0;

  async function identify() {
    clearMessages();
    const file = input.files[0];
    if (!file) {
      showError(new Error('Choose a photo first.'));
      input.focus();
      return;
    }
    results.replaceChildren();
    showStatus('Identifying…');
    try {
      const answer = await post('/api/v1/identify', { form: formData(withCollection({ image: file })), signal });
      results.replaceChildren(...(answer.faces || []).map(resultItem));
      showStatus(summary(answer));
      await drawPhoto(photo, file, boxesOf(answer.faces || []));
    } catch (error) {
      showError(error);
    }
  }

  $('identify-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('identify-upload'), identify);
  });
}

// Live identify: the shared webcam loop of live.js, asking /api/v1/identify.
function setUpLiveIdentify($, signal) {
  return setUpLive({
    video: $('identify-video'),
    overlay: $('identify-overlay'),
    results: $('identify-live-results'),
    startButton: $('identify-live-start'),
    stopButton: $('identify-live-stop'),
    signal,
    label: 'Live identify',
    send: (blob, loopSignal) => post('/api/v1/identify', { form: formData(withCollection({ image: blob })), signal: loopSignal }),
    describe: (answer) => {
      const faces = answer.faces || [];
      return { boxes: boxesOf(faces), items: faces.map(resultItem) };
    },
  });
}
