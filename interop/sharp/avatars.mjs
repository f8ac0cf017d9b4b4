// The reference importer's avatar step with sharp (reference/B §1.5): for every file in DIR,
// avatar.jpg (square centre crop, q85) and avatar-128.jpg (128×128, q80), THREADS at a time
// on a libuv pool of THREADS. Prints the count and the bytes written (to keep the work honest).
// Usage: UV_THREADPOOL_SIZE=THREADS node avatars.mjs DIR THREADS
import sharp from "sharp";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

const [dir, threadsArg] = process.argv.slice(2);
const threads = Number(threadsArg);
sharp.concurrency(1);
sharp.cache(false);
const files = (await readdir(dir)).sort();
let next = 0;
let bytes = 0;
async function worker() {
  while (next < files.length) {
    const src = await readFile(join(dir, files[next++]));
    const meta = await sharp(src).metadata();
    const side = Math.min(meta.width, meta.height, 1024);
    const full = await sharp(src).rotate().resize(side, side, { fit: "cover" }).jpeg({ quality: 85 }).toBuffer();
    const small = await sharp(src).rotate().resize(128, 128, { fit: "cover" }).jpeg({ quality: 80 }).toBuffer();
    bytes += full.length + small.length;
  }
}
await Promise.all(Array.from({ length: threads }, worker));
console.log(JSON.stringify({ avatars: files.length, bytes }));
