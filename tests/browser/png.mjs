// A small PNG reader for checking screenshots: 8-bit RGB or RGBA, not interlaced (what
// Chromium writes), decoded with Node's zlib. Anything else is refused with a clear error.

import { inflateSync } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Decodes `bytes`: `{width, height, channels, pixels}` (pixels: RGB(A) rows, unfiltered). */
export function decodePng(bytes) {
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG file");
  let offset = 8;
  let header = null;
  const data = [];
  while (offset + 8 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString("latin1", offset + 4, offset + 8);
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (body.length !== length) throw new Error(`PNG chunk ${type} is cut short`);
    if (type === "IHDR") {
      header = {
        width: body.readUInt32BE(0),
        height: body.readUInt32BE(4),
        depth: body[8],
        colour: body[9],
        interlace: body[12],
      };
    } else if (type === "IDAT") {
      data.push(body);
    } else if (type === "IEND") {
      break;
    }
    offset += 12 + length;
  }
  if (!header) throw new Error("PNG without IHDR");
  const channels = { 2: 3, 6: 4 }[header.colour];
  if (header.depth !== 8 || !channels || header.interlace !== 0) {
    throw new Error(`unsupported PNG: depth ${header.depth}, colour type ${header.colour}, interlace ${header.interlace}`);
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = header.width * channels;
  if (raw.length !== (stride + 1) * header.height) throw new Error("PNG image data has the wrong length");
  const pixels = Buffer.alloc(stride * header.height);
  for (let y = 0; y < header.height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[out + x - channels] : 0;
      const b = y > 0 ? pixels[out - stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[out - stride + x - channels] : 0;
      let predicted;
      switch (filter) {
        case 0: predicted = 0; break;
        case 1: predicted = a; break;
        case 2: predicted = b; break;
        case 3: predicted = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`PNG row filter ${filter} is unknown`);
      }
      pixels[out + x] = (line[x] + predicted) & 0xff;
    }
  }
  return { width: header.width, height: header.height, channels, pixels };
}

/**
 * Figures of an image: the variance of its grey levels, and the share of pixels that differ
 * from `background` (RGB) by more than 24 in some channel.
 */
export function imageStats(image, background = [255, 255, 255]) {
  const { pixels, channels } = image;
  const n = image.width * image.height;
  let sum = 0;
  let sumSq = 0;
  let differing = 0;
  for (let i = 0; i < n; i++) {
    const r = pixels[i * channels];
    const g = pixels[i * channels + 1];
    const b = pixels[i * channels + 2];
    const grey = 0.299 * r + 0.587 * g + 0.114 * b;
    sum += grey;
    sumSq += grey * grey;
    if (Math.abs(r - background[0]) > 24 || Math.abs(g - background[1]) > 24 || Math.abs(b - background[2]) > 24) {
      differing += 1;
    }
  }
  const mean = sum / n;
  return { variance: sumSq / n - mean * mean, differingShare: differing / n };
}
