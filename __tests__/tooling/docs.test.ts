import fs from 'node:fs';
import path from 'node:path';
import { envVarName, SETTING_NAMES } from '../../config';
import { readSkips } from '../../scripts/security';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const readme = read('README.md');
const help = read('help');
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

/** README.md and every page of docs/, as paths from the project root. */
const DOCUMENTS = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);

/** The text of one "## " section of a document, up to the next "## " heading. */
const section = (text: string, title: string) => {
  const start = text.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`no section "${title}"`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
};

/** Markdown without fenced code blocks and inline code spans: what is left can hold links and headings. */
const withoutCode = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

/** GitHub's anchors of a document's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, heading] of text.matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

describe('README', () => {
  it('is at most 350 lines', () => {
    // Act
    const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
    // Assess
    expect(lines).toBeLessThanOrEqual(350);
  });

  it.each(SETTING_NAMES)('documents the setting %s with its environment variable', (name) => {
    // Act & Assess
    expect(readme).toContain(`| \`${name}\` | \`${envVarName(name)}\` |`);
  });
});

describe('the documents', () => {
  it.each(DOCUMENTS)('%s links only to files and headings that exist', (document) => {
    // Prepare
    const links = [...withoutCode(read(document)).matchAll(/\]\(([^)\s]+)\)/g)]
      .map(([, target]) => target)
      .filter((target) => !/^[a-z]+:/i.test(target));
    // Act
    const broken = links.filter((target) => {
      const [file, anchor] = target.split('#');
      const resolved = file ? path.join(path.dirname(document), file) : document;
      if (!fs.existsSync(path.join(ROOT, resolved))) return true;
      if (anchor === undefined || !resolved.endsWith('.md')) return false;
      return !anchorsOf(read(resolved)).has(anchor);
    });
    // Assess
    expect(links.length).toBeGreaterThan(0);
    expect(broken).toEqual([]);
  });

  it('list every checkov skip of .checkov.yaml with its reason (docs/security.md)', () => {
    // Prepare
    const security = read('docs/security.md');
    // Act
    const skips = readSkips();
    // Assess
    expect(skips.length).toBeGreaterThan(0);
    for (const { id, reason } of skips)
      expect(security).toContain(`| ${id} | ${reason.replace('(accessLogBucket)', '(`accessLogBucket`)')} |`);
  });

  // The npm scripts that run a file of scripts/, e.g. validate -> "tsx scripts/validate.ts".
  const scriptCommands = Object.entries(scripts)
    .filter(([, command]) => /scripts\/[\w-]+\.ts/.test(command))
    .map(([name]) => (name === 'test' ? 'npm test' : `npm run ${name}`));

  it.each(scriptCommands)('list %s under "All commands" (docs/development.md), as help does', (command) => {
    // Prepare
    const allCommands = section(read('docs/development.md'), 'All commands');
    // Act & Assess
    expect(allCommands).toContain(`| \`${command}\``);
    expect(help).toContain(`    ${command} `);
  });

  it('name in "Project layout" (docs/development.md) every file of scripts/ and bench/', () => {
    // Prepare
    const layout = section(read('docs/development.md'), 'Project layout');
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

describe('help', () => {
  it('names exactly the npm scripts of package.json', () => {
    // Prepare
    const named = new Set([
      ...[...help.matchAll(/\bnpm run ([\w:-]+)/g)].map(([, name]) => name),
      ...(/\bnpm test\b/.test(help) ? ['test'] : []),
      // `npm run synth` is `cdktf synth`: help names it as `npx cdktf synth`.
      ...Object.entries(scripts)
        .filter(([, command]) => /^cdktf [a-z]+$/.test(command) && help.includes(`npx ${command}`))
        .map(([name]) => name),
    ]);
    // Act
    const unknown = [...named].filter((name) => !(name in scripts));
    const missing = Object.keys(scripts).filter((name) => !named.has(name));
    // Assess
    expect(unknown).toEqual([]);
    expect(missing).toEqual([]);
  });
});

describe('the item contract (docs/item-contract.md)', () => {
  it('has a row for every attribute of MetadataItem in handler/item.ts, and no other', () => {
    // Prepare
    const body = /export interface MetadataItem \{([\s\S]*?)\n\}/.exec(read('handler/item.ts'))?.[1] ?? '';
    const table = section(read('docs/item-contract.md'), 'Attributes');
    // Act
    const inType = [...body.matchAll(/^ {2}(\w+)\??:/gm)].map(([, name]) => name).sort();
    const inTable = [...table.matchAll(/^\| `(\w+)` \|/gm)].map(([, name]) => name).sort();
    // Assess
    expect(inType.length).toBeGreaterThan(20);
    expect(inTable).toEqual(inType);
  });
});
