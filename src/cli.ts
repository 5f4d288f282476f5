/**
 * Shared command-line handling: strict flag parsing with clear errors, `--help`, `--debug`, and exit codes:
 * 0 ok, 1 the work failed or is incomplete (a known failure prints its cause and fix in a line or two, without
 * a stack trace), 2 bad input or usage.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DatasetError } from '../datasets/types.js';
import { BACKEND_CHOICES, BackendUnavailableError, type BackendChoice } from '../engine/backends/select.js';
import { RunLockedError } from './runner/run_lock.js';
import { CorruptFileError, isKnownSystemError, StorageError, storageError } from './results/disk.js';

export class UsageError extends Error {}

/** --debug: print the stack trace of known failures too. */
let debug = false;

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses argv strictly; unknown flags, stray arguments and bad values become UsageErrors naming what is valid. */
export function parseFlags<O extends Options>(argv: string[], options: O, usage: string, allowPositionals = false) {
  const all = { ...options, help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } } as O & {
    help: { type: 'boolean'; short: 'h' };
    debug: { type: 'boolean' };
  };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: all, allowPositionals: true, strict: true });
  } catch (e) {
    const valid = Object.keys(all)
      .map((k) => `--${k}`)
      .join(', ');
    throw new UsageError(`${(e as Error).message}\nvalid flags: ${valid}\n\n${usage}`);
  }
  debug = Boolean((parsed.values as Record<string, unknown>).debug);
  if ((parsed.values as Record<string, unknown>).help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  if (!allowPositionals && parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}" (options are written --name=value)\n\n${usage}`);
  }
  return parsed;
}

export function parseIntFlag(name: string, value: string | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} must be an integer ${range}, got "${value}"`);
  }
  return n;
}

/** The value of --backend (default auto), or a UsageError listing the valid names. */
export function parseBackendFlag(value: string | undefined): BackendChoice {
  const choice = value ?? 'auto';
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice))
    throw new UsageError(`unknown --backend=${choice}; valid: ${BACKEND_CHOICES.join(', ')}`);
  return choice as BackendChoice;
}

/** A comma-separated flag as its trimmed, non-empty items (undefined when the flag is absent). */
export function listFlag(value: string | undefined): string[] | undefined {
  return value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The message of a failure that is the data's, the disk's or the machine's, not a bug (its message names the
 * cause, the file and the fix; a stack would only hide them); null for anything else.
 */
function knownFailure(e: unknown): string | null {
  if (
    e instanceof StorageError ||
    e instanceof CorruptFileError ||
    e instanceof DatasetError ||
    e instanceof BackendUnavailableError ||
    e instanceof RunLockedError
  )
    return e.message;
  if (isKnownSystemError(e)) return (storageError(e, e.path ?? '') as Error).message;
  return null;
}

/** What to print for a failure: a known one's message (its stack too with --debug), a bug's stack trace. */
export function failureText(e: unknown): string {
  if (e instanceof UsageError) return e.message;
  const known = knownFailure(e);
  if (known === null || (debug && e instanceof Error)) return e instanceof Error ? (e.stack ?? e.message) : String(e);
  return known;
}

/** Runs an async main with consistent error reporting: usage errors exit 2, others 1. */
export function runMain(main: () => Promise<void>): void {
  // Node exits with status 0 when its event loop empties, even while main still awaits (a promise nobody
  // will settle): that would pass for success with the work half done, so say so and fail instead.
  // ('beforeExit' fires only then, never on process.exit.)
  process.on('beforeExit', () => {
    process.stderr.write(
      'error: the command stopped before it finished (nothing left to wait on: a bug); results written so far are kept\n',
    );
    process.exit(1);
  });
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (e: unknown) => {
      process.stderr.write(`error: ${failureText(e)}\n`);
      process.exit(e instanceof UsageError ? 2 : 1);
    },
  );
}
