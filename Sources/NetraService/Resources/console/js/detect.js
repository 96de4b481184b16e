// Detect page: where the faces are in a photo, or live in the webcam picture (about 3 frames
// a second, one request at a time): each face's box, its five landmarks, the detector's
// confidence and how far the head is turned. Nothing is compared with enrolled subjects,
// and neither the page nor NETRA keeps the pictures.

import { post, formData, ApiError } from './api.js';
import { cloneTemplate, h, busy } from './dom.js';
import { showStatus, showError, clearMessages, clearError, isAbort } from './messages.js';
import { startCamera, stopCamera, cameraRunning, grabJpeg } from './camera.js';
import { frameLoop } from './loop.js';
import { drawBoxes, clearOverlay, paintBoxes } from './overlay.js';
import { livenessSettings } from './info.js';
import { formatScore, plural } from './format.js';

export const title = 'Detect';

const LIVE_INTERVAL_MS = 333;
const PHOTO_MAX_WIDTH = 640;     // the drawing of an uploaded photo
const DEFAULT_TURN_YAW = 0.10;   // liveness.turn_yaw's default, when /api/v1/info does not say

// HeadPose.yaw of the server (Sources/NetraIdentity/Liveness/HeadPose.swift), step for step:
// the offset of the nose base (point 4) from the midpoint of the two eye centres (points 0, 1
// the eye on the image's right, 2, 3 the eye on the image's left), measured along the line
// through the eyes, in inter-eye distances. 0 is frontal; positive is a turn to the person's
// own left (in the unmirrored image the nose moves to the image's right). null when there
// are not five points or the eyes coincide.
export function headYaw(landmarks) {
  if (!Array.isArray(landmarks) || landmarks.length !== 5) return null;
  const p = landmarks.map((point) => (Array.isArray(point) ? [Number(point[0]), Number(point[1])] : [Number(point.x), Number(point.y)]));
  if (p.some(([x, y]) => !Number.isFinite(x) || !Number.isFinite(y))) return null;
  const rightEye = { x: (p[0][0] + p[1][0]) / 2, y: (p[0][1] + p[1][1]) / 2 };
  const leftEye = { x: (p[2][0] + p[3][0]) / 2, y: (p[2][1] + p[3][1]) / 2 };
  const axis = { x: rightEye.x - leftEye.x, y: rightEye.y - leftEye.y };
  const eyeDistance = Math.sqrt(axis.x * axis.x + axis.y * axis.y);
  if (!(eyeDistance > 0)) return null;
  const middle = { x: (rightEye.x + leftEye.x) / 2, y: (rightEye.y + leftEye.y) / 2 };
  const nose = { x: p[4][0] - middle.x, y: p[4][1] - middle.y };
  return (nose.x * axis.x + nose.y * axis.y) / (eyeDistance * eyeDistance);
}

// 'left', 'right' (the person's own), 'frontal', or 'unknown', by the liveness rule: turned
// at |yaw| >= turn_yaw.
export function turnOf(yaw, turnYaw) {
  if (yaw === null) return 'unknown';
  if (yaw >= turnYaw) return 'left';
  if (yaw <= -turnYaw) return 'right';
  return 'frontal';
}

const signed = (value) => `${value < 0 ? '−' : '+'}${Math.abs(value).toFixed(2)}`;

function turnText(turn, yaw) {
  switch (turn) {
    case 'left': return `turned left (to the person's own left; yaw ${signed(yaw)})`;
    case 'right': return `turned right (to the person's own right; yaw ${signed(yaw)})`;
    case 'frontal': return `frontal (yaw ${signed(yaw)})`;
    default: return 'pose unknown (the landmarks do not give one)';
  }
}

const shortTurn = { left: 'turned left', right: 'turned right', frontal: 'frontal', unknown: '' };

function faceItem(face, index, turnYaw) {
  const [x1, y1, x2, y2] = face.bbox;
  const yaw = headYaw(face.landmarks);
  const turn = turnOf(yaw, turnYaw);
  return h('li', {
    dataset: {
      face: index + 1, bbox: face.bbox.join(','), confidence: face.confidence,
      yaw: yaw === null ? null : yaw.toFixed(3), turn,
    },
  },
  h('span', { class: 'name' }, `Face ${index + 1}`),
  `: ${x2 - x1} × ${y2 - y1} px at (${x1}, ${y1}), confidence ${formatScore(face.confidence)}, head ${turnText(turn, yaw)}`);
}

function resultItems(faces, turnYaw, none) {
  if (!faces.length) return [h('li', { class: 'empty' }, none)];
  return faces.map((face, index) => faceItem(face, index, turnYaw));
}

function boxes(faces, turnYaw, { withTurn }) {
  return faces.map((face, index) => {
    const turn = shortTurn[turnOf(headYaw(face.landmarks), turnYaw)];
    return {
      bbox: face.bbox, landmarks: face.landmarks, good: true,
      label: withTurn && turn ? `${index + 1}: ${turn}` : String(index + 1),
    };
  });
}

export function render(view, { signal }) {
  view.append(cloneTemplate('tpl-detect'));
  const $ = (id) => view.querySelector(`#${id}`);
  // liveness.turn_yaw from GET /api/v1/info (asked once per session).
  const turnYaw = livenessSettings(signal).then((settings) => {
    const value = Number(settings.turn_yaw);
    return Number.isFinite(value) && value > 0 ? value : DEFAULT_TURN_YAW;
  }, () => DEFAULT_TURN_YAW);
  turnYaw.then((value) => {
    const help = $('detect-yaw-help');
    if (help) help.textContent = `A head counts as turned at a yaw of ±${value.toFixed(2)} or more (the service's liveness.turn_yaw); left and right are the person's own.`;
  });
  setUpPhoto($, signal, turnYaw);
  const live = setUpLive($, signal, turnYaw);
  return () => live.stop();
}

function setUpPhoto($, signal, turnYaw) {
  const input = $('detect-file');
  const upsample = $('detect-upsample');
  const results = $('detect-results');
  const canvas = $('detect-canvas');
  canvas.width = 0;
  canvas.height = 0;

  async function detect() {
    clearMessages();
    const file = input.files[0];
    if (!file) {
      showError(new Error('Choose a photo first.'));
      input.focus();
      return;
    }
    results.replaceChildren();
    canvas.width = 0;
    canvas.height = 0;
    showStatus('Finding the faces…');
    try {
      const answer = await post('/api/v1/detect', {
        form: formData({ image: file, upsample: upsample.value || null }), signal,
      });
      const faces = answer.faces || [];
      const yawLimit = await turnYaw;
      results.replaceChildren(...resultItems(faces, yawLimit, 'No face was found.'));
      showStatus(faces.length
        ? `${plural(faces.length, 'face')} found in ${file.name}.`
        : `No face was found in ${file.name}${upsample.value === '2' ? '' : '; upsampling finds smaller faces'}.`);
      await drawPhoto(canvas, file, answer, boxes(faces, yawLimit, { withTurn: false }));
    } catch (error) {
      showError(error);
    }
  }

  $('detect-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('detect-submit'), detect);
  });
}

// The photo with its boxes and landmarks, drawn from memory (no object URL, nothing kept).
// The boxes are in the pixels of the image the server decoded (answer.width × height).
async function drawPhoto(canvas, file, answer, faces) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return; // the browser cannot decode it; the list says it all
  }
  const width = answer.width || bitmap.width;
  const height = answer.height || bitmap.height;
  const scale = Math.min(1, PHOTO_MAX_WIDTH / width);
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  context.save();
  context.scale(canvas.width / width, canvas.height / height);
  paintBoxes(context, faces, { frameWidth: width });
  context.restore();
}

function setUpLive($, signal, turnYaw) {
  const video = $('detect-video');
  const overlay = $('detect-overlay');
  const results = $('detect-live-results');
  const startButton = $('detect-live-start');
  const stopButton = $('detect-live-stop');
  const frameCanvas = document.createElement('canvas');
  let loop = null;
  let loopFailed = false;

  async function detectFrame() {
    if (!cameraRunning(video)) return 0;
    const frame = await grabJpeg(video, frameCanvas);
    let answer;
    try {
      answer = await post('/api/v1/detect', { form: formData({ image: frame.blob }), signal });
    } catch (error) {
      if (isAbort(error) || error.handled) throw error;
      loopFailed = true;
      showError(error);
      return error instanceof ApiError && error.retryAfter ? error.retryAfter * 1000 : 0;
    }
    const yawLimit = await turnYaw;
    if (!loop) return 0; // stopped while the answer was on its way
    if (loopFailed) { clearError(); loopFailed = false; }
    const faces = answer.faces || [];
    drawBoxes(overlay, boxes(faces, yawLimit, { withTurn: true }),
      { frameWidth: frame.width, frameHeight: frame.height, mirrored: true });
    results.replaceChildren(...resultItems(faces, yawLimit, 'No face in the picture.'));
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
    showStatus('Live detect is on.');
    loop = frameLoop(detectFrame, LIVE_INTERVAL_MS);
  }

  function stop() {
    const wasRunning = Boolean(loop);
    if (loop) loop.stop();
    loop = null;
    stopCamera(video);
    clearOverlay(overlay);
    startButton.disabled = false;
    stopButton.disabled = true;
    if (wasRunning && startButton.isConnected) showStatus('Live detect stopped.');
  }

  startButton.addEventListener('click', start);
  stopButton.addEventListener('click', stop);
  return { stop };
}
