/**
 * The body of one augmentation worker thread (started by AugmentPool through worker_boot.mjs): a request
 * names the images, the recipe and the seed of the batch's random stream; the answer hands back the views'
 * buffers without a copy. Same seed, same crops as augmentBatch on the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { Rng } from '../../engine/random.js';
import { augmentBatch } from './pipeline.js';
import type { AugmentRequest, AugmentResponse } from './augment_pool.js';

const port = parentPort;
if (!port) throw new Error('datasets/augment/worker.ts runs only as a worker thread (see AugmentPool)');
port.on('message', (request: AugmentRequest) => {
  let response: AugmentResponse;
  try {
    const batch = augmentBatch(request.images, request.count, request.height, request.width, request.recipe, new Rng(request.seed));
    response = { id: request.id, batch };
  } catch (e) {
    response = { id: request.id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(response, response.batch ? response.batch.views.map((v) => v.data.buffer as ArrayBuffer) : []);
});
