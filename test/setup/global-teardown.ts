export default async function globalTeardown(): Promise<void> {
  await globalThis.__SYNTHGATE_PG__?.stop();
}
