// Where the host agent script lives, and its text (uploaded to hosts as work/agent.sh).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const agentScriptPath = fileURLToPath(new URL('./agent.sh', import.meta.url));

export const agentScript = (): string => readFileSync(agentScriptPath, 'utf8');
