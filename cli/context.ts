// What every command works on: the stack's resolved configuration and names (as `cdktf synth` resolves
// them: cdktf.json context, then TAP_*), overridden by flags, and SDK clients configured like the
// handler's own (AWS_ENDPOINT_URL_* is read by the SDK; S3_FORCE_PATH_STYLE by us), so every command
// also runs against the stand-ins.
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { projectConfig, resourceNames, ResourceNames, TapConfig } from '../config';
import { readS3ForcePathStyle } from '../handler/env';
import { CliError, explainingAwsErrors } from './errors';

/** Flags every command accepts to point at resources other than the stack's defaults. */
export interface DeployedStackOptions {
  readonly region?: string;
  readonly bucket?: string;
  readonly table?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The stack's configuration, names and region for this invocation, with SDK clients created on first use. */
export class DeployedStack {
  readonly config: TapConfig;
  readonly names: ResourceNames;
  readonly region: string;
  readonly table: string;
  private readonly clients = new Map<string, { destroy(): void }>();
  private bucketName?: string;
  private accountId?: string;

  constructor(
    readonly options: DeployedStackOptions = {},
    readonly env: Env = process.env,
  ) {
    try {
      this.config = projectConfig(env);
    } catch (error) {
      throw new CliError((error as Error).message, 2, { cause: error });
    }
    this.region = options.region ?? this.config.region;
    this.names = resourceNames({ ...this.config, region: this.region });
    this.table = options.table ?? this.names.tableName;
  }

  /** One client per service for the whole command, destroyed by close(). */
  client<T extends { destroy(): void }>(Client: new (config: { region: string }) => T): T {
    const existing = this.clients.get(Client.name);
    if (existing) return existing as T;
    const config =
      Client === (S3Client as unknown)
        ? { region: this.region, forcePathStyle: this.s3ForcePathStyle() }
        : { region: this.region };
    const client = new Client(config);
    this.clients.set(Client.name, client);
    return client;
  }

  get s3(): S3Client {
    return this.client(S3Client);
  }

  get dynamodb(): DynamoDBClient {
    return this.client(DynamoDBClient);
  }

  async account(): Promise<string> {
    this.accountId ??= (
      await explainingAwsErrors({ kind: 'AWS account', name: 'of the current credentials' }, () =>
        this.client(STSClient).send(new GetCallerIdentityCommand({})),
      )
    ).Account;
    if (!this.accountId) throw new CliError('STS GetCallerIdentity returned no account');
    return this.accountId;
  }

  /** --bucket, the existing bucket the stack indexes, or the bucket it creates (whose name needs the account id). */
  async bucket(): Promise<string> {
    this.bucketName ??=
      this.options.bucket || this.config.existingBucketName || this.names.bucketName(await this.account(), this.region);
    return this.bucketName;
  }

  /** S3_FORCE_PATH_STYLE, as the handler reads it; a wrong value is a CliError naming it. */
  s3ForcePathStyle(): boolean {
    try {
      return readS3ForcePathStyle(this.env);
    } catch (error) {
      throw new CliError((error as Error).message, 2, { cause: error });
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}
