import fs from 'node:fs';
import path from 'node:path';
import { envVarName, SETTING_NAMES, SETTINGS } from '../../config';

const START = '<!-- settings:start -->';
const END = '<!-- settings:end -->';

/** A default as the README shows it: lists and tags as the environment writes them, empty ones in words. */
const shown = (value: unknown): string => {
  if (value === '') return 'empty';
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const tags = Object.entries(value).map(([key, tag]) => `${key}=${tag}`);
    return tags.length === 0 ? 'none' : `\`${tags.join(',')}\``;
  }
  return `\`${Array.isArray(value) ? value.join(',') : String(value)}\``;
};

/** README.md's configuration table, rendered from SETTINGS. */
const settingsTable = (): string =>
  [
    '| setting | environment variable | default | description |',
    '|---|---|---|---|',
    ...SETTING_NAMES.map(
      (name) =>
        `| \`${name}\` | \`${envVarName(name)}\` | ${shown(SETTINGS[name].default)} | ${SETTINGS[name].description} |`,
    ),
  ].join('\n');

describe("README's configuration table", () => {
  it('is the table rendered from SETTINGS, between the settings markers', () => {
    // Prepare
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const expected = settingsTable();
    // Act
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    const actual = start >= 0 && end > start ? readme.slice(start + START.length, end) : undefined;
    // Assess
    if (actual !== `\n\n${expected}\n\n`) {
      throw new Error(
        `README.md must hold, between ${START} and ${END} (each on its own line, a blank line either side of the table):\n\n${expected}\n`,
      );
    }
  });
});
