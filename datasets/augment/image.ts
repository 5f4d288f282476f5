/**
 * A float RGB image in [0, 1], stored height x width x channels (HWC, the layout of one NHWC example).
 */
export interface Image {
  height: number;
  width: number;
  channels: number;
  data: Float32Array;
}

export function makeImage(height: number, width: number, channels = 3): Image {
  return { height, width, channels, data: new Float32Array(height * width * channels) };
}

/** From channels-first data (PyTorch's CHW). */
export function fromCHW(data: ArrayLike<number>, [channels, height, width]: number[]): Image {
  const img = makeImage(height, width, channels);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < height * width; i++) img.data[i * channels + c] = data[c * height * width + i];
  }
  return img;
}

export function toCHW(img: Image): Float32Array {
  const { height, width, channels } = img;
  const out = new Float32Array(height * width * channels);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < height * width; i++) out[c * height * width + i] = img.data[i * channels + c];
  }
  return out;
}
