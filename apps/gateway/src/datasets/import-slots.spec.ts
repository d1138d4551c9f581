import { ImportSlots } from './import-slots';

describe('ImportSlots', () => {
  it('refuses beyond the per-organisation bound, then beyond the total, and frees each slot once', () => {
    const slots = new ImportSlots(3, 2);
    const a1 = slots.acquire('a');
    slots.acquire('a');
    expect(() => slots.acquire('a')).toThrow(expect.objectContaining({ code: 'TOO_MANY_IMPORTS', message: expect.stringContaining('IMPORT_MAX_CONCURRENT_PER_ORGANIZATION') }));
    slots.acquire('b');
    expect(() => slots.acquire('c')).toThrow(expect.objectContaining({ code: 'TOO_MANY_IMPORTS', message: expect.stringContaining('(IMPORT_MAX_CONCURRENT)') }));
    a1();
    a1(); // a second release must not free a slot it does not hold
    slots.acquire('c');
    expect(() => slots.acquire('d')).toThrow(expect.objectContaining({ code: 'TOO_MANY_IMPORTS' }));
  });
});
