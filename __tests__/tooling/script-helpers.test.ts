// The helpers the scripts share: event records from uploads, the stand-in environment, the checkov
// skips, the synth baseline's import rewrite, e2e's expected alarms and the bench's item sizes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { functionEnvironment, resolveConfig, resourceNames } from '../../config';
import { withRootProviderImport } from '../../bench/baseline-app';
import { readSkips } from '../../scripts/security';
import { npmFindings, permits, pythonPermits } from '../../scripts/licenses';
import { itemBytes, unmarshalledItemBytes } from '../../fixtures/item-size';
import { putRecord } from '../../fixtures/s3-events';
import { standInEnvironment } from '../../fixtures/standins';

const config = resolveConfig({}, { TAP_ENVIRONMENT: 'test' });
const names = resourceNames(config);

describe('putRecord', () => {
  it('builds the record from the request and S3 answer: unquoted ETag, byte size, version id', () => {
    // Prepare
    const request = { Bucket: 'b', Key: 'dir/ünï code+1.txt', Body: 'ü' };
    // Act
    const record = putRecord(request, { ETag: '"abc123"', VersionId: 'v1' });
    // Assess
    expect(record.s3.object).toMatchObject({
      key: 'dir/%C3%BCn%C3%AF+code%2B1.txt',
      size: 2,
      eTag: 'abc123',
      versionId: 'v1',
    });
    expect(record.s3.bucket.name).toBe('b');
    expect(record.eventName).toBe('ObjectCreated:Put');
  });
});

describe('standInEnvironment', () => {
  const functionEnv = functionEnvironment(config, names, 'tap-test-uploads');

  it('keeps the function environment and points the SDK at one endpoint per service', () => {
    // Act
    const env = standInEnvironment(functionEnv, { endpoints: { s3: 'http://s3', dynamodb: 'http://ddb' } });
    // Assess
    expect(env).toMatchObject(functionEnv);
    expect(env).toMatchObject({
      AWS_ENDPOINT_URL_S3: 'http://s3',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://ddb',
      AWS_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    expect(env).not.toHaveProperty('AWS_ENDPOINT_URL');
  });

  it('points every service at one endpoint, overrides the log level and keeps metrics when asked', () => {
    // Act
    const env = standInEnvironment(functionEnv, {
      endpoints: 'https://moto',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      logLevel: 'SILENT',
      emitMetrics: true,
    });
    // Assess
    expect(env).toMatchObject({
      TABLE_NAME: names.tableName,
      AWS_ENDPOINT_URL: 'https://moto',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'secret',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    expect(env).not.toHaveProperty('AWS_ENDPOINT_URL_S3');
    expect(env).not.toHaveProperty('POWERTOOLS_METRICS_DISABLED');
  });
});

describe('readSkips', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tap-checkov-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (text: string) => {
    const file = path.join(dir, '.checkov.yaml');
    fs.writeFileSync(file, text);
    return file;
  };

  it('reads each skipped check with the reason written beside it', () => {
    // Prepare
    const file = write('skip-check:\n  - CKV_AWS_1 # first reason\n  - CKV2_AWS_22 #second\n');
    // Act & Assess
    expect(readSkips(file)).toEqual([
      { id: 'CKV_AWS_1', reason: 'first reason' },
      { id: 'CKV2_AWS_22', reason: 'second' },
    ]);
  });

  it('refuses a skip without a reason', () => {
    // Prepare
    const file = write('skip-check:\n  - CKV_AWS_1 # reason\n  - CKV_AWS_2\n');
    // Act & Assess
    expect(() => readSkips(file)).toThrow('.checkov.yaml skips CKV_AWS_2 without a reason');
  });
});

describe('withRootProviderImport', () => {
  it('rewrites single-line, multi-line and renamed deep imports into one root import', () => {
    // Prepare
    const source = [
      "import { Construct } from 'constructs';",
      "import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';",
      'import {',
      '  DataAwsIamPolicyDocument,',
      '  DataAwsIamPolicyDocumentStatement as Statement,',
      "} from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';",
      "import { App } from 'cdktf';",
      '',
    ].join('\n');
    // Act
    const rewritten = withRootProviderImport(source);
    // Assess
    expect(rewritten).toBe(
      [
        "import { Construct } from 'constructs';",
        "import * as aws from '@cdktf/provider-aws';",
        'import S3Bucket = aws.s3Bucket.S3Bucket;',
        'import DataAwsIamPolicyDocument = aws.dataAwsIamPolicyDocument.DataAwsIamPolicyDocument;',
        'import Statement = aws.dataAwsIamPolicyDocument.DataAwsIamPolicyDocumentStatement;',
        "import { App } from 'cdktf';",
        '',
      ].join('\n'),
    );
  });

  it('leaves no deep provider import in main.ts', () => {
    // Prepare
    const main = fs.readFileSync(path.join(__dirname, '..', '..', 'main.ts'), 'utf8');
    const deepNames = [...main.matchAll(/import \{([^}]*)\} from '@cdktf\/provider-aws\/lib\//g)].flatMap((m) =>
      m[1].split(',').filter((n) => n.trim()),
    );
    // Act
    const rewritten = withRootProviderImport(main);
    // Assess
    expect(rewritten).not.toContain('@cdktf/provider-aws/lib/');
    expect(rewritten.match(/^import \w+ = aws\.\w+\.\w+;$/gm)).toHaveLength(deepNames.length);
  });

  it('refuses a source with nothing to rewrite', () => {
    // Act & Assess
    expect(() => withRootProviderImport("import { App } from 'cdktf';\n")).toThrow(
      'no @cdktf/provider-aws/lib/ import',
    );
  });
});

describe("the bench's DynamoDB item size", () => {
  it('counts attribute names and values as DynamoDB does, as the capacity proxy counts them', () => {
    // Act & Assess
    // "a" 1 + "xy" 2, + "n" 1 + 123 (2 digits' bytes + 1): an item is no map, with no map's overhead.
    expect(unmarshalledItemBytes({ a: 'xy', n: 123 })).toBe(1 + 2 + (1 + 3));
    expect(unmarshalledItemBytes({ a: 'xy', n: 123 })).toBe(itemBytes({ a: { S: 'xy' }, n: { N: '123' } }));
  });
});

describe('the licence gate', () => {
  it('reads SPDX expressions: any side of an OR, every side of an AND', () => {
    // Act & Assess
    expect(permits('MIT')).toBe(true);
    expect(permits('(MIT OR GPL-3.0-or-later)')).toBe(true);
    expect(permits('Apache-2.0 AND MIT')).toBe(true);
    expect(permits('GPL-3.0-only')).toBe(false);
    expect(permits('MIT AND AGPL-3.0-only')).toBe(false);
    expect(permits('SSPL-1.0')).toBe(false);
  });

  it('names npm packages that declare nothing permissive, unless verified by hand at that version', () => {
    // Prepare
    const lock = {
      packages: {
        '': {},
        'node_modules/a': { version: '1.0.0', license: 'MIT' },
        'node_modules/b': { version: '2.0.0', license: 'GPL-2.0-only' },
        'node_modules/x/node_modules/only': { version: '0.0.2' },
        'node_modules/only': { version: '0.0.3' },
      },
    };
    // Act
    const { checked, findings } = npmFindings(lock);
    // Assess
    expect(checked).toBe(4);
    expect(findings).toEqual([
      { ecosystem: 'npm', name: 'b', version: '2.0.0', license: 'GPL-2.0-only' },
      { ecosystem: 'npm', name: 'only', version: '0.0.3', license: 'none declared' },
    ]);
  });

  it('accepts a Python package when any licence it declares is permissive', () => {
    // Act & Assess
    expect(pythonPermits({ name: 'p', version: '1', license: '', classifiers: ['BSD License'] })).toBe(true);
    expect(pythonPermits({ name: 'p', version: '1', license: 'Apache-2.0 AND CNRI-Python', classifiers: [] })).toBe(
      true,
    );
    expect(
      pythonPermits({
        name: 'p',
        version: '1',
        license: '',
        classifiers: ['GNU Lesser General Public License v3 (LGPLv3)'],
      }),
    ).toBe(false);
    expect(pythonPermits({ name: 'p', version: '1', license: '', classifiers: [] })).toBe(false);
  });
});
