// What the proof's suites share: every call of a stack (its handler paths and the platform's) checked,
// the refusals its policies fail, and a stack with one policy or statement changed. For the proof's
// suites only (beside them in __tests__/iam/, which may import the tooling; __tests__/support/ may not).
import { driveAllPaths } from '../../scripts/lib/iam/paths';
import { NamedPolicy, StatementJson } from '../../scripts/lib/iam/policy';
import { checkCalls, checkRefusals, platformCalls, StackUnderProof } from '../../scripts/lib/iam/proof';

/** Every call of every handler path `stack` allows, and every platform call, against its policies. */
export const checkEveryCall = async (stack: StackUnderProof) =>
  checkCalls(stack, [...(await driveAllPaths(stack)).flatMap((p) => p.calls), ...platformCalls(stack)]);

/** The names of the refusals `stack`'s policies fail to refuse. */
export const failedRefusals = (stack: StackUnderProof) =>
  checkRefusals(stack)
    .filter((r) => !r.ok)
    .map((r) => r.refusal.name);

/** The stack with one policy replaced. */
export const withPolicy = (stack: StackUnderProof, policy: NamedPolicy): StackUnderProof => ({
  ...stack,
  policies: { ...stack.policies, [policy.name]: policy },
});

/** The stack with statement `sid` of policy `name` changed. */
export function withStatement(stack: StackUnderProof, name: string, sid: string, change: Partial<StatementJson>) {
  const policy = stack.policies[name];
  const Statement = policy.document.Statement.map((s) => (s.Sid === sid ? { ...s, ...change } : s));
  return withPolicy(stack, { ...policy, document: { ...policy.document, Statement } });
}
