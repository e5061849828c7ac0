// npm run validate: synth, then terraform init, validate and plan of TapStack with the real
// hashicorp/aws 5.100.0 provider, offline and with no AWS account.
import path from 'node:path';
import fs from 'node:fs';
import { info, root, runMain, step } from './lib/cli';
import {
  FAKE_ACCOUNT_ID,
  PlanJson,
  prepareStack,
  startStsStub,
  synth,
  terraformEnv,
  terraformIn,
  untaggedResources,
  writeCliConfig,
} from './lib/terraform';

export const REQUIRED_TAGS = ['Project', 'Environment', 'Owner', 'ManagedBy'];

/**
 * The configurations validated and planned: the default one, EventBridge delivery with the options it
 * changes (tags, prefix and suffix), and write autoscaling with Batch Operations. An existing bucket's plan needs an S3 that knows the bucket (its data
 * source reads it): e2e plans and deploys that configuration on moto.
 */
export const VALIDATED: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  TapStack: {},
  'TapStack-eventbridge': {
    ...{ TAP_EVENT_DELIVERY: 'eventbridge', TAP_RECORD_OBJECT_TAGS: 'true' },
    ...{ TAP_NOTIFICATION_PREFIX: 'in/', TAP_NOTIFICATION_SUFFIX: '.pdf' },
  },
  'TapStack-scale': { TAP_TABLE_MAX_WRITE_CAPACITY: '1000', TAP_ENABLE_BATCH_OPERATIONS: 'true' },
};

export interface ValidatedStack {
  /** The configuration's name in VALIDATED. */
  readonly stack: string;
  /** The stack as synthesized, and its offline plan as JSON. */
  readonly stackFile: string;
  readonly planFile: string;
  readonly times: { readonly init: number; readonly validate: number; readonly plan: number };
  readonly creates: number;
}

/** Synth + offline plan of each configuration; returns what it measured. Used by security and bench too. */
export async function validate({ quiet = false, configurations = VALIDATED } = {}): Promise<{
  synthMs: number;
  results: ValidatedStack[];
}> {
  const log = quiet ? () => undefined : info;

  const workRoot = path.join(root, '.work', 'validate');
  fs.mkdirSync(workRoot, { recursive: true });
  const { file: cliConfig, mirror } = writeCliConfig(workRoot);
  log(
    mirror
      ? `hashicorp/aws 5.100.0 from the local mirror ${mirror}`
      : 'no local provider mirror found: hashicorp/aws comes from the registry',
  );

  const sts = await startStsStub();
  log(`STS stand-in on ${sts.url}: data.aws_caller_identity reads fake account ${FAKE_ACCOUNT_ID}`);
  const results: ValidatedStack[] = [];
  let synthMs = 0;
  try {
    for (const [name, synthEnv] of Object.entries(configurations)) {
      if (!quiet)
        step(
          `Synthesizing ${name} (cdktf synth${Object.keys(synthEnv).length ? ` with ${JSON.stringify(synthEnv)}` : ''})`,
        );
      const { ms, stacks } = await synth({ env: { ...process.env, ...synthEnv } });
      synthMs ||= ms;
      log(`synthesized in ${(ms / 1000).toFixed(1)} s`);
      const [stack] = stacks;
      const dir = path.join(workRoot, name);
      for (const r of prepareStack(stack.file, dir, { sts: sts.url })) {
        log(
          `hashicorp/archive is not reachable here: data.archive_file.${r.name} replaced by ${path.relative(root, r.zipFile)} (zip of ${path.relative(root, r.sourceDir)}, sha256 ${r.hash})`,
        );
      }
      const stackFile = path.join(dir, 'synthesized', 'cdk.tf.json');
      fs.mkdirSync(path.dirname(stackFile));
      fs.copyFileSync(stack.file, stackFile);
      if (!quiet) step(`terraform init, validate, plan: ${name}`);
      const env = terraformEnv({ TF_CLI_CONFIG_FILE: cliConfig, TF_DATA_DIR: path.join(dir, '.terraform') });
      const tf = terraformIn(dir, env);
      const init = await tf.run(['init', '-input=false', '-no-color']);
      const validated = await tf.run(['validate', '-no-color'], false);
      const planned = await tf.run(['plan', '-input=false', '-lock=false', '-no-color', '-out=tfplan']);
      const times = { init: init.ms, validate: validated.ms, plan: planned.ms };
      for (const [, warning] of planned.output.matchAll(/^Warning: (.+)$/gm)) log(`terraform warning: ${warning}`);
      const plan = tf.json<PlanJson>(['show', '-json', 'tfplan']);
      const planFile = path.join(dir, 'plan.json');
      fs.writeFileSync(planFile, JSON.stringify(plan));
      const changes = plan.resource_changes ?? [];
      const creates = changes.filter((c) => c.change.actions.includes('create')).length;
      log(`init ${times.init} ms, validate ${times.validate} ms, plan ${times.plan} ms: ${creates} to create`);
      const untagged = untaggedResources(plan, REQUIRED_TAGS);
      if (untagged.length > 0) throw new Error(`resources without the required tags:\n  ${untagged.join('\n  ')}`);
      log(`every taggable resource carries ${REQUIRED_TAGS.join(', ')}`);
      results.push({ stack: name, stackFile, planFile, times, creates });
    }
  } finally {
    await sts.close();
  }
  return { synthMs, results };
}

if (require.main === module) {
  runMain('validate', async () => {
    const { results } = await validate();
    step(`validate: OK (${results.map((r) => `${r.stack}: ${r.creates} resources planned`).join('; ')})`);
  });
}
