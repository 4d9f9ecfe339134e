// The peer for bench/watch.sh: the official OpenFeature OFREP web provider, run under Node with
// the `eventsource` package as the global EventSource, connected to BASE_URL.
//
//   node bench/js/watch.mjs BASE_URL [TARGETING_KEY]
//
// Prints JSON Lines on stdout, one per line, each with `t` = wall-clock milliseconds
// (performance.timeOrigin + performance.now(), sub-millisecond):
//   {"type":"ready", ...}                       the provider finished its first bulk evaluation
//   {"type":"open"}                             its EventSource connected (again)
//   {"type":"sse", "id": ...}                   every SSE message its EventSource receives
//   {"type":"refetch", "url": ..., "status": N}  every bulk request it makes (a fetch wrapper)
//   {"type":"change", "flagsChanged": [...], "value": ...}  every PROVIDER_CONFIGURATION_CHANGED,
//                                                with new-checkout's value read in the handler
// SIGTERM / SIGINT close the provider and exit 0.
import { performance } from 'node:perf_hooks';
import { EventSource } from 'eventsource';
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';


const [baseUrl, targetingKey = 'js'] = process.argv.slice(2);
if (!baseUrl) {
  process.stderr.write('usage: node watch.mjs BASE_URL [TARGETING_KEY]\n');
  process.exit(2);
}

const now = () => performance.timeOrigin + performance.now();
const emit = (obj) => process.stdout.write(JSON.stringify({ t: now(), ...obj }) + '\n');

// Node 20 has no EventSource; the provider reads the global when it connects. The subclass only
// reports each message's arrival, so the harness can split the provider's latency into parts.
globalThis.EventSource = class extends EventSource {
  constructor(url, init) {
    super(url, init);
    this.addEventListener('open', () => emit({ type: 'open' }));
    this.addEventListener('message', (event) => emit({ type: 'sse', id: event.lastEventId }));
  }
};

// Observe every bulk request the provider makes.
const countingFetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input.url;
  const response = await fetch(input, init);
  if (url.includes('/ofrep/v1/evaluate/flags')) {
    emit({ type: 'refetch', url, status: response.status });
  }
  return response;
};

const provider = new OFREPWebProvider({
  baseUrl,
  fetchImplementation: countingFetch,
  // No localStorage under Node, and a benchmark must not start from a cache.
  cacheMode: 'disabled',
  // The default: follow eventStreams (ADR-0008), no polling.
  changeDetection: 'sse',
  pollInterval: 0,
});

const client = OpenFeature.getClient();
OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, (details) => {
  const t = now();
  const value = client.getBooleanValue('new-checkout', false);
  process.stdout.write(
    JSON.stringify({ t, type: 'change', flagsChanged: details?.flagsChanged ?? null, value }) + '\n',
  );
});

await OpenFeature.setContext({ targetingKey });
await OpenFeature.setProviderAndWait(provider);
emit({ type: 'ready', value: client.getBooleanValue('new-checkout', false) });

const stop = async () => {
  await OpenFeature.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
