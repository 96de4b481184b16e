// Enroll page: faces for a subject by name, from photos (one request per file, in turn)
// or from the webcam, with a live quality check before the capture.

import { post, formData, ApiError } from './api.js';
import { cloneTemplate, h, busy } from './dom.js';
import { showStatus, showError, clearMessages, clearError, isAbort } from './messages.js';
import { panelCamera, cameraRunning, grabJpeg, wait } from './camera.js';
import { frameLoop } from './loop.js';
import { drawBoxes, clearOverlay } from './overlay.js';
import { assessFrame, faceSharpness } from './quality.js';
import { mountLiveness } from './liveness.js';
import { livenessSettings } from './info.js';
import { formatScore } from './format.js';
import { withCollection } from './collection.js';

export const title = 'Enroll';

const DETECT_INTERVAL_MS = 333;       // about 3 quality checks a second
const FRESH_FRAME_TIMEOUT_MS = 5000;  // after a liveness check, wait this long for a good frame

export function render(view, { signal }) {
  view.append(cloneTemplate('tpl-enroll'));
  const $ = (id) => view.querySelector(`#${id}`);
  const options = () => ({ force: $('enroll-force').checked, largest: $('enroll-largest').checked });

  // The subject name both panels enroll into; null (and an error) when empty.
  function subjectName() {
    const input = $('enroll-name');
    const name = input.value.trim();
    input.setAttribute('aria-invalid', String(!name));
    if (!name) {
      showError(new Error('Enter the subject name first.'));
      input.focus();
      return null;
    }
    return name;
  }

  const files = setUpFiles($, { signal, subjectName, options });
  const camera = setUpCamera($, view, { signal, subjectName, options });

  livenessSettings(signal).then((settings) => {
    camera.setLivenessRequired(settings.required_for_enroll);
    files.setLivenessRequired(settings.required_for_enroll);
    $('enroll-liveness-note').hidden = !settings.required_for_enroll;
  });

  return () => {
    files.cancel();
    camera.stop();
  };
}

// What an enroll answer says, for the operator.
function enrolledText(answer) {
  const subject = answer.subject || {};
  let text = `enrolled as face ${answer.face ? answer.face.id : '?'} of ${subject.name} (subject ${subject.id})`;
  const similar = answer.similar_subjects || [];
  if (similar.length) {
    text += `; it also looks like ${similar.map((s) => `subject ${s.subject_id} (${formatScore(s.similarity_score)})`).join(', ')}: the same person enrolled twice?`;
  }
  return text;
}

const filesNeedLiveness = () => Object.assign(
  new Error('This service requires the webcam\'s liveness check for every enrollment from the console, which photos cannot pass: enroll from the webcam.'),
  { code: 'liveness_required' });

const rejectedText = (error) => `rejected: ${error.message}${error.code ? ` (${error.code})` : ''}`;

function setUpFiles($, { signal, subjectName, options }) {
  const input = $('enroll-files');
  const button = $('enroll-upload');
  const progress = $('enroll-progress');
  const results = $('enroll-results');
  const livenessNote = $('enroll-files-liveness');
  let cancelled = false;
  let livenessRequired = false;

  // With liveness.required_for_enroll every photo would only be refused (403
  // liveness_required: a photo cannot pass the webcam's check), so the panel is off.
  function setLivenessRequired(value) {
    livenessRequired = Boolean(value);
    input.disabled = livenessRequired;
    button.disabled = livenessRequired;
    livenessNote.hidden = !livenessRequired;
  }

  async function enrollAll() {
    clearMessages();
    const name = subjectName();
    if (!name) return;
    const chosen = [...input.files];
    if (!chosen.length) {
      showError(new Error('Choose one or more photos.'));
      input.focus();
      return;
    }
    results.replaceChildren();
    progress.max = chosen.length;
    progress.value = 0;
    let enrolled = 0;
    let answered = 0;
    for (const [index, file] of chosen.entries()) {
      if (cancelled) return;
      if (livenessRequired) break; // the service said so meanwhile: the rest would be refused too
      showStatus(`Enrolling photo ${index + 1} of ${chosen.length} (${file.name})…`);
      const item = h('li', { dataset: { file: file.name } });
      try {
        const answer = await post('/api/v1/enroll', { form: formData(withCollection({ name, image: file, ...options() })), signal });
        item.dataset.result = 'enrolled';
        item.append(h('span', { class: 'name' }, file.name), `: ${enrolledText(answer)}`);
        enrolled += 1;
      } catch (error) {
        if (isAbort(error) || error.handled) return; // page left or signed out
        item.dataset.result = 'rejected';
        item.append(h('span', { class: 'name' }, file.name), `: ${rejectedText(error)}`);
        if (error.code === 'liveness_required') setLivenessRequired(true);
      }
      results.append(item);
      answered = index + 1;
      progress.value = answered;
    }
    input.value = ''; // the browser drops its hold on the files
    const rejected = answered - enrolled;
    const skipped = chosen.length - answered;
    showStatus(`${enrolled} of ${chosen.length} photos enrolled for ${name}${rejected ? `; ${rejected} rejected (see the list)` : ''}${skipped ? `; ${skipped} not sent` : ''}.`);
    if (skipped) showError(filesNeedLiveness());
  }

  $('enroll-files-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (livenessRequired) {
      clearMessages();
      showError(filesNeedLiveness());
      return;
    }
    busy(button, enrollAll).finally(() => setLivenessRequired(livenessRequired)); // busy() re-enables the button
  });
  return { cancel() { cancelled = true; }, setLivenessRequired };
}

function setUpCamera($, view, { signal, subjectName, options }) {
  const video = $('enroll-video');
  const overlay = $('enroll-overlay');
  const quality = $('enroll-quality');
  const startButton = $('enroll-camera-start');
  const stopButton = $('enroll-camera-stop');
  const captureButton = $('enroll-capture');
  const result = $('enroll-camera-result');
  const frameCanvas = document.createElement('canvas');
  const sampleCanvas = document.createElement('canvas');
  let loop = null;           // the quality loop; at most one, and only while the camera runs
  let goodFrame = null;     // the JPEG of the last frame that passed every check
  let goodFrameWaiters = [];
  let capturing = false;
  let loopFailed = false;

  // The start button and the liveness check's ensureCamera share one start (panelCamera):
  // one getUserMedia, one stream, one quality loop.
  const camera = panelCamera(video, signal, {
    started() {
      if (loop) loop.stop();
      stopButton.disabled = false;
      showQuality(null, 'Looking for a face…');
      loop = frameLoop(checkFrame, DETECT_INTERVAL_MS, signal);
    },
  });

  const liveness = mountLiveness(view.querySelector('.liveness-slot'), {
    video, signal, ensureCamera: start,
    onBusy: (isBusy) => (isBusy ? loop && loop.pause() : loop && loop.resume()),
  });

  async function start() {
    startButton.disabled = true;
    try {
      await camera.start();
    } catch (error) {
      if (!camera.running && !camera.starting) startButton.disabled = false;
      throw error;
    }
  }

  function stop() {
    if (loop) loop.stop();
    loop = null;
    camera.stop();
    clearOverlay(overlay);
    setGoodFrame(null);
    startButton.disabled = false;
    stopButton.disabled = true;
    showQuality(null, 'Camera stopped.');
  }

  // One quality check: the frame to /api/v1/detect, then size, confidence and sharpness.
  // loopSignal is the loop's: aborted by Stop, which also cancels the request in flight.
  async function checkFrame(loopSignal) {
    if (!cameraRunning(video)) return 0;
    const frame = await grabJpeg(video, frameCanvas);
    if (loopSignal.aborted) return 0;
    let detection;
    try {
      detection = await post('/api/v1/detect', { form: formData({ image: frame.blob }), signal: loopSignal });
    } catch (error) {
      if (isAbort(error) || error.handled || loopSignal.aborted) throw error;
      loopFailed = true;
      showError(error);
      setGoodFrame(null);
      showQuality(null, 'The picture could not be checked.');
      return error instanceof ApiError && error.retryAfter ? error.retryAfter * 1000 : 0;
    }
    if (loopSignal.aborted) return 0; // stopped while the answer was on its way: no good frame now
    if (loopFailed) { clearError(); loopFailed = false; }
    const faces = detection.faces || [];
    const sharpness = faces.length === 1 ? faceSharpness(frameCanvas, faces[0].bbox, sampleCanvas) : 0;
    const verdict = assessFrame(detection, sharpness);
    setGoodFrame(verdict.ok ? frame.blob : null);
    showQuality(verdict);
    drawBoxes(overlay, faces.map((face) => ({
      bbox: face.bbox, good: verdict.ok,
      label: `${Math.min(face.bbox[2] - face.bbox[0], face.bbox[3] - face.bbox[1])} px`, // the size the server checks
    })), { frameWidth: frame.width, frameHeight: frame.height, mirrored: true });
    return 0;
  }

  function setGoodFrame(blob) {
    goodFrame = blob;
    if (blob) {
      for (const resolve of goodFrameWaiters) resolve(blob);
      goodFrameWaiters = [];
    }
  }

  // The next frame that passes the checks, or null after timeoutMs.
  function nextGoodFrame(timeoutMs) {
    return new Promise((resolve) => {
      goodFrameWaiters.push(resolve);
      wait(timeoutMs, signal).then(() => resolve(null), () => resolve(null));
    });
  }

  function showQuality(verdict, text) {
    const ok = Boolean(verdict && verdict.ok);
    quality.dataset.ok = String(ok);
    if (verdict) {
      quality.replaceChildren(h('ul', { 'aria-label': 'Picture checks' },
        verdict.checks.map((check) => h('li', { class: check.ok ? 'ok' : 'bad', dataset: { check: check.name } }, check.text))));
    } else {
      quality.replaceChildren(h('p', { class: 'muted' }, text || ''));
    }
    captureButton.disabled = !ok || capturing;
  }

  async function capture() {
    clearMessages();
    const name = subjectName();
    if (!name) return;
    let frame = goodFrame;
    const withLiveness = liveness.required || liveness.hasPassed();
    if (withLiveness && !liveness.hasPassed()) {
      showStatus('A liveness check comes first.');
      if (!(await liveness.run())) return;
      setGoodFrame(null);
      frame = await nextGoodFrame(FRESH_FRAME_TIMEOUT_MS); // the face after the head moves
    }
    // The frame first: a pass is spent only with a frame to send, so a failed grab keeps it.
    if (!frame) {
      showError(new Error(`No frame passed the checks: face the camera, closer and still.${
        liveness.hasPassed() ? ' The passed liveness check is kept for the next capture.' : ''}`));
      return;
    }
    const challenge = withLiveness ? liveness.takePassed() : null;
    showStatus('Enrolling the captured frame…');
    result.replaceChildren();
    delete result.dataset.result;
    try {
      const form = formData(withCollection({
        name, image: new File([frame], 'capture.jpg', { type: 'image/jpeg' }), ...options(), liveness_challenge: challenge,
      }));
      const answer = await post('/api/v1/enroll', { form, signal });
      result.dataset.result = 'enrolled';
      result.replaceChildren(h('p', { class: 'verdict' }, 'Enrolled'), h('p', {}, `The frame was ${enrolledText(answer)}.`));
      showStatus(`Enrolled a face for ${answer.subject ? answer.subject.name : name}.`);
    } catch (error) {
      if (isAbort(error) || error.handled) return;
      if (error.code === 'liveness_required') liveness.setRequired(true);
      result.dataset.result = 'rejected';
      result.replaceChildren(h('p', { class: 'verdict' }, 'Rejected'), h('p', {}, `The frame was ${rejectedText(error)}.`));
      showError(error);
    }
  }

  startButton.addEventListener('click', () => {
    clearMessages();
    start().catch(showError);
  });
  stopButton.addEventListener('click', stop);
  captureButton.addEventListener('click', async () => {
    capturing = true;
    captureButton.disabled = true;
    try {
      await capture();
    } finally {
      capturing = false;
      captureButton.disabled = quality.dataset.ok !== 'true';
    }
  });

  return {
    stop,
    setLivenessRequired: (value) => liveness.setRequired(value),
  };
}
