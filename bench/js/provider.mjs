// The official OpenFeature OFREP web provider as a provider under test for
// `ofrep conform --provider`: run under Node with the `eventsource` package as the global
// EventSource, pointed at OFREP_ENDPOINT (or the first argument), left running with its defaults
// (follow eventStreams, no polling) until SIGTERM or SIGINT.
//
//   ofrep conform --provider 'node bench/js/provider.mjs'
//   OFREP_ENDPOINT=http://127.0.0.1:8016 node bench/js/provider.mjs
//
// It prints nothing on stdout. On stderr: the provider's own log lines and the SDK's events
// (ready, stale, error, configuration changed), which `conform` shows when a scenario errors.
// The only option set is `cacheMode: 'disabled'`: Node has no localStorage, and every scenario
// must start from nothing.
import { EventSource } from 'eventsource';
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

const baseUrl = process.argv[2] ?? process.env.OFREP_ENDPOINT;
if (!baseUrl) {
  process.stderr.write('usage: OFREP_ENDPOINT=URL node provider.mjs   (or: node provider.mjs URL)\n');
  process.exit(2);
}

const log = (level, args) => process.stderr.write(`provider.mjs ${level}: ${args.join(' ')}\n`);

// Stop first, whatever state the provider is in: SIGTERM may come before it is ready. The
// timer makes sure a close that hangs cannot keep the process past its grace.
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 500).unref();
  OpenFeature.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// Node 20 has no EventSource; the provider reads the global when it connects.
globalThis.EventSource = EventSource;

const logger = {
  error: (...a) => log('error', a),
  warn: (...a) => log('warn', a),
  info: (...a) => log('info', a),
  debug: () => {},
};
const provider = new OFREPWebProvider({ baseUrl, cacheMode: 'disabled' }, logger);

for (const [name, event] of [
  ['ready', ProviderEvents.Ready],
  ['stale', ProviderEvents.Stale],
  ['error', ProviderEvents.Error],
  ['configuration changed', ProviderEvents.ConfigurationChanged],
]) {
  OpenFeature.addHandler(event, (details) => log('event', [name, details?.message ?? '']));
}

await OpenFeature.setContext({ targetingKey: 'ofrep-conform' });
try {
  await OpenFeature.setProviderAndWait(provider);
} catch (error) {
  // Keep running, as an application would: the provider may recover on a later event.
  log('error', [`initialisation failed: ${error}`]);
}
// The SDK's timers and the EventSource keep the event loop alive; this keeps it alive when
// neither is left (a provider that gave up), so `conform`, not the harness, ends the run.
setInterval(() => {}, 1 << 30);
