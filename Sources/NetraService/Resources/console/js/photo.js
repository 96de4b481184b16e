// An uploaded photo drawn with its faces' boxes (identify, detect), from memory: no object
// URL to leak, nothing kept.

import { paintBoxes } from './overlay.js';

export const PHOTO_MAX_WIDTH = 640;

// boxes are drawBoxes' faces ({ bbox, label, good, landmarks }) in the pixels of the image
// the server decoded: width × height when the answer gives them (detect's), else the
// browser's own decoding of the file. Resolves false when the browser cannot decode the
// file (the page's list says it all then).
export async function drawPhoto(canvas, file, boxes, { width, height, maxWidth = PHOTO_MAX_WIDTH } = {}) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return false;
  }
  const imageWidth = width || bitmap.width;
  const imageHeight = height || bitmap.height;
  const scale = Math.min(1, maxWidth / imageWidth);
  canvas.width = Math.max(1, Math.round(imageWidth * scale));
  canvas.height = Math.max(1, Math.round(imageHeight * scale));
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  context.save();
  context.scale(canvas.width / imageWidth, canvas.height / imageHeight);
  paintBoxes(context, boxes, { frameWidth: imageWidth });
  context.restore();
  return true;
}
