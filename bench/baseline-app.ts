// The synth baseline: TapStack's own app written the way `cdktf init` users write it, the provider
// imported from its package root and run by ts-node with type-checking. Same stack, same config/,
// so the difference `npm run bench` measures is the import style and the runner alone.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** The project's own files main.ts imports (config/ has no cdktf import, so nothing in it needs rewriting). */
const MAIN_IMPORTS = ['config', 'cli/preflight/legacy-state.ts'];

const DEEP_IMPORT = /^@cdktf\/provider-aws\/lib\/([a-z0-9-]+)$/;

/** The package root's name for a deep module: lib/data-aws-iam-policy-document -> dataAwsIamPolicyDocument. */
const namespaceOf = (module: string) => module.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * `source` with every `import { X } from '@cdktf/provider-aws/lib/<module>'` (on one line or many)
 * replaced by one root import and `import X = aws.<module>.X;` aliases, where the first of them stood.
 * Parsed with the TypeScript compiler, so the rewrite follows the syntax, not the line breaks.
 */
export function withRootProviderImport(source: string, fileName = 'main.ts'): string {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const aliases: string[] = [];
  const spans: { start: number; end: number }[] = [];
  for (const statement of file.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const deep = DEEP_IMPORT.exec(statement.moduleSpecifier.text);
    if (!deep) continue;
    const bindings = statement.importClause?.namedBindings;
    if (!bindings || !ts.isNamedImports(bindings))
      throw new Error(`${fileName}: cannot rewrite "${statement.getText(file)}": only named imports are supported`);
    for (const element of bindings.elements) {
      const imported = (element.propertyName ?? element.name).text;
      aliases.push(`import ${element.name.text} = aws.${namespaceOf(deep[1])}.${imported};`);
    }
    spans.push({ start: statement.getStart(file), end: statement.getEnd() });
  }
  if (spans.length === 0) throw new Error(`${fileName}: no @cdktf/provider-aws/lib/ import to rewrite`);
  // Back to front, so earlier offsets stay valid; each import's own line break goes with it.
  let result = source;
  for (const { start, end } of [...spans].reverse()) {
    const lineEnd = result[end] === '\n' ? end + 1 : end;
    result = result.slice(0, start) + result.slice(lineEnd);
  }
  const header = [`import * as aws from '@cdktf/provider-aws';`, ...aliases].join('\n');
  return `${result.slice(0, spans[0].start)}${header}\n${result.slice(spans[0].start)}`;
}

/**
 * Writes the baseline app into `dir`: main.ts rewritten, the project files it imports beside it, a
 * cdktf.json whose app is ts-node, and links to node_modules and the handler bundle's folder.
 */
export function prepareBaselineApp(root: string, dir: string, bundleDir: string): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'main.ts'),
    withRootProviderImport(fs.readFileSync(path.join(root, 'main.ts'), 'utf8')),
  );
  for (const source of MAIN_IMPORTS) fs.cpSync(path.join(root, source), path.join(dir, source), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022'],
        module: 'commonjs',
        moduleResolution: 'node',
        strict: true,
        esModuleInterop: true,
        skipLibCheck: true,
        types: ['node'],
      },
      include: ['main.ts'],
    }),
  );
  const cdktf = JSON.parse(fs.readFileSync(path.join(root, 'cdktf.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ ...cdktf, app: 'npx ts-node main.ts' }, null, 2));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  fs.mkdirSync(path.dirname(path.join(dir, bundleDir)), { recursive: true });
  fs.symlinkSync(path.join(root, bundleDir), path.join(dir, bundleDir));
  return dir;
}
