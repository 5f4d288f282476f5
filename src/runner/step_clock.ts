/**
 * The training clock and the budget of one trial: what the next step will cost in the budget's unit, and
 * the counters advanced after each step. Time budgets estimate the next step by the median of the last
 * five steps (a single slow step, e.g. the first one's set-up, does not end a budget early).
 */
import { median } from '../stats.js';
import type { Budget, Counters } from './budget.js';

export interface StepShape {
  images: number;
  crops: number;
  flopsPerStep: number;
  trainSize: number;
}

/** Step times kept for the estimate (and saved with checkpoints). */
const KEEP = 20;

export class StepClock {
  constructor(
    readonly budget: Budget,
    readonly shape: StepShape,
    readonly counters: Counters,
    readonly stepSeconds: number[],
  ) {}

  /** The next step's cost in the budget's unit. */
  nextCost(): number {
    switch (this.budget.kind) {
      case 'time':
        return this.stepSeconds.length ? this.secondsPerStep() : 0;
      case 'flops':
        return this.shape.flopsPerStep;
      case 'patches':
        return this.shape.crops;
      case 'epochs':
        return this.shape.images / this.shape.trainSize;
      case 'steps':
        return 1;
    }
  }

  secondsPerStep(): number {
    return median(this.stepSeconds.slice(-5));
  }

  /** Counts one finished step of `seconds` that processed `crops` crops. */
  advance(seconds: number, crops: number): void {
    const c = this.counters;
    c.seconds += seconds;
    c.steps += 1;
    c.images += this.shape.images;
    c.crops += crops;
    c.flops += this.shape.flopsPerStep;
    c.epochs = c.images / this.shape.trainSize;
    this.stepSeconds.push(seconds);
    if (this.stepSeconds.length > KEEP) this.stepSeconds.shift();
  }
}
