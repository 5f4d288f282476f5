/**
 * Fault injection for the tests that prove a run survives a failing trial (test/faults.test.ts):
 * SSL_BENCH_FAULT=throw-at-step:LABEL makes every training step of the trials labelled LABEL throw
 * (SSL_BENCH_FAULT=disk-full:FILE, a failing write, is src/results/disk.ts's).
 * Unset (always, outside those tests), it costs one string comparison per step.
 */
export class InjectedFault extends Error {
  override name = 'InjectedFault';
}

export function checkInjectedFault(label: string): void {
  const fault = process.env.SSL_BENCH_FAULT;
  if (fault && fault === `throw-at-step:${label}`) throw new InjectedFault(`fault injected by SSL_BENCH_FAULT=${fault}`);
}
