// The proof for the other two ways the stack can be set up: EventBridge delivery from the bucket it
// creates, and an existing bucket it only reads (EventBridge delivery, the bucket's own keys).
import { EXAMPLE_DEPLOYMENT } from '../../scripts/lib/iam/policy';
import { driveAllPaths } from '../../scripts/lib/iam/paths';
import { checkRefusals, grantTable, StackUnderProof, stackUnderProof } from '../../scripts/lib/iam/proof';
import { checkEveryCall, failedRefusals, withStatement } from './support';

const d = EXAMPLE_DEPLOYMENT;
const BUCKET_KEY = `arn:aws:kms:${d.region}:${d.account}:key/0000aaaa-11bb-22cc-33dd-444455556666`;
const eventbridge = stackUnderProof({ TAP_EVENT_DELIVERY: 'eventbridge' }, d);
const existing = stackUnderProof(
  { TAP_EXISTING_BUCKET_NAME: 'team-archive', TAP_EXISTING_BUCKET_KMS_KEY_ARNS: BUCKET_KEY },
  d,
);
const configurations: [string, StackUnderProof][] = [
  ['eventbridge delivery', eventbridge],
  ['an existing bucket', existing],
];

/** The stack with the Condition of one policy's statement `sid` removed. */
const loosened = (stack: StackUnderProof, name: string, sid: string) =>
  withStatement(stack, name, sid, { Condition: undefined });

describe.each(configurations)('the proof with %s', (_, stack) => {
  it('allows every call of every handler path and every platform call, and uses every grant', async () => {
    // Act
    const checks = await checkEveryCall(stack);
    // Assess
    const s3 = checks.filter((c) => c.call.service === 's3' && !c.call.principal);
    expect(checks.filter((c) => !c.decision.allowed).map((c) => c.line)).toEqual([]);
    expect(grantTable(stack, checks).filter((r) => r.status === 'unused')).toEqual([]);
    expect(s3.every((c) => c.call.resource?.startsWith(`arn:aws:s3:::${stack.bucket}/`))).toBe(true);
    expect(s3.length).toBeGreaterThan(0);
  });

  it('denies every refusal, EventBridge for another rule among them', () => {
    // Act
    const names = checkRefusals(stack).map((r) => r.refusal.name);
    // Assess
    expect(failedRefusals(stack)).toEqual([]);
    expect(names.filter((n) => n.startsWith('EventBridge for another rule'))).toHaveLength(3);
    expect(names.some((n) => n.startsWith('S3 invoking'))).toBe(false);
  });
});

describe('what the EventBridge proof catches', () => {
  it('the function invocable by any rule: its permission without the rule as source', () => {
    // Prepare
    const stack = loosened(
      eventbridge,
      'aws_lambda_permission.allow_eventbridge_invoke',
      'AllowInvokeFromObjectEventsRule',
    );
    // Act & Assess
    expect(failedRefusals(stack)).toEqual([
      `EventBridge for another rule: lambda:InvokeFunction on ${eventbridge.functionArn}`,
    ]);
  });

  it('the failure queue open to any rule: its dead-letter statement without the rule as source', () => {
    // Prepare
    const name = 'aws_sqs_queue_policy.dead_letter_queue_policy';
    const stack = loosened(eventbridge, name, 'AllowEventBridgeDeadLettersOfTheObjectEventsRule');
    // Act & Assess
    expect(failedRefusals(stack)).toEqual([
      expect.stringMatching(/^EventBridge for another rule: sqs:SendMessage on arn:aws:sqs:/),
    ]);
  });
});

describe('an existing bucket', () => {
  it('has no bucket policy of the stack, and S3 reads decrypt with the bucket’s own key through S3', async () => {
    // Act
    const calls = (await driveAllPaths(existing)).flatMap((p) => p.calls);
    const decrypts = calls.filter((c) => c.implied && c.context['kms:ViaService']?.startsWith('s3.'));
    // Assess
    expect(Object.keys(existing.policies).some((n) => n.startsWith('aws_s3_bucket_policy'))).toBe(false);
    expect(new Set(decrypts.map((c) => c.resource))).toEqual(new Set([BUCKET_KEY]));
  });
});
