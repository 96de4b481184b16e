// Face boxes drawn over a camera preview. The canvas has the frame's size (boxes come in
// frame pixels) and CSS stretches it over the video. The video is mirrored by CSS, the
// canvas is not: boxes are mirrored here so that their labels stay readable.

const GOOD = '#22c55e';
const OTHER = '#f59e0b';

export function clearOverlay(canvas) {
  canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
}

// faces: [{ bbox: [x1, y1, x2, y2], label, good }] in a frame of frameWidth × frameHeight.
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
    if (face.label) drawLabel(context, face.label, left, y1, colour);
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
