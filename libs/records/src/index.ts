export * from './record-schema';
