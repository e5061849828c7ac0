// npm run licenses: every dependency, dev tools included, npm packages and the Python tools in the
// project-local venvs, is under a permissive licence. The project is MPL-2.0; nothing GPL, AGPL or SSPL
// may come in, not even for tests. Fails naming each package that is not clearly permissive.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { info, root, runMain, step } from './lib/cli';
import { ensureVenv } from './lib/venv';

/** SPDX ids counted as permissive (CC-BY-4.0 covers data only: caniuse-lite's browser tables). */
export const PERMISSIVE = new Set([
  '0BSD',
  'Apache-2.0',
  'BlueOak-1.0.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'CC-BY-4.0',
  'CC0-1.0',
  'CNRI-Python',
  'ISC',
  'MIT',
  'MIT-0',
  'MPL-2.0',
  'PSF-2.0',
  'Python-2.0',
  'Unlicense',
  'Zlib',
]);

/**
 * Packages whose metadata carries no SPDX licence, each read by hand: the licence and where it is stated.
 * A package listed here that changes version is checked again (the entry names the version).
 */
export const VERIFIED: Readonly<Record<string, string>> = {
  'busboy@0.3.1': 'MIT: package.json "licenses" and LICENSE',
  'dicer@0.3.0': 'MIT: package.json "licenses" and LICENSE',
  'exit@0.1.2': 'MIT: package.json "licenses" and LICENSE-MIT',
  'streamsearch@0.1.2': 'MIT: package.json "licenses" and LICENSE',
  'humanize-number@0.0.2': 'MIT: Readme.md, "License: MIT"',
  'only@0.0.2': 'MIT: Readme.md, "(The MIT License)"',
  'jsonify@0.0.1': 'Public Domain: package.json; no obligations',
};

/** Whether an SPDX expression admits permissive use: any side of an OR, every side of an AND. */
export function permits(expression: string): boolean {
  const text = expression.trim().replace(/^\((.*)\)$/, '$1');
  if (/ OR /i.test(text)) return text.split(/ OR /i).some(permits);
  if (/ AND /i.test(text)) return text.split(/ AND /i).every(permits);
  return PERMISSIVE.has(text);
}

export interface Finding {
  readonly ecosystem: 'npm' | 'python';
  readonly name: string;
  readonly version: string;
  readonly license: string;
}

/** Every package in package-lock.json whose licence is not permissive (or unknown and not verified). */
export function npmFindings(lock: { packages: Record<string, { version?: string; license?: string }> }) {
  const findings: Finding[] = [];
  const installed = Object.entries(lock.packages).filter(([where]) => where !== '');
  for (const [where, pkg] of installed) {
    const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const license = pkg.license ?? '';
    if ((license && permits(license)) || VERIFIED[`${name}@${pkg.version}`]) continue;
    findings.push({ ecosystem: 'npm', name, version: pkg.version ?? '?', license: license || 'none declared' });
  }
  return { checked: installed.length, findings };
}

/** Trove classifiers and free-text licence fields of Python packages, as SPDX ids. */
const PYTHON_LICENSES: Readonly<Record<string, string>> = {
  'MIT License': 'MIT',
  'BSD License': 'BSD-3-Clause',
  BSD: 'BSD-3-Clause',
  'Apache Software License': 'Apache-2.0',
  'Apache 2.0': 'Apache-2.0',
  'Apache License 2.0': 'Apache-2.0',
  'ISC License (ISCL)': 'ISC',
  'Mozilla Public License 2.0 (MPL 2.0)': 'MPL-2.0',
  'Python Software Foundation License': 'PSF-2.0',
  'The Unlicense (Unlicense)': 'Unlicense',
};

export interface PythonDistribution {
  readonly name: string;
  readonly version: string;
  /** PEP 639 License-Expression, else the License field when it is short. */
  readonly license: string;
  /** The last part of each "License ::" classifier. */
  readonly classifiers: readonly string[];
}

/** A Python package is permissive when its expression is, or any licence it declares is (dual licences). */
export function pythonPermits(dist: PythonDistribution): boolean {
  const declared = [dist.license, ...dist.classifiers].filter(Boolean);
  return declared.some((l) => permits(PYTHON_LICENSES[l] ?? l));
}

const LIST_DISTRIBUTIONS = `
import importlib.metadata as m, json
out = []
for d in m.distributions():
    md = d.metadata
    text = (md.get('License-Expression') or md.get('License') or '').strip()
    out.append({'name': md['Name'], 'version': md['Version'],
                'license': text if len(text) < 80 and '\\n' not in text else '',
                'classifiers': [c.split('::')[-1].strip() for c in (md.get_all('Classifier') or []) if c.startswith('License ::')]})
print(json.dumps(out))
`;

function pythonDistributions(venvBin: string): PythonDistribution[] {
  return JSON.parse(execFileSync(path.join(venvBin, 'python'), ['-c', LIST_DISTRIBUTIONS]).toString());
}

async function main() {
  step('Licences: every npm package and every Python tool must be permissive');
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const npm = npmFindings(lock);
  info(`npm: ${npm.checked} packages in package-lock.json (${Object.keys(VERIFIED).length} verified by hand)`);
  const findings = [...npm.findings];
  const tools = fs
    .readdirSync(path.join(root, 'tools'))
    .map((f) => /^requirements-(.+)\.txt$/.exec(f)?.[1])
    .filter((name): name is string => Boolean(name));
  for (const tool of tools) {
    const distributions = pythonDistributions(ensureVenv(tool));
    info(`python: ${distributions.length} packages in .venv/${tool}`);
    for (const d of distributions.filter((dist) => !pythonPermits(dist))) {
      const license = [d.license, ...d.classifiers].filter(Boolean).join(' / ') || 'none declared';
      findings.push({ ecosystem: 'python', name: d.name, version: d.version, license });
    }
  }
  for (const f of findings) info(`  NOT PERMISSIVE ${f.ecosystem} ${f.name}@${f.version}: ${f.license}`);
  if (findings.length > 0) throw new Error(`${findings.length} package(s) without a permissive licence`);
  step('licences: OK, every dependency is permissive');
}

if (require.main === module) runMain('licenses', main);
