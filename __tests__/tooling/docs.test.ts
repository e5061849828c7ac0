import fs from 'node:fs';
import path from 'node:path';
import { envVarName, SETTING_NAMES } from '../../config';
import { readSkips } from '../../scripts/security';

const ROOT = path.join(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const help = fs.readFileSync(path.join(ROOT, 'help'), 'utf8');
const scripts = (
  JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

/** The text of one "## " section of the README. */
const section = (title: string) => {
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no section "${title}"`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
};

describe('README', () => {
  it.each(SETTING_NAMES)('documents the setting %s with its environment variable', (name) => {
    // Act & Assess
    expect(readme).toContain(`| \`${name}\` | \`${envVarName(name)}\` |`);
  });

  it('lists every checkov skip of .checkov.yaml with its reason', () => {
    // Act
    const skips = readSkips();
    // Assess
    expect(skips.length).toBeGreaterThan(0);
    for (const { id, reason } of skips)
      expect(readme).toContain(`| ${id} | ${reason.replace('(accessLogBucket)', '(`accessLogBucket`)')} |`);
  });

  // The npm scripts that run a file of scripts/, e.g. validate -> "tsx scripts/validate.ts".
  const scriptCommands = Object.entries(scripts)
    .filter(([, command]) => /scripts\/[\w-]+\.ts/.test(command))
    .map(([name]) => (name === 'test' ? 'npm test' : `npm run ${name}`));

  it.each(scriptCommands)('lists %s under "All commands", as help does', (command) => {
    // Prepare
    const allCommands = section('All commands');
    // Act & Assess
    expect(allCommands).toContain(`| \`${command}\``);
    expect(help).toContain(`    ${command} `);
  });

  it('names in "Project layout" every file of scripts/ and bench/', () => {
    // Prepare
    const layout = section('Project layout');
    const files = ['scripts', 'scripts/lib', 'scripts/lib/iam', 'bench'].flatMap((dir) =>
      fs
        .readdirSync(path.join(ROOT, dir))
        .filter((f) => /\.(ts|json)$/.test(f))
        .map((f) => f.replace(/\.ts$/, '')),
    );
    // Act & Assess
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) expect(layout).toMatch(new RegExp(`\\b${file.replace('.', '\\.')}\\b`));
  });
});
