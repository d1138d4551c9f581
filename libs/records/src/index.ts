export * from './record-schema';
export * from './record-validation';
export * from './schema-validation';
