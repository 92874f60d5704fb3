// Writing files so that a crash never leaves a half-written one where a good one was:
// checkpoints, reports and pictures all go through writeFileAtomic.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `bytes` (one buffer, or chunks written in turn, so large content need not be held
 * whole) to `file` so that `file` is always either the old or the new content.
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array | Iterable<Uint8Array>): Promise<void> {
  const dir = path.dirname(file);
  await fs.promises.mkdir(dir, { recursive: true });
  const temporary = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.promises.open(temporary, 'w');
  try {
    if (bytes instanceof Uint8Array) await handle.writeFile(bytes);
    else for (const chunk of bytes) await handle.write(chunk);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.promises.rm(temporary, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.promises.rename(temporary, file);
  } catch (err) {
    await fs.promises.rm(temporary, { force: true });
    throw err;
  }
  // Make the rename itself durable.
  try {
    const d = await fs.promises.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some platforms cannot fsync a folder; the rename is still atomic.
  }
}
