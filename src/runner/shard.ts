/**
 * Splitting a trial list across processes (a Slurm job array, or any launcher): shard i of n runs trials
 * i, i+n, i+2n, ... (1-based, as Node's and Jest's --test-shard). Inside a Slurm array task with no
 * --shard, the shard comes from SLURM_ARRAY_TASK_ID / _MIN / _MAX / _COUNT.
 */

export interface Shard {
  index: number;
  count: number;
}

export class ShardError extends Error {}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new ShardError(`--shard must be i/n with 1 <= i <= n (e.g. 2/4), got "${text}"`);
  return { index, count };
}

/** The shard of this Slurm array task, or null outside an array. Refuses arrays with gaps or steps. */
export function shardFromSlurm(env: NodeJS.ProcessEnv = process.env): Shard | null {
  if (env.SLURM_ARRAY_TASK_ID === undefined) return null;
  const [id, min, max, count, step] = ['ID', 'MIN', 'MAX', 'COUNT', 'STEP'].map((k) =>
    env[`SLURM_ARRAY_TASK_${k}`] === undefined ? NaN : Number(env[`SLURM_ARRAY_TASK_${k}`]),
  );
  if (![id, min, max, count].every(Number.isInteger)) {
    throw new ShardError('inside a Slurm array task but SLURM_ARRAY_TASK_ID/_MIN/_MAX/_COUNT are incomplete; pass --shard=i/n explicitly');
  }
  if (max - min + 1 !== count || (Number.isFinite(step) && step !== 1)) {
    throw new ShardError(
      `Slurm array ids ${min}-${max} are not contiguous (${count} tasks${Number.isFinite(step) ? `, step ${step}` : ''}); submit --array=${min}-${min + count - 1} or pass --shard=i/n`,
    );
  }
  return { index: id - min + 1, count };
}

export function shardTrials<T>(trials: T[], shard: Shard | null): T[] {
  if (!shard) return trials;
  return trials.filter((_, i) => i % shard.count === shard.index - 1);
}

export function shardName(shard: Shard | null): string {
  return shard ? `shard-${shard.index}-of-${shard.count}` : '';
}
