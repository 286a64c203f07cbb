// Remote shell port: commands on a host or sandbox over SSH (ssh2). Output streams as it comes.

export interface ExecResult {
  exitCode: number | null;
  /** Set when the remote process died from a signal. */
  signal?: string;
}

export interface ExecOptions {
  signal?: AbortSignal;
  /** Data written to the command's stdin, then EOF. */
  stdin?: Uint8Array | string;
  onStdout?(chunk: Uint8Array): void;
  onStderr?(chunk: Uint8Array): void;
  /** Fails with UnderstudyError('timeout') after this many ms. */
  timeoutMs?: number;
}

export interface RemoteShell {
  /** Runs `command` through the remote login shell. Never throws on a non-zero exit. */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Convenience: runs and collects output (bounded; for small outputs only). */
  run(command: string, opts?: Omit<ExecOptions, 'onStdout' | 'onStderr'>): Promise<ExecResult & { stdout: string; stderr: string }>;
  close(): Promise<void>;
}
