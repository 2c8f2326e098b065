// Drawing on the overlay canvas: object masks, suggestion outlines, clicks and the box in progress.
import { decode } from "./rle.js";

const cache = new Map(); // counts string -> decoded mask

function maskOf(counts, height, width) {
  const key = `${height}x${width}:${counts}`;
  if (!cache.has(key)) {
    if (cache.size > 2000) cache.clear();
    cache.set(key, decode(counts, height, width));
  }
  return cache.get(key);
}

export function hexColor(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

// masks: [{counts, color: [r, g, b], visible}], drawn at alpha 0.5 with a full-colour border.
export function drawMasks(ctx, masks, height, width) {
  const image = ctx.createImageData(width, height);
  const px = image.data;
  for (const { counts, color, visible } of masks) {
    if (!visible) continue;
    const mask = maskOf(counts, height, width);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (!mask[i]) continue;
        const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 ||
          !mask[i - 1] || !mask[i + 1] || !mask[i - width] || !mask[i + width];
        const o = i * 4;
        px[o] = color[0]; px[o + 1] = color[1]; px[o + 2] = color[2]; px[o + 3] = edge ? 255 : 128;
      }
    }
  }
  ctx.putImageData(image, 0, 0);
}

export function drawSuggestions(ctx, suggestions, height, width) {
  ctx.save();
  ctx.strokeStyle = "rgba(255,255,255,0.9)";
  ctx.setLineDash([4, 3]);
  for (const s of suggestions) {
    const [x, y, w, h] = s.bbox;
    ctx.strokeRect(x + 0.5, y + 0.5, w, h);
  }
  ctx.restore();
}

export function suggestionAt(suggestions, x, y, height, width) {
  // the smallest suggestion holding the pixel
  let best = null;
  for (const s of suggestions) {
    const mask = maskOf(s.counts, height, width);
    if (mask[Math.floor(y) * width + Math.floor(x)] && (!best || s.area < best.area)) best = s;
  }
  return best;
}

export function drawClicks(ctx, clicks, color) {
  for (const { x, y, label } of clicks) {
    ctx.beginPath();
    ctx.arc(x, y, 5, 0, 2 * Math.PI);
    ctx.fillStyle = label ? "#2ecc40" : "#ff4136";
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = color;
    ctx.stroke();
  }
}

export function drawBox(ctx, box) {
  if (!box) return;
  ctx.save();
  ctx.strokeStyle = "#ffdc00";
  ctx.lineWidth = 2;
  ctx.strokeRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
  ctx.restore();
}
