/** A readiness check of one dependency: resolves when it answers, rejects with the reason when not. */
export interface DependencyProbe {
  readonly name: string;
  check(timeoutMs: number): Promise<void>;
}

export const DEPENDENCY_PROBES = Symbol('DEPENDENCY_PROBES');
