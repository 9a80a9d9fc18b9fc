// A real OTLP/HTTP receiver on loopback for the tests: the workspace's
// `otlpx receive --port 0` (OTLPX_BIN, or built with cargo), whose printout
// of every decoded span is collected.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export async function startReceiver() {
  const bin = process.env.OTLPX_BIN;
  const child = bin
    ? spawn(bin, ['receive', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('cargo', ['run', '-q', '-p', 'otlpx', '--release', '--', 'receive', '--port', '0'], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`receiver did not start: ${err}`)), 120000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`receiver exited (${code}): ${err}`)));
  });
  return {
    url,
    output: () => out,
    /** Waits until `pred(output)` holds (at most `ms`). */
    async waitFor(pred, ms = 5000) {
      const until = Date.now() + ms;
      while (!pred(out)) {
        if (Date.now() > until) throw new Error(`receiver output never matched; got:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop() {
      child.kill('SIGTERM');
    },
  };
}
