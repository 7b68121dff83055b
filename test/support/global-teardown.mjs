export default async function globalTeardown() {
  const fifoSqs = globalThis.__FIFO_SQS__;
  if (fifoSqs && fifoSqs.exitCode === null) {
    const exited = new Promise((resolve) => fifoSqs.once('exit', resolve));
    fifoSqs.kill('SIGTERM');
    await exited;
  }
  await globalThis.__FAUXQS__?.stop();
}
