// The synthesized TapStack for one set of TAP_* variables, in-process (cdktf's Testing.synth: no
// provider, no Terraform), as the IAM proof reads it: parsed cdk.tf.json, its policies, its encryption.
import fs from 'node:fs';
import { Testing } from 'cdktf';
import { projectConfig, resourceNames, TapConfig } from '../../../config';
import { TapStack } from '../../../main';
import { Deployment, NamedPolicy, stackEncryption, stackPolicies, SynthesizedJson } from './policy';
import type { EncryptionFacts } from './policy';

export interface StackUnderProof {
  readonly synthEnv: Readonly<Record<string, string>>;
  readonly deployment: Deployment;
  readonly config: TapConfig;
  readonly names: ReturnType<typeof resourceNames>;
  readonly parsed: SynthesizedJson;
  readonly policies: Readonly<Record<string, NamedPolicy>>;
  readonly encryption: EncryptionFacts;
  readonly bucket: string;
  readonly roleArn: string;
  readonly functionArn: string;
}

const cache = new Map<string, StackUnderProof>();

/** TapStack as `cdktf synth` would synthesize it with `synthEnv` (cdktf.json context, then TAP_*), deployed to `deployment`. */
export function stackUnderProof(synthEnv: Readonly<Record<string, string>>, deployment: Deployment): StackUnderProof {
  const id = JSON.stringify([synthEnv, deployment]);
  const cached = cache.get(id);
  if (cached) return cached;
  const config = projectConfig(synthEnv);
  const app = Testing.app();
  let parsed: SynthesizedJson;
  try {
    parsed = JSON.parse(Testing.synth(new TapStack(app, 'TapStack', config))) as SynthesizedJson;
  } finally {
    // Testing.app() makes a temporary outdir of its own; nothing is read from it.
    fs.rmSync(app.outdir, { recursive: true, force: true });
  }
  const names = resourceNames(config);
  const policies = stackPolicies(parsed, deployment);
  const role = Object.values(policies).find((p) => p.kind === 'trust');
  if (!role) throw new Error('The stack has no IAM role');
  const proof: StackUnderProof = {
    synthEnv,
    deployment,
    config,
    names,
    parsed,
    policies,
    encryption: stackEncryption(parsed, deployment),
    bucket: names.bucketName(deployment.account, deployment.region),
    roleArn: role.attachedTo,
    functionArn: `arn:${deployment.partition}:lambda:${deployment.region}:${deployment.account}:function:${names.functionName}`,
  };
  cache.set(id, proof);
  return proof;
}
