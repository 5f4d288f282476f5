/**
 * The baseline commit of a same-night A/B, checked out beside this one: `git worktree add --detach` into a
 * temporary folder, sharing this checkout's node_modules (a symlink), removed afterwards. The native
 * kernels (node_modules/ssl-budget-bench-native -> native/) are this checkout's build: both sides of an A/B
 * run the same oneDNN addon, so a change to native/ is not measured by it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class BaselineTreeError extends Error {}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The full commit a ref names in `repo`, or a BaselineTreeError saying why not. */
export function resolveCommit(repo: string, ref: string): string {
  try {
    return git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new BaselineTreeError(
      `the baseline "${ref}" is not a commit of ${repo} (a shallow clone, or history from another repository?); give --baseline-ref=REF with a commit this clone has, or --baseline-ref=none to skip the A/B`,
    );
  }
}

export interface BaselineTree {
  dir: string;
  commit: string;
  remove: () => void;
}

export function checkoutBaseline(repo: string, commit: string): BaselineTree {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-baseline-'));
  try {
    git(repo, ['worktree', 'add', '--detach', '--force', dir, commit]);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new BaselineTreeError(`git worktree add of ${commit.slice(0, 10)} failed: ${(e as { stderr?: string }).stderr ?? e}`);
  }
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return {
    dir,
    commit,
    remove: () => {
      try {
        git(repo, ['worktree', 'remove', '--force', dir]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        git(repo, ['worktree', 'prune']);
      }
    },
  };
}
