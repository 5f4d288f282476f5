/**
 * The one place the project imports TensorFlow.js from.
 *
 * tfjs-core's Node bundle ships no gradient definitions; the `@tensorflow/tfjs` union package registers
 * them (and the cpu backend) when loaded. Ops, types and the engine all come from the single tfjs-core
 * instance both resolve to.
 */
import '@tensorflow/tfjs';

export * from '@tensorflow/tfjs-core';
