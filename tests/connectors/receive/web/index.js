// The instrumented test page: documentLoad spans carrying a session id go to the receiver
// through the OTLP/HTTP JSON exporter, then an in-page survey answer with the same session id.
// window.PARALLAX_TEST = {endpoint, token, sessionId} is set by the HTML page.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { WebTracerProvider } from '@opentelemetry/sdk-trace-web';

const cfg = window.PARALLAX_TEST;
const auth = { Authorization: `Bearer ${cfg.token}` };
const exporter = new OTLPTraceExporter({ url: `${cfg.endpoint}/v1/traces`, headers: auth });
const provider = new WebTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'shop-web', 'session.id': cfg.sessionId }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
provider.register();
registerInstrumentations({ instrumentations: [new DocumentLoadInstrumentation()] });

async function answer() {
  const r = await fetch(`${cfg.endpoint}/v1/feedback`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...auth },
    body: JSON.stringify({ score: 2, metric: 'csat', verbatim: 'the page was slow',
                           session_id: cfg.sessionId, page_url: window.location.href }),
  });
  return { status: r.status, body: await r.json() };
}

window.addEventListener('load', () => {
  // The document-load instrumentation ends its spans just after the load event.
  setTimeout(async () => {
    try {
      await provider.forceFlush();
      window.__parallax_done = { feedback: await answer() };
    } catch (e) {
      window.__parallax_done = { error: String(e) };
    }
  }, 300);
});
