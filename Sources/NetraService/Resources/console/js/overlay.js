// Face boxes drawn over a camera preview. The canvas has the frame's size (boxes come in
// frame pixels) and CSS stretches it over the video. The video is mirrored by CSS, the
// canvas is not: boxes are mirrored here so that their labels stay readable.

const GOOD = '#22c55e';
const OTHER = '#f59e0b';
const LANDMARK = '#38bdf8';

export function clearOverlay(canvas) {
  canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
}

// faces: [{ bbox: [x1, y1, x2, y2], label, good, landmarks }] in a frame of frameWidth ×
// frameHeight; landmarks ([[x, y], ...], optional) are drawn as dots.
export function drawBoxes(canvas, faces, { frameWidth, frameHeight, mirrored = true }) {
  if (canvas.width !== frameWidth || canvas.height !== frameHeight) {
    canvas.width = frameWidth;
    canvas.height = frameHeight;
  }
  const context = canvas.getContext('2d');
  context.clearRect(0, 0, canvas.width, canvas.height);
  paintBoxes(context, faces, { frameWidth, mirrored });
}

// Paints boxes onto a context already holding the frame or photo (no clearing).
export function paintBoxes(context, faces, { frameWidth, mirrored = false }) {
  const lineWidth = Math.max(2, Math.round(frameWidth / 200));
  context.font = `${Math.max(12, Math.round(frameWidth / 32))}px system-ui, sans-serif`;
  context.textBaseline = 'bottom';
  for (const face of faces) {
    const [x1, y1, x2, y2] = face.bbox;
    const left = mirrored ? frameWidth - x2 : x1;
    const width = x2 - x1;
    const colour = face.good === false ? OTHER : GOOD;
    context.lineWidth = lineWidth;
    context.strokeStyle = colour;
    context.strokeRect(left, y1, width, y2 - y1);
    if (face.landmarks) paintPoints(context, face.landmarks, { frameWidth, mirrored, radius: Math.max(1.5, Math.min(lineWidth * 1.5, width / 24)) });
    if (face.label) drawLabel(context, face.label, left, y1, colour);
  }
}

// Dots with a dark ring, so that they show on light and dark skin and backgrounds alike.
function paintPoints(context, points, { frameWidth, mirrored, radius }) {
  context.fillStyle = LANDMARK;
  context.strokeStyle = 'rgba(0, 0, 0, 0.85)';
  context.lineWidth = Math.max(1, radius / 3);
  for (const point of points) {
    if (!Array.isArray(point) || point.length < 2) continue;
    const x = mirrored ? frameWidth - point[0] : point[0];
    context.beginPath();
    context.arc(x, point[1], radius, 0, Math.PI * 2);
    context.fill();
    context.stroke();
  }
}

function drawLabel(context, text, left, top, colour) {
  const padding = 4;
  const metrics = context.measureText(text);
  const height = parseInt(context.font, 10) + padding * 2;
  const y = Math.max(height, top);
  context.fillStyle = 'rgba(0, 0, 0, 0.75)';
  context.fillRect(left, y - height, metrics.width + padding * 2, height);
  context.fillStyle = colour;
  context.fillText(text, left + padding, y - padding);
}
