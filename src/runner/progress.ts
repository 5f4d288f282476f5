/**
 * Progress of a run: on a TTY one line redrawn in place (trial, budget spent, loss, crops/s, ETA);
 * otherwise plain log lines, one per tenth of a trial's budget, so CI logs and `tee` stay readable.
 * Everything goes to stderr when stdout carries --json.
 */
import { formatSeconds } from './budget.js';

export interface ProgressInfo {
  trial: string;
  index: number;
  total: number;
  /** Fraction of this trial's budget spent. */
  fraction: number;
  spentText: string;
  loss: number | null;
  cropsPerSecond: number;
  /** Seconds left in this trial, estimated. */
  trialEta: number | null;
}

export class Progress {
  private lastTenth = -1;
  private drawn = false;
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty = Boolean(out.isTTY),
  ) {}

  update(p: ProgressInfo): void {
    const loss = p.loss === null ? '-' : p.loss.toPrecision(4);
    const eta = p.trialEta === null ? '' : `  ETA ${formatSeconds(p.trialEta)}`;
    const line = `[${p.index}/${p.total}] ${p.trial}  ${p.spentText} (${(100 * p.fraction).toFixed(0)}%)  loss ${loss}  ${p.cropsPerSecond.toFixed(0)} crops/s${eta}`;
    if (this.tty) {
      this.out.write(`\r\x1b[2K${line.slice(0, (this.out.columns ?? 160) - 1)}`);
      this.drawn = true;
      return;
    }
    const tenth = Math.floor(p.fraction * 10);
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.out.write(`${line}\n`);
    }
  }

  /** A line that stays (evaluation results, trial ends). */
  log(line: string): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
    this.out.write(`${line}\n`);
  }

  trialStarted(): void {
    this.lastTenth = -1;
  }
}
