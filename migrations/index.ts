/** Every migration, in order. The schema is these files; a merged migration is never edited. */
export const migrations: Function[] = [];
