/**
 * Trial checkpoints, written at every evaluation point so a killed run resumes where its last point
 * left off: the model's tensors (parameters, buffers, optimizer and target state) and the runner's own
 * state. One file per trial: a magic, a JSON header (runner state, tensor names, shapes and offsets),
 * then float32 data; written to a temporary file and renamed (the temporary removed if the write fails).
 */
import fs from 'node:fs';
import * as tf from '../../engine/tf.js';
import { writeFileAtomic } from '../results/store.js';

const MAGIC = 'SSLBCKP1';

export interface CheckpointFile<S> {
  state: S;
  counters: Record<string, number>;
  tensors: Record<string, tf.Tensor>;
}

export async function saveCheckpoint<S>(
  file: string,
  state: S,
  counters: Record<string, number>,
  tensors: Record<string, tf.Tensor>,
): Promise<void> {
  const entries: { name: string; shape: number[]; offset: number; length: number }[] = [];
  const arrays: Float32Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const data = (await t.data()) as Float32Array;
    entries.push({ name, shape: t.shape, offset, length: data.length });
    arrays.push(data);
    offset += data.length;
  }
  const header = Buffer.from(JSON.stringify({ state, counters, entries }));
  const headerLength = Buffer.alloc(4);
  headerLength.writeUInt32LE(header.length);
  const pad = Buffer.alloc((4 - ((MAGIC.length + 4 + header.length) % 4)) % 4);
  const data = arrays.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  writeFileAtomic(file, [Buffer.from(MAGIC), headerLength, header, pad, ...data]);
}

/** Reads a checkpoint (the caller disposes the tensors); null when there is none. */
export function loadCheckpoint<S>(file: string): CheckpointFile<S> | null {
  if (!fs.existsSync(file)) return null;
  const buf = fs.readFileSync(file);
  if (buf.subarray(0, MAGIC.length).toString() !== MAGIC)
    throw new Error(`${file} is not a checkpoint of this harness; delete it to restart the trial`);
  const headerLength = buf.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  const header = JSON.parse(buf.subarray(start, start + headerLength).toString());
  let dataStart = start + headerLength;
  dataStart += (4 - (dataStart % 4)) % 4;
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset + dataStart, buf.byteOffset + buf.length));
  const tensors: Record<string, tf.Tensor> = {};
  for (const e of header.entries as { name: string; shape: number[]; offset: number; length: number }[]) {
    if (e.offset + e.length > floats.length) throw new Error(`${file} is truncated; delete it to restart the trial`);
    tensors[e.name] = tf.tensor(floats.subarray(e.offset, e.offset + e.length), e.shape);
  }
  return { state: header.state as S, counters: header.counters, tensors };
}
