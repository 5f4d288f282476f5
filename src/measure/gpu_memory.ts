/**
 * GPU memory used by this process on NVIDIA machines: `nvidia-smi --query-compute-apps` polled in the
 * background (systeminformation only reads whole-card figures, synchronously). Absent nvidia-smi, the
 * poller reports null and says so once.
 */
import { execFile } from 'node:child_process';

export class GpuMemoryPoller {
  private timer: NodeJS.Timeout | null = null;
  private peakMiB: number | null = null;
  private inFlight = false;
  /** Why there is no figure (no nvidia-smi, or it failed), once known. */
  unavailable: string | null = null;

  constructor(
    private readonly pid = process.pid,
    private readonly intervalMs = 500,
    private readonly command = 'nvidia-smi',
  ) {}

  start(): void {
    if (this.timer) return;
    this.poll();
    this.timer = setInterval(() => this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /** Peak bytes since the last reset (null when never seen). */
  peakBytes(): number | null {
    return this.peakMiB === null ? null : this.peakMiB * 1024 * 1024;
  }

  reset(): void {
    this.peakMiB = null;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One query now (also what the timer runs); resolves when its answer is read. */
  poll(): Promise<void> {
    if (this.inFlight || this.unavailable) return Promise.resolve();
    this.inFlight = true;
    return new Promise((resolve) => {
      execFile(
        this.command,
        ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'],
        { timeout: 5000 },
        (err, stdout) => {
          this.inFlight = false;
          if (err) {
            this.unavailable =
              (err as NodeJS.ErrnoException).code === 'ENOENT'
                ? 'nvidia-smi not found (not an NVIDIA machine)'
                : `nvidia-smi failed: ${err.message}`;
            this.stop();
          } else {
            for (const line of stdout.split('\n')) {
              const [pid, mib] = line.split(',').map((s) => Number(s.trim()));
              if (pid === this.pid && Number.isFinite(mib)) this.peakMiB = Math.max(this.peakMiB ?? 0, mib);
            }
          }
          resolve();
        },
      );
    });
  }
}
