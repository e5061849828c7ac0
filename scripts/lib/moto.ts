// moto (pinned in tools/requirements-moto.txt, in the project-local venv) as a server on a free loopback
// port: a tiny Python launcher binds port 0 itself and prints the port it got, so no other process can
// take the port between a check and the bind. Plain HTTP, or HTTPS with a self-signed certificate made
// at start-up (what `moto_server --ssl` does). The server is stopped by stop(), when this process exits,
// and by itself when this process dies without a word (its stdin, a pipe from here, closes).
import { ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { ensureVenv } from './venv';

export interface MotoOptions {
  /**
   * Backends to load before the port is announced (moto names: 's3', 'dynamodb', 'sqs', ...), so that
   * the first request to each does not pay its import. Every service is served either way.
   */
  readonly services?: readonly string[];
  /** HTTPS with a self-signed certificate made at start-up, as `moto_server --ssl`. */
  readonly ssl?: boolean;
}

/** How long the launcher may take to bind (the first backend imports take a few seconds). */
const START_TIMEOUT_MS = 60_000;

export interface Moto {
  /** http(s)://127.0.0.1:<port>: one endpoint for every service. */
  readonly endpoint: string;
  /** Stops the server (idempotent); resolves once the process is gone. */
  stop(): Promise<void>;
}

/**
 * The launcher: moto's own WSGI application and request handler (those of `moto_server`), bound by
 * werkzeug on port 0. make_server binds and listens, so once the port is printed a connection waits in
 * the backlog until serve_forever takes it: no need to poll. It exits when its stdin closes.
 */
const MOTO_LAUNCHER = String.raw`
import os, re, sys, threading
from werkzeug.serving import make_server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.s3.responses import S3Response

# moto 5.2 keeps a bucket's EventBridgeConfiguration but leaves it out of GetBucketNotificationConfiguration,
# where S3 returns it (an empty element): tap eventbridge enable and tap preflight read it there.
get_notification = S3Response.get_bucket_notification
def get_notification_with_eventbridge(self):
    status, headers, body = get_notification(self)
    config = self.backend.get_bucket_notification_configuration(self.bucket_name)
    if config is not None and config.event_bridge is not None:
        body = re.sub(r"<NotificationConfiguration([^>]*?)/>", r"<NotificationConfiguration\1></NotificationConfiguration>", body)
        body = body.replace("</NotificationConfiguration>", "<EventBridgeConfiguration/></NotificationConfiguration>")
    return status, headers, body
S3Response.get_bucket_notification = get_notification_with_eventbridge

host, tls, services = sys.argv[1], sys.argv[2] == "ssl", [s for s in sys.argv[3].split(",") if s]
app = DomainDispatcherApplication(create_backend_app)
for service in services:
    app.app_instances[service] = create_backend_app(service)
server = make_server(host, 0, app, threaded=True, request_handler=MotoRequestHandler, ssl_context="adhoc" if tls else None)
os.environ["MOTO_PORT"] = str(server.port)

def exit_with_parent():
    sys.stdin.read()
    os._exit(0)

threading.Thread(target=exit_with_parent, daemon=True).start()
print(server.port, flush=True)
server.serve_forever()
`;

/**
 * One request to moto (with `body`, if given); resolves to the HTTP status. The certificate of an
 * `ssl` moto is self-signed and made at start-up: it is not verified, for this loopback server only.
 */
export function motoRequest(endpoint: string, method: string, requestPath: string, body?: string): Promise<number> {
  const url = new URL(requestPath, endpoint);
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const request = send(url, { method, rejectUnauthorized: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** The port the launcher prints on its first line; rejects with its stderr if it exits first. */
function announcedPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(
      () => fail(`moto did not announce its port within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    );
    const fail = (why: string, cause?: unknown) => {
      clearTimeout(timer);
      reject(new Error(`${why}${stderr ? `:\n${stderr.slice(-4000)}` : ''}`, { cause }));
    };
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n');
      if (line.length < 2) return;
      const port = Number(line[0].trim());
      clearTimeout(timer);
      if (Number.isInteger(port) && port > 0) resolve(port);
      else fail(`moto launcher printed ${JSON.stringify(line[0])} instead of a port`);
    });
    child.once('error', (error) => fail(`moto launcher could not start: ${error.message}`, error));
    child.once('exit', (code, signal) => fail(`moto launcher exited (${signal ?? code}) before listening`));
  });
}

/**
 * Starts moto from the project-local venv (created on first use) on a free loopback port. The process
 * is stopped by stop(), or when this process exits, whatever happens.
 */
export async function startMoto(options: MotoOptions = {}): Promise<Moto> {
  const python = path.join(ensureVenv('moto'), 'python');
  const args = ['-c', MOTO_LAUNCHER, '127.0.0.1', options.ssl ? 'ssl' : 'plain', (options.services ?? []).join(',')];
  const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  let stopping: Promise<void> | undefined;
  // moto keeps nothing worth a graceful shutdown: SIGKILL, and resolve once the process is gone.
  const stop = () =>
    (stopping ??= new Promise<void>((resolve) => {
      process.removeListener('exit', onExit);
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    }));
  try {
    const port = await announcedPort(child);
    // Its output is no longer read: drain it so that a chatty server never blocks on a full pipe.
    child.stdout?.resume();
    child.stderr?.resume();
    return { endpoint: `${options.ssl ? 'https' : 'http'}://127.0.0.1:${port}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
