// The host agent as installed (work/agent.sh): the POSIX-sh agent with the perl agent appended after an
// exit, so one file carries both paths and they never differ in version on a host. The sh part hands
// 'apply' and 'recover' to `perl -x` (which skips to the '#!...perl' line) when the host has a usable perl.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const agentScriptPath = fileURLToPath(new URL('./agent.sh', import.meta.url));
export const perlAgentPath = fileURLToPath(new URL('./agent.pl', import.meta.url));

let text: string | undefined;
export const agentScript = (): string =>
  text ??= `${readFileSync(agentScriptPath, 'utf8')}exit 2 # the perl path follows (agent.pl)\n${readFileSync(perlAgentPath, 'utf8')}`;
