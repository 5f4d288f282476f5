// Worker threads do not inherit tsx's loader from the thread that starts them: register it, then load the
// TypeScript worker body (datasets/augment/worker.ts).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
