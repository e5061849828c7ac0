// Local state from before region-qualified names: the rule that stops synth (main.ts), and
// `tap preflight`'s local state check (state.ts).
import fs from 'node:fs';
import path from 'node:path';
import { resourceNames, TapConfig } from '../../config';

/**
 * Local state written before names carried the region (terraform.<project>-<env>.tfstate) must not be
 * silently left behind: Terraform would start from empty state and try to create resources that
 * exist. Returns the message that stops synth, with the exact command to move the file, or undefined.
 */
export function legacyStateProblem(projectDir: string, config: TapConfig): string | undefined {
  if (config.stateBucket) return undefined;
  const names = resourceNames(config);
  const legacy = path.join(projectDir, names.legacyLocalStateFile);
  if (!fs.existsSync(legacy)) return undefined;
  const current = path.join(projectDir, names.localStateFile);
  const heading = `Local state from before region-qualified names found: ${names.legacyLocalStateFile}.`;
  if (fs.existsSync(current)) {
    return (
      `${heading} ${names.localStateFile} exists too, so the stack would use it and ignore the old file. ` +
      `Compare them, keep the one that holds the deployment under ${names.localStateFile}, and remove ` +
      `${names.legacyLocalStateFile} (keep a copy until a plan shows no changes).`
    );
  }
  const region = regionOfState(legacy);
  if (region && region !== config.region) {
    const target = resourceNames({ ...config, region }).localStateFile;
    return (
      `${heading} It holds resources in ${region}, not in the configured region ${config.region}. ` +
      `For that deployment, set TAP_REGION=${region} and run: mv ${names.legacyLocalStateFile} ${target}`
    );
  }
  return `${heading} This stack keeps its state in ${names.localStateFile} now; run: mv ${names.legacyLocalStateFile} ${names.localStateFile}`;
}

/** The region of the first regional ARN in a Terraform state file, if any. */
function regionOfState(file: string): string | undefined {
  const match = /"arn:aws[\w-]*:[\w-]+:([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):\d{12}:/.exec(
    fs.readFileSync(file, 'utf8'),
  );
  return match?.[1];
}
