// COCO RLE: decoding the compressed counts string into a row-major alpha mask.
// Runs alternate background / foreground, starting with background, over pixels in column-major
// order (down each column, then the next column).

export function countsFromString(text) {
  const counts = [];
  let p = 0;
  while (p < text.length) {
    let value = 0, shift = 0, more = true, c = 0;
    while (more) {
      c = text.charCodeAt(p++) - 48;
      value |= (c & 0x1f) << shift;
      more = (c & 0x20) !== 0;
      shift += 5;
    }
    if (c & 0x10) value |= -1 << shift; // sign of the last group
    if (counts.length > 2) value += counts[counts.length - 2];
    counts.push(value);
  }
  return counts;
}

// Uint8Array [height * width] (row-major), 1 inside the mask.
export function decode(counts, height, width) {
  const runs = typeof counts === "string" ? countsFromString(counts) : counts;
  const mask = new Uint8Array(height * width);
  let i = 0;
  runs.forEach((run, k) => {
    if (k % 2 === 1) {
      for (let j = i; j < i + run; j++) mask[(j % height) * width + Math.floor(j / height)] = 1;
    }
    i += run;
  });
  return mask;
}
