/**
 * Ctrl-C (SIGINT) and SIGTERM (Slurm's time limit, a kill) during a run: the step in flight is abandoned and
 * the process exits with 128 + the signal's number (130, 143), after saying how to continue. Nothing is lost:
 * every file of a run is written whole or not at all (src/results/store.ts), the handler only runs between
 * those synchronous writes, and a resume continues each unfinished trial from its last checkpoint.
 */

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** A shell word: quoted when it holds anything but plain characters. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command that continues the run in `runDir`: the same flags, with --out set and --resume added. */
export function resumeCommand(argv: string[], runDir: string): string {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--resume' || argv[i].startsWith('--out=')) continue;
    if (argv[i] === '--out') {
      i++;
      continue;
    }
    kept.push(argv[i]);
  }
  return ['npm', 'run', 'bench', '--', ...kept, `--out=${runDir}`, '--resume'].map(shellWord).join(' ');
}

/** Installs the handlers for the run in `runDir`; returns their removal. */
export function exitOnSignals(argv: string[], runDir: string, write: (text: string) => void): () => void {
  const handlers = Object.entries(EXIT_CODES).map(([signal, code]) => {
    const handler = () => {
      write(
        `\ninterrupted by ${signal}: the results written so far are kept in ${runDir}, and an unfinished trial ` +
          `continues from its last evaluation point. To continue the run:\n  ${resumeCommand(argv, runDir)}\n`,
      );
      process.exit(code);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
