/**
 * Shared command-line handling: strict flag parsing with clear errors, `--help`, and exit codes.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BACKEND_CHOICES, BackendUnavailableError, type BackendChoice } from '../engine/backends/select.js';

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses argv strictly; unknown flags, stray arguments and bad values become UsageErrors naming what is valid. */
export function parseFlags<O extends Options>(argv: string[], options: O, usage: string, allowPositionals = false) {
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as O & { help: { type: 'boolean'; short: 'h' } };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: all, allowPositionals: true, strict: true });
  } catch (e) {
    const valid = Object.keys(all)
      .map((k) => `--${k}`)
      .join(', ');
    throw new UsageError(`${(e as Error).message}\nvalid flags: ${valid}\n\n${usage}`);
  }
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

/** Runs an async main with consistent error reporting: usage errors exit 2, others 1. */
/** A comma-separated flag as its trimmed, non-empty items (undefined when the flag is absent). */
export function listFlag(value: string | undefined): string[] | undefined {
  return value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (e: unknown) => {
      if (e instanceof UsageError) {
        process.stderr.write(`error: ${e.message}\n`);
        process.exit(2);
      }
      if (e instanceof BackendUnavailableError) {
        // A machine's setup, not a bug: the reasons are the message, a stack would only hide them.
        process.stderr.write(`error: ${e.message}\n`);
        process.exit(1);
      }
      process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
