/** Every entity class; the data source registers exactly these. */
export const entities: Function[] = [];
