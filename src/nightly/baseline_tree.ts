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
  /** Removes the checkout; a failure to is reported to `warn`, never thrown (the night's results stand). */
  remove: (warn: (message: string) => void) => void;
}

const PREFIX = 'ssl-bench-baseline-';

function removeTree(repo: string, dir: string): void {
  try {
    git(repo, ['worktree', 'remove', '--force', dir]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    git(repo, ['worktree', 'prune']);
  }
}

/** Removes baseline checkouts an interrupted night left behind (a killed job never ran its clean-up). */
function removeStale(repo: string): void {
  const listed = git(repo, ['worktree', 'list', '--porcelain'])
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length))
    .filter((d) => path.basename(d).startsWith(PREFIX));
  for (const dir of listed) removeTree(repo, dir);
}

export function checkoutBaseline(repo: string, commit: string): BaselineTree {
  removeStale(repo);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  try {
    git(repo, ['worktree', 'add', '--detach', '--force', dir, commit]);
    // The commit may track a node_modules link of its own; otherwise share this checkout's packages.
    const modules = path.join(dir, 'node_modules');
    if (!fs.existsSync(modules)) fs.symlinkSync(path.join(repo, 'node_modules'), modules, 'dir');
  } catch (e) {
    try {
      removeTree(repo, dir);
    } catch {
      // the original failure is the one to report
    }
    throw new BaselineTreeError(
      `checking out ${commit.slice(0, 10)} beside this checkout failed: ${(e as { stderr?: string }).stderr || e}`,
    );
  }
  return {
    dir,
    commit,
    remove: (warn) => {
      try {
        removeTree(repo, dir);
      } catch (e) {
        warn(`could not remove the baseline checkout ${dir}: ${(e as Error).message}`);
      }
    },
  };
}
