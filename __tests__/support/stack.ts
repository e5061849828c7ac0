import 'cdktf/lib/testing/adapters/jest'; // typings of the CDKTF jest matchers
import fs from 'node:fs';
import { Testing } from 'cdktf';
import { resolveConfig } from '../../config';
import { TapStack } from '../../main';

export interface SynthesizedStack {
  readonly json: string;
  readonly parsed: {
    resource: Record<string, Record<string, Record<string, unknown>>>;
    data: Record<string, Record<string, Record<string, unknown>>>;
    provider: Record<string, Record<string, unknown>[]>;
    output: Record<string, { value: string }>;
    terraform: Record<string, unknown>;
  };
}

/** Synthesizes TapStack once with the given context (and no environment variables). */
export function synthTapStack(context: Record<string, unknown> = {}): SynthesizedStack {
  const app = Testing.app();
  try {
    const stack = new TapStack(app, 'TapStack', resolveConfig(context, {}));
    const json = Testing.synth(stack);
    return { json, parsed: JSON.parse(json) };
  } finally {
    // Testing.app() makes a temporary outdir of its own; nothing is read from it.
    fs.rmSync(app.outdir, { recursive: true, force: true });
  }
}

type Statement = {
  sid?: string;
  effect?: string;
  actions?: string[];
  resources?: string[];
  principals?: { type: string; identifiers: string[] }[];
  condition?: unknown[];
};

/** The statements of an aws_iam_policy_document data source, by sid. */
export function statementsOf(stack: SynthesizedStack, documentName: string): Record<string, Statement> {
  const document = stack.parsed.data.aws_iam_policy_document[documentName] as { statement: Statement[] };
  return Object.fromEntries(document.statement.map((s) => [s.sid ?? '', s]));
}

export const ref = (type: string, name: string, attribute: string) => `\${${type}.${name}.${attribute}}`;

/** The S3 events the stack subscribes the function to by default (written out here, not read from config/). */
export const SUBSCRIBED_EVENTS =
  's3:ObjectCreated:* s3:ObjectRemoved:* s3:LifecycleExpiration:* s3:LifecycleTransition s3:IntelligentTiering s3:ObjectRestore:Completed'.split(
    ' ',
  );
