// Has the builder evaluate a build's parts in the order of
// `evaluationOrder` (src/llb/evaluation-order.ts), at most `window` inputs at
// a time, before the frontend returns its result. Only a scheduling hint:
// every part is a sub-graph of the definition already handed over, so the
// builder shares the work with the final solve (same ops, same job) and the
// image and cache keys are what they would be without it.
import type { Gateway } from '../buildkit/api.js';
import { DefinitionMarshaler, type MarshalOptions } from '../llb/definition.js';
import type { EvaluationStep } from '../llb/evaluation-order.js';

export interface OrderedEvaluation {
  /** Parts the builder finished. */
  evaluated: number;
  /** Set when a part failed: the rest is left to the final solve, which reports the failure as usual. */
  stoppedEarly: boolean;
}

/**
 * Evaluates `steps` in order: an `input` waits until fewer than `window`
 * inputs are being evaluated; a `chain` step never waits. Resolves when all
 * are done, or as soon as one fails (without waiting for the others: the
 * build is failing, and its end cancels them).
 */
export async function evaluateInOrder(
  gateway: Pick<Gateway, 'solve'>,
  steps: readonly EvaluationStep[],
  window: number,
  marshal: MarshalOptions,
): Promise<OrderedEvaluation> {
  const marshaler = new DefinitionMarshaler(marshal);
  const room = Math.max(1, window);
  const inputs = new Set<Promise<void>>();
  const all: Promise<void>[] = [];
  let evaluated = 0;
  let failed = false;
  let onFailure: () => void = () => undefined;
  const failure = new Promise<void>((resolve) => (onFailure = resolve));

  for (const step of steps) {
    while (step.kind === 'input' && inputs.size >= room && !failed) await Promise.race([failure, ...inputs]);
    if (failed) break;
    const part: Promise<void> = gateway.solve(marshaler.marshal(step.state), { evaluate: true }).then(
      () => {
        evaluated++;
        inputs.delete(part);
      },
      () => {
        failed = true;
        inputs.delete(part);
        onFailure();
      },
    );
    if (step.kind === 'input') inputs.add(part);
    all.push(part);
  }
  if (!failed) await Promise.race([failure, Promise.all(all)]);
  return { evaluated, stoppedEarly: failed };
}
