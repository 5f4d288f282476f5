/**
 * Failures of the disk and of the files on it, as errors that name the file, the cause and the fix (the
 * command-line tools print them without a stack trace): a write that failed (disk full, no permission,
 * read-only), and a file whose content is not what this harness wrote (edited, or written by something else).
 *
 * Also the one write call the result files go through, so that a test can make it fail like a full disk:
 * SSL_BENCH_FAULT=disk-full:TEXT makes every write to a file whose path contains TEXT store half its bytes
 * and then fail with ENOSPC (test/faults.test.ts). Unset, it costs one comparison per write.
 */
import fs from 'node:fs';
import path from 'node:path';

/** What each error code means, and what to do about it. */
const CAUSES: Record<string, [cause: string, fix: string]> = {
  ENOSPC: ['no space left on the device', 'free space there or choose a folder on another disk'],
  EDQUOT: ['the disk quota is used up', 'free space there or choose a folder on another disk'],
  EACCES: ['permission denied', 'make it writable by this user or choose another folder'],
  EPERM: ['operation not permitted', 'make it writable by this user or choose another folder'],
  EROFS: ['the file system is read-only', 'choose a folder on a writable disk'],
  EIO: ['an input/output error of the device', 'check the disk (dmesg) or choose a folder on another disk'],
  ENOTDIR: ['a part of the path is a file, not a folder', 'choose another path'],
  EISDIR: ['it is a folder, not a file', 'choose another path'],
  ENOENT: ['no such file or folder', 'check the path'],
  EMFILE: ['too many open files', 'raise the limit (ulimit -n)'],
};

/** A file operation failed for a reason outside the program (disk full, permissions, ...). */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly file: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A file holds what this harness cannot have written (a row edited by hand, a truncated manifest). */
export class CorruptFileError extends Error {
  override name = 'CorruptFileError';
}

/** Node's error for a failed system call (it carries a `code` such as ENOSPC). */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string';
}

/** True for codes of CAUSES: the machine's state, not a bug (a stack trace would not help). */
export function isKnownSystemError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return isSystemError(e) && e.code in CAUSES;
}

/**
 * `e` as a StorageError naming `file` (writeSync's errors carry no path), with `fix` after the cause's own;
 * anything else unchanged.
 */
export function storageError(e: unknown, file: string, fix = ''): unknown {
  if (e instanceof StorageError) return fix ? new StorageError(e.file, e.code, `${e.message}; ${fix}`) : e;
  if (!isKnownSystemError(e)) return e;
  const [cause, ownFix] = CAUSES[e.code];
  return new StorageError(
    file,
    e.code,
    `cannot ${e.syscall ?? 'write'} ${e.path ?? file}: ${cause} (${e.code}); ${ownFix}${fix ? `; ${fix}` : ''}`,
  );
}

/** Writes all of `data` at the file's position (looping over short writes: the next one reports the error). */
export function writeAll(fd: number, file: string, data: string | Uint8Array): void {
  let bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fault = process.env.SSL_BENCH_FAULT;
  if (fault?.startsWith('disk-full:') && file.includes(fault.slice('disk-full:'.length))) {
    fs.writeSync(fd, bytes.subarray(0, bytes.length >> 1));
    throw Object.assign(new Error(`ENOSPC: no space left on device, write (injected by SSL_BENCH_FAULT=${fault})`), {
      code: 'ENOSPC',
      syscall: 'write',
    });
  }
  while (bytes.length > 0) bytes = bytes.subarray(fs.writeSync(fd, bytes));
}

/** mkdir -p whose error names the real cause: Node's recursive mkdir reports ENOENT under a read-only parent. */
export function makeDirs(dir: string): void {
  if (fs.existsSync(dir)) return;
  makeDirs(path.dirname(dir));
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}
