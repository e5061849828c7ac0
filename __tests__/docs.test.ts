import fs from 'node:fs';
import path from 'node:path';
import { envVarName, SETTING_NAMES } from '../config';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

describe('README', () => {
  it.each(SETTING_NAMES)('documents the setting %s with its environment variable', (name) => {
    expect(readme).toContain(`| \`${name}\` | \`${envVarName(name)}\` |`);
  });

  it('lists every checkov skip of .checkov.yaml with its reason', () => {
    const skips = [
      ...fs
        .readFileSync(path.join(__dirname, '..', '.checkov.yaml'), 'utf8')
        .matchAll(/^\s*-\s*(CKV2?_[A-Z]+_\d+)\s*#\s*(.+)$/gm),
    ];
    expect(skips.length).toBeGreaterThan(0);
    for (const [, id, reason] of skips)
      expect(readme).toContain(`| ${id} | ${reason.trim().replace('(accessLogBucket)', '(`accessLogBucket`)')} |`);
  });
});
