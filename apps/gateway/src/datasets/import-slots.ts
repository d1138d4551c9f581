import { DomainError } from '../gateway.errors';

/**
 * Bounds how many imports run at once in this gateway process: in total and per organisation.
 * Each running import holds a pool connection and its dataset's row lock for as long as its
 * upload lasts, so without a bound a few slow (or stalled) uploads starve every other request.
 * An import over either bound is refused at once with TOO_MANY_IMPORTS; nothing waits in line.
 */
export class ImportSlots {
  private total = 0;
  private readonly byOrganization = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerOrganization: number,
  ) {}

  /** Takes a slot for `organizationId`, or throws TOO_MANY_IMPORTS; returns the slot's release (idempotent). */
  acquire(organizationId: string): () => void {
    const mine = this.byOrganization.get(organizationId) ?? 0;
    if (mine >= this.maxPerOrganization) {
      throw new DomainError(
        'TOO_MANY_IMPORTS',
        `your organisation already has ${mine} imports running, the most allowed at once (IMPORT_MAX_CONCURRENT_PER_ORGANIZATION); retry when one has finished`,
      );
    }
    if (this.total >= this.maxTotal) {
      throw new DomainError('TOO_MANY_IMPORTS', `the gateway already runs ${this.total} imports, the most allowed at once (IMPORT_MAX_CONCURRENT); retry shortly`);
    }
    this.total++;
    this.byOrganization.set(organizationId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.byOrganization.get(organizationId) ?? 1) - 1;
      if (left === 0) this.byOrganization.delete(organizationId);
      else this.byOrganization.set(organizationId, left);
    };
  }
}
