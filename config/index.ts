// TapStack's configuration and everything derived from it that the stack, the handler's environment,
// the scripts and the tests must agree on, one file per concern. No cdktf import: scripts and tests
// read these files without loading CDKTF or the provider bindings.
export * from './settings';
export * from './names';
export * from './function';
export * from './alarms';
export * from './delivery';
