#!/usr/bin/env node
// `npx tap`: the operator CLI. Its TypeScript runs through tsx's loader, as `cdktf synth` runs main.ts.
// The SDK's notice about its future Node 22 minimum is noise on every command here (engines admits 20).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs');
require('../cli/tap.ts').main(process.argv);
