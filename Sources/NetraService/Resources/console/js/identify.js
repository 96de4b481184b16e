// Identify page: who is in a photo, or live in the webcam picture (about 3 frames a second,
// one request at a time).

import { post, formData, ApiError } from './api.js';
import { cloneTemplate, h, busy } from './dom.js';
import { showStatus, showError, clearMessages, clearError, isAbort } from './messages.js';
import { startCamera, stopCamera, cameraRunning, grabJpeg } from './camera.js';
import { frameLoop } from './loop.js';
import { drawBoxes, clearOverlay, paintBoxes } from './overlay.js';
import { formatScore, plural } from './format.js';
import { withCollection } from './collection.js';

export const title = 'Identify';

const LIVE_INTERVAL_MS = 333;
const PHOTO_MAX_WIDTH = 640; // the preview of an uploaded photo

export function render(view, { signal }) {
  view.append(cloneTemplate('tpl-identify'));
  const $ = (id) => view.querySelector(`#${id}`);
  setUpUpload($, signal);
  const live = setUpLive($, signal);
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
      await drawPhoto(photo, file, answer.faces || []);
    } catch (error) {
      showError(error);
    }
  }

  $('identify-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('identify-upload'), identify);
  });
}

// The uploaded photo with its boxes, drawn from memory (no object URL to leak).
async function drawPhoto(canvas, file, faces) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return; // the browser cannot decode it; the list says it all
  }
  const scale = Math.min(1, PHOTO_MAX_WIDTH / bitmap.width);
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  context.save();
  context.scale(scale, scale);
  paintBoxes(context, faces.map((face) => ({ bbox: face.bbox, label: boxLabel(face), good: Boolean(face.candidates && face.candidates.length) })),
    { frameWidth: canvas.width / scale });
  context.restore();
}

function setUpLive($, signal) {
  const video = $('identify-video');
  const overlay = $('identify-overlay');
  const results = $('identify-live-results');
  const startButton = $('identify-live-start');
  const stopButton = $('identify-live-stop');
  const frameCanvas = document.createElement('canvas');
  let loop = null;
  let loopFailed = false;

  async function identifyFrame() {
    if (!cameraRunning(video)) return 0;
    const frame = await grabJpeg(video, frameCanvas);
    let answer;
    try {
      answer = await post('/api/v1/identify', { form: formData(withCollection({ image: frame.blob })), signal });
    } catch (error) {
      if (isAbort(error) || error.handled) throw error;
      loopFailed = true;
      showError(error);
      return error instanceof ApiError && error.retryAfter ? error.retryAfter * 1000 : 0;
    }
    if (!loop) return 0; // stopped while the answer was on its way
    if (loopFailed) { clearError(); loopFailed = false; }
    const faces = answer.faces || [];
    drawBoxes(overlay, faces.map((face) => ({ bbox: face.bbox, label: boxLabel(face), good: Boolean(face.candidates && face.candidates.length) })),
      { frameWidth: frame.width, frameHeight: frame.height, mirrored: true });
    results.replaceChildren(...faces.map(resultItem));
    return 0;
  }

  async function start() {
    clearMessages();
    startButton.disabled = true;
    try {
      await startCamera(video, signal);
    } catch (error) {
      startButton.disabled = false;
      showError(error);
      return;
    }
    stopButton.disabled = false;
    showStatus('Live identify is on.');
    loop = frameLoop(identifyFrame, LIVE_INTERVAL_MS);
  }

  function stop() {
    const wasRunning = Boolean(loop);
    if (loop) loop.stop();
    loop = null;
    stopCamera(video);
    clearOverlay(overlay);
    startButton.disabled = false;
    stopButton.disabled = true;
    if (wasRunning && startButton.isConnected) showStatus('Live identify stopped.');
  }

  startButton.addEventListener('click', start);
  stopButton.addEventListener('click', stop);
  return { stop };
}
