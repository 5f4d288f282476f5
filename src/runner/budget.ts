/**
 * Budgets (README.md, "Budget rules"): a kind and an amount. Every method in a comparison gets the
 * same budget; all counters are kept whatever the kind; the learning rate runs on progress = spent / amount.
 *
 *   time     seconds of training wall-clock (augmentation and data reading included, evaluation excluded)
 *   flops    training FLOPs (src/flops.ts)
 *   patches  crops passed forward through the backbone
 *   epochs   images drawn / training-set size
 *   steps    optimizer updates
 */

export const BUDGET_KINDS = ['time', 'flops', 'patches', 'epochs', 'steps'] as const;
export type BudgetKind = (typeof BUDGET_KINDS)[number];

export interface Budget {
  kind: BudgetKind;
  amount: number;
}

/** What a trial has spent so far. */
export interface Counters {
  seconds: number;
  flops: number;
  crops: number;
  images: number;
  steps: number;
  epochs: number;
}

export const ZERO_COUNTERS: Counters = { seconds: 0, flops: 0, crops: 0, images: 0, steps: 0, epochs: 0 };

export class BudgetError extends Error {}

const COUNTER_OF: Record<BudgetKind, keyof Counters> = {
  time: 'seconds',
  flops: 'flops',
  patches: 'crops',
  epochs: 'epochs',
  steps: 'steps',
};

export function spent(counters: Counters, kind: BudgetKind): number {
  return counters[COUNTER_OF[kind]];
}

/** Fraction of the budget spent, in [0, 1]: the schedules' clock. */
export function progress(counters: Counters, budget: Budget): number {
  return Math.min(1, spent(counters, budget.kind) / budget.amount);
}

/**
 * Whether to take one more step that costs `nextCost` (in the budget's unit; for time an estimate):
 * yes while it ends nearer the amount than stopping now would, so a trial ends within half a step of
 * its budget. The first step is always taken.
 */
export function takeAnotherStep(counters: Counters, budget: Budget, nextCost: number): boolean {
  if (counters.steps === 0) return true;
  return spent(counters, budget.kind) + nextCost / 2 <= budget.amount;
}

/** Whether the evaluation point at `fraction` of the budget is reached (to the nearest step, as above). */
export function reached(counters: Counters, budget: Budget, fraction: number, lastStepCost: number): boolean {
  return spent(counters, budget.kind) + lastStepCost / 2 >= fraction * budget.amount;
}

const SI: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const SECONDS: Record<string, number> = { '': 1, s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86400 };

const EXAMPLES: Record<BudgetKind, string> = {
  time: '90s, 10m, 1.5h (a bare number is seconds)',
  flops: '3e15, 40T, 2.5P',
  patches: '2e6, 500k, 2M',
  epochs: '1, 0.25, 100',
  steps: '200, 5k',
};

/** Parses an amount with its unit for `kind`; throws BudgetError with examples of valid amounts. */
export function parseAmount(kind: BudgetKind, text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const units = kind === 'time' ? SECONDS : kind === 'epochs' ? { '': 1 } : SI;
  const scale = m ? units[m[2]] : undefined;
  const value = m && scale !== undefined ? Number(m[1]) * scale : NaN;
  if (!Number.isFinite(value) || value <= 0) {
    throw new BudgetError(`malformed ${kind} budget "${text}": write a positive amount such as ${EXAMPLES[kind]}`);
  }
  if (kind === 'steps' && !Number.isInteger(value)) throw new BudgetError(`a steps budget must be a whole number, got "${text}"`);
  return value;
}

export function checkKind(kind: string): BudgetKind {
  if (!(BUDGET_KINDS as readonly string[]).includes(kind))
    throw new BudgetError(`unknown budget kind "${kind}"; valid: ${BUDGET_KINDS.join(', ')}`);
  return kind as BudgetKind;
}

/** "time:90s" -> { kind, amount }; "time" alone -> { kind, amount: undefined } (the suite supplies it). */
export function parseBudget(text: string): { kind: BudgetKind; amount?: number } {
  const [kindText, amountText, ...rest] = text.split(':');
  if (rest.length > 0) throw new BudgetError(`malformed budget "${text}": write KIND or KIND:AMOUNT, e.g. time:90s`);
  const kind = checkKind(kindText.trim());
  return amountText === undefined ? { kind } : { kind, amount: parseAmount(kind, amountText) };
}

/** A budget for people: "time 90 s", "flops 3.00e+15", "patches 2.00e+6", "epochs 1", "steps 200". */
export function formatBudget(b: Budget): string {
  switch (b.kind) {
    case 'time':
      return `time ${formatSeconds(b.amount)}`;
    case 'flops':
    case 'patches':
      return `${b.kind} ${b.amount.toExponential(2)}`;
    default:
      return `${b.kind} ${b.amount}`;
  }
}

export function formatSeconds(s: number): string {
  if (s < 120) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(2)} h`;
}
