// Every verb of the operator's contract (../shared/guides/cli-contract.md), in --help order.
// A verb that is not built yet would be a notBuilt(...) entry (exits 1 saying so); every verb is built now.
import type { Verb } from '../verb.ts';
import { captureVerb } from './capture.ts';
import { mapsVerb } from './maps.ts';
import { verifyVerb } from './verify.ts';
import { diffVerb } from './diff.ts';
import { restoreVerb } from './restore.ts';
import { rehearseVerb } from './rehearse.ts';
import { serve } from './serve.ts';
import { ui } from './ui.ts';
import { rollbackVerb } from './rollback.ts';
import { recoverVerb } from './recover.ts';
import { runsVerb } from './runs.ts';
import { showVerb } from './show.ts';
import { resumeVerb } from './resume.ts';
import { batchVerb } from './batch.ts';
import { assessVerb } from './assess.ts';
import { upgradeVerb } from './upgrade.ts';
import { demoVerb } from './demo.ts';

export const verbs: Verb[] = [
  captureVerb,
  mapsVerb,
  verifyVerb,
  diffVerb,
  restoreVerb,
  rehearseVerb,
  upgradeVerb,
  rollbackVerb,
  recoverVerb,
  runsVerb,
  showVerb,
  resumeVerb,
  batchVerb,
  assessVerb,
  serve,
  ui,
  demoVerb,
];
