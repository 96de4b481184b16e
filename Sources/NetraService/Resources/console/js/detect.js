// Detect page: where the faces are in a photo, or live in the webcam picture (about 3 frames
// a second, one request at a time): each face's box, its five landmarks, the detector's
// confidence and how far the head is turned. Nothing is compared with enrolled subjects,
// and neither the page nor NETRA keeps the pictures.

import { post, formData } from './api.js';
import { cloneTemplate, h, busy } from './dom.js';
import { showStatus, showError, clearMessages } from './messages.js';
import { setUpLive } from './live.js';
import { drawPhoto } from './photo.js';
import { headYaw, turnOf } from './pose.js';
import { livenessSettings } from './info.js';
import { formatScore, plural } from './format.js';

export const title = 'Detect';

const DEFAULT_TURN_YAW = 0.10;   // liveness.turn_yaw's default, when /api/v1/info does not say

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
  const live = setUpLiveDetect($, signal, turnYaw);
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
      await drawPhoto(canvas, file, boxes(faces, yawLimit, { withTurn: false }), { width: answer.width, height: answer.height });
    } catch (error) {
      showError(error);
    }
  }

  $('detect-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('detect-submit'), detect);
  });
}

// Live detect: the shared webcam loop of live.js, asking /api/v1/detect.
function setUpLiveDetect($, signal, turnYaw) {
  return setUpLive({
    video: $('detect-video'),
    overlay: $('detect-overlay'),
    results: $('detect-live-results'),
    startButton: $('detect-live-start'),
    stopButton: $('detect-live-stop'),
    signal,
    label: 'Live detect',
    send: (blob, loopSignal) => post('/api/v1/detect', { form: formData({ image: blob }), signal: loopSignal }),
    describe: async (answer) => {
      const faces = answer.faces || [];
      const yawLimit = await turnYaw;
      return {
        boxes: boxes(faces, yawLimit, { withTurn: true }),
        items: resultItems(faces, yawLimit, 'No face in the picture.'),
      };
    },
  });
}
