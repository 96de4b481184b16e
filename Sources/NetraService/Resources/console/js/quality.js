// Is a webcam frame good enough to enroll? Exactly one face, big and confident enough for
// NETRA's enrollment rules, and sharp: the variance of a Laplacian over the face, a standard
// focus measure (a blurred or moving face has few strong edges, so a small variance).
//
// The size and confidence rules are the server's (Sources/NetraIdentity/Enrollment/
// Enroller.swift): min(box width, box height) >= model.enroll_min_face and confidence >=
// model.enroll_min_confidence. GET /api/v1/info does not give those settings, so their
// defaults are used here; a service configured otherwise still has the last word (422).

export const MIN_FACE_SIZE = 80;    // pixels of the 640×480 frame, the box's smaller side
export const MIN_CONFIDENCE = 0.5;
// Laplacian variance over the face at SHARPNESS_SAMPLE_WIDTH. Measured on 640×480 frames of
// the test photos: sharp 420-750, blurred by 2 px 65-170, by 3 px 26-42, by 5 px 11-18.
export const MIN_SHARPNESS = 50;
// The face box is scaled to this width before measuring, so that the measure does not grow
// or shrink with the distance to the camera.
export const SHARPNESS_SAMPLE_WIDTH = 80;

// RGBA bytes to luma (BT.601 weights).
export function toGrey(rgba, width, height) {
  const grey = new Float32Array(width * height);
  for (let i = 0, p = 0; i < grey.length; i += 1, p += 4) {
    grey[i] = 0.299 * rgba[p] + 0.587 * rgba[p + 1] + 0.114 * rgba[p + 2];
  }
  return grey;
}

// Variance of the 4-neighbour Laplacian over the inner pixels of a grey image.
export function laplacianVariance(grey, width, height) {
  if (width < 3 || height < 3) return 0;
  let sum = 0;
  let sumOfSquares = 0;
  let count = 0;
  for (let y = 1; y < height - 1; y += 1) {
    for (let x = 1; x < width - 1; x += 1) {
      const i = y * width + x;
      const value = grey[i - width] + grey[i + width] + grey[i - 1] + grey[i + 1] - 4 * grey[i];
      sum += value;
      sumOfSquares += value * value;
      count += 1;
    }
  }
  const mean = sum / count;
  return sumOfSquares / count - mean * mean;
}

// Sharpness of the face box [x1, y1, x2, y2] of a frame drawn in frameCanvas.
export function faceSharpness(frameCanvas, bbox, sampleCanvas = document.createElement('canvas')) {
  const [x1, y1, x2, y2] = bbox;
  const boxWidth = x2 - x1;
  const boxHeight = y2 - y1;
  if (boxWidth < 3 || boxHeight < 3) return 0;
  const width = SHARPNESS_SAMPLE_WIDTH;
  const height = Math.max(3, Math.round(boxHeight * (width / boxWidth)));
  sampleCanvas.width = width;
  sampleCanvas.height = height;
  const context = sampleCanvas.getContext('2d', { willReadFrequently: true });
  context.imageSmoothingQuality = 'high'; // area-like downscaling: no aliasing posing as detail
  context.drawImage(frameCanvas, x1, y1, boxWidth, boxHeight, 0, 0, width, height);
  const pixels = context.getImageData(0, 0, width, height).data;
  return laplacianVariance(toGrey(pixels, width, height), width, height);
}

// The verdict on one /api/v1/detect answer (and the sharpness of its one face):
// { ok, checks: [{ name, ok, text }] } for the operator.
export function assessFrame(detection, sharpness) {
  const faces = (detection && detection.faces) || [];
  const face = faces.length === 1 ? faces[0] : null;
  const faceWidth = face ? face.bbox[2] - face.bbox[0] : 0;
  const faceHeight = face ? face.bbox[3] - face.bbox[1] : 0;
  const faceSize = Math.min(faceWidth, faceHeight); // the server's rule: the smaller side
  const confidence = face ? face.confidence : 0;
  const sizeOk = faceSize >= MIN_FACE_SIZE;
  const checks = [
    { name: 'faces', ok: faces.length === 1, text: faceCountText(faces.length) },
    { name: 'size', ok: Boolean(face) && sizeOk,
      text: face ? `Face ${faceWidth} × ${faceHeight} px (${sizeOk ? 'ok' : `needs ${MIN_FACE_SIZE} px each way: come closer`})` : 'Face size: —' },
    { name: 'confidence', ok: Boolean(face) && confidence >= MIN_CONFIDENCE,
      text: face ? `Confidence ${confidence.toFixed(2)} (${confidence >= MIN_CONFIDENCE ? 'ok' : `needs ${MIN_CONFIDENCE}`})` : 'Confidence: —' },
    { name: 'sharpness', ok: Boolean(face) && sharpness >= MIN_SHARPNESS,
      text: face ? `Sharpness ${Math.round(sharpness)} (${sharpness >= MIN_SHARPNESS ? 'ok' : `needs ${MIN_SHARPNESS}: hold still, more light`})` : 'Sharpness: —' },
  ];
  return { ok: checks.every((check) => check.ok), faceWidth, faceHeight, faceSize, confidence, sharpness, checks };
}

function faceCountText(count) {
  if (count === 1) return 'One face (ok)';
  if (count === 0) return 'No face found';
  return `${count} faces: only one person, please`;
}
