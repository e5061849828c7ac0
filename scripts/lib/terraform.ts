// Shared by validate (so security and bench) and e2e: synthesize TapStack, then run the real Terraform
// CLI and the real hashicorp/aws provider against the synthesized JSON, offline.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { root, run } from './cli';

const AWS_PROVIDER_VERSION = '5.100.0';
export const FAKE_ACCOUNT_ID = '123456789012';

type Env = NodeJS.ProcessEnv;

/** Environment for every Terraform run here: fake credentials, no telemetry, no prompts. */
export const terraformEnv = (extra: Env = {}): Env => ({
  ...process.env,
  AWS_ACCESS_KEY_ID: 'AKIAOFFLINEEXAMPLE00',
  AWS_SECRET_ACCESS_KEY: 'offline-fake-secret-key',
  AWS_EC2_METADATA_DISABLED: 'true',
  CHECKPOINT_DISABLE: '1',
  TF_IN_AUTOMATION: '1',
  TF_INPUT: '0',
  ...extra,
});

/**
 * Terraform in one prepared folder with one environment, run as docs/design.md's plain-Terraform way out
 * runs it: `terraform -chdir=<dir> ...` from the project folder, each command line given to `echo` if set.
 * Quiet runs, and the JSON of `show` or `output`.
 */
export function terraformIn(dir: string, env: Env, echo?: (line: string) => void) {
  const command = (args: string[]) => {
    const full = [`-chdir=${path.relative(root, dir)}`, ...args];
    echo?.(`$ terraform ${full.join(' ')}`);
    return full;
  };
  return {
    run: (args: string[], quiet = true) => run('terraform', command(args), { env, quiet }),
    json: <T>(args: string[]): T =>
      JSON.parse(execFileSync('terraform', command(args), { cwd: root, env, maxBuffer: 64 << 20 }).toString()) as T,
  };
}

/** `cdktf synth` (whose app command also bundles the handler); returns every synthesized stack's JSON path. */
export async function synth({ env = process.env }: { env?: Env } = {}) {
  const { ms } = await run('npx', ['--no-install', 'cdktf', 'synth', '--hide-diff'], {
    env: { ...env, CHECKPOINT_DISABLE: '1' },
    quiet: true,
  });
  const stacksDir = path.join(root, 'cdktf.out', 'stacks');
  const names = fs.readdirSync(stacksDir).filter((d) => fs.existsSync(path.join(stacksDir, d, 'cdk.tf.json')));
  return { ms, stacks: names.map((name) => ({ name, file: path.join(stacksDir, name, 'cdk.tf.json') })) };
}

/**
 * The folder of a local provider mirror holding hashicorp/aws 5.100.0, if this machine has one:
 * TAP_TF_PROVIDER_MIRROR, else the usual places a mirror is put.
 */
function findProviderMirror(): string | undefined {
  const candidates = [
    process.env.TAP_TF_PROVIDER_MIRROR,
    '/opt/tf-plugins',
    '/usr/share/terraform/plugins',
    '/usr/local/share/terraform/plugins',
    path.join(os.homedir(), '.terraform.d/plugins'),
    path.join(os.homedir(), '.local/share/terraform/plugins'),
  ].filter((dir): dir is string => !!dir);
  for (const base of ['/opt', '/srv', '/usr/local']) {
    try {
      for (const entry of fs.readdirSync(base)) candidates.push(path.join(base, entry));
    } catch {
      /* not there */
    }
  }
  return candidates.find((dir) =>
    fs.existsSync(path.join(dir, 'registry.terraform.io/hashicorp/aws', AWS_PROVIDER_VERSION)),
  );
}

/** A Terraform CLI config that takes hashicorp/aws from the mirror (when there is one) and nothing else from the network. */
export function writeCliConfig(dir: string): { file: string; mirror: string | undefined } {
  const mirror = findProviderMirror();
  const file = path.join(dir, 'terraformrc');
  const body = mirror
    ? `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n`
    : '';
  fs.writeFileSync(file, body);
  return { file, mirror };
}

/** A zip of `sourceDir` with fixed timestamps and modes: the same files give the same bytes. Returns its base64 sha256. */
function zipDirectory(sourceDir: string, outputFile: string): string {
  const entries: Zippable = {};
  for (const name of fs.readdirSync(sourceDir, { recursive: true, encoding: 'utf8' }).sort()) {
    const full = path.join(sourceDir, name);
    if (fs.statSync(full).isFile()) entries[name.split(path.sep).join('/')] = fs.readFileSync(full);
  }
  const zip = zipSync(entries, { level: 9, mtime: new Date('1980-01-01T00:00:00Z'), attrs: 0o644 << 16 });
  fs.writeFileSync(outputFile, zip);
  return createHash('sha256').update(zip).digest('base64');
}

/** The parts of a synthesized stack's JSON that prepareStack rewrites. */
interface StackJson {
  data?: Record<string, Record<string, unknown>> & { archive_file?: Record<string, { source_dir: string }> };
  provider?: Record<string, unknown>;
  terraform: { backend?: unknown; required_providers?: Record<string, unknown> };
}

interface ReplacedArchive {
  readonly name: string;
  readonly sourceDir: string;
  readonly zipFile: string;
  readonly hash: string;
}

/**
 * Copies a synthesized stack into `dir`, ready for Terraform here:
 * - hashicorp/archive has no mirror on this machine and the registry is out of reach, so each
 *   data.archive_file is replaced by the zip this function builds from the same folder, and the
 *   references to its output_path / output_base64sha256 by that zip's path and hash;
 * - the backend becomes a local state file inside `dir`, so a check never touches real state;
 * - an override file points the AWS provider at `endpoints` with fake credentials and no account checks,
 *   and adds the `provider` settings given.
 */
export function prepareStack(
  stackFile: string,
  dir: string,
  endpoints: Record<string, string>,
  provider: Record<string, unknown> = {},
): ReplacedArchive[] {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const stack = JSON.parse(fs.readFileSync(stackFile, 'utf8')) as StackJson;
  const stackDir = path.dirname(stackFile);
  let text = JSON.stringify(stack);
  const replaced: ReplacedArchive[] = [];
  for (const [name, archive] of Object.entries(stack.data?.archive_file ?? {})) {
    const sourceDir = path.resolve(stackDir, archive.source_dir.replace('${path.module}/', ''));
    const zipFile = path.join(dir, `${name}.zip`);
    const hash = zipDirectory(sourceDir, zipFile);
    text = text
      .replaceAll(`\${data.archive_file.${name}.output_path}`, zipFile)
      .replaceAll(`\${data.archive_file.${name}.output_base64sha256}`, hash);
    replaced.push({ name, sourceDir, zipFile, hash });
  }
  const prepared = JSON.parse(text) as StackJson;
  delete prepared.data?.archive_file;
  if (prepared.data && Object.keys(prepared.data).length === 0) delete prepared.data;
  delete prepared.provider?.archive;
  delete prepared.terraform.required_providers?.archive;
  prepared.terraform.backend = { local: { path: path.join(dir, 'terraform.tfstate') } };
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(prepared, null, 2));

  const settings = {
    skip_credentials_validation: true,
    skip_metadata_api_check: true,
    skip_region_validation: true,
    endpoints: [endpoints],
    ...provider,
  };
  fs.writeFileSync(
    path.join(dir, 'offline_override.tf.json'),
    JSON.stringify({ provider: { aws: [settings] } }, null, 2),
  );
  return replaced;
}

/**
 * An STS stand-in on a free loopback port: answers GetCallerIdentity with a fake account, the only
 * AWS call a plan of this stack makes (data.aws_caller_identity).
 */
export async function startStsStub(accountId = FAKE_ACCOUNT_ID): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
          `<Arn>arn:aws:iam::${accountId}:user/offline-plan</Arn><UserId>AIDAOFFLINEPLAN</UserId><Account>${accountId}</Account>` +
          `</GetCallerIdentityResult><ResponseMetadata><RequestId>offline</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What a plan's JSON (`terraform show -json`) holds that these scripts read. */
export interface PlanJson {
  resource_changes?: {
    address: string;
    change: { actions: string[]; before?: Record<string, unknown> | null; after?: Record<string, unknown> | null };
  }[];
  planned_values?: {
    root_module?: { resources?: { address: string; mode: string; values?: Record<string, unknown> }[] };
  };
}

/** Every planned resource that supports tags and lacks one of `required` in tags_all. */
export function untaggedResources(plan: PlanJson, required: readonly string[]): string[] {
  const missing: string[] = [];
  for (const resource of plan.planned_values?.root_module?.resources ?? []) {
    if (resource.mode !== 'managed' || !('tags_all' in (resource.values ?? {}))) continue;
    const tags = (resource.values?.tags_all ?? {}) as Record<string, string>;
    const absent = required.filter((key) => !(key in tags));
    if (absent.length > 0) missing.push(`${resource.address} (no ${absent.join(', ')})`);
  }
  return missing;
}
