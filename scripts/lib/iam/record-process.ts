// Preload of a child process whose SDK calls are recorded (node --require tsx/cjs --require this file):
// with TAP_RECORD_CALLS_AS set, every SDK client of the process records into the file it names (the
// soak's `tap redrive --local` and `tap reconcile --repair`, an operator's calls). Without it, nothing.
import { recordThisProcess } from './calls-file';

recordThisProcess();
