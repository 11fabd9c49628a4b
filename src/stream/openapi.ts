/**
 * The OpenAPI 3.1 description of the HTTP API, served at /openapi.json, generated from the
 * routes' schemas (api-routes.ts, api-schemas.ts): what the server validates is what it
 * documents. Tests check that each route's documented answers are the ones the server gives.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { PROTOCOL_VERSION } from './hub.js';

const documents = new WeakMap<OpenAPIHono, object>();

export function openApiDocument(app: OpenAPIHono): object {
  const known = documents.get(app);
  if (known) return known;
  // Once per app: the document is kept, so the schemes are registered once.
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer TOKEN, a viewer or an admin token' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'token', {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: "?token=TOKEN, where a header cannot be set (a browser's EventSource and WebSocket)",
  });
  const document = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'livecap',
      version: String(PROTOCOL_VERSION),
      description: 'Live captions of video streams. Live events also come over WebSocket at /ws (see docs/protocol.md).',
    },
    // Reading needs a viewer token only when viewer tokens are configured; adding and removing
    // streams needs an admin token when any tokens are. Without tokens the server is open.
    security: [{ bearer: [] }, { token: [] }],
  });
  documents.set(app, document);
  return document;
}
