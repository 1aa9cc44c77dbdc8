/* Renders /openapi.json with Swagger UI (vendored in swagger-ui/).
 * A file of its own because the page's Content-Security-Policy runs no inline script.
 * - validatorUrl 'none': Swagger UI would otherwise send the document's URL to
 *   validator.swagger.io for a badge.
 * - docExpansion 'none', filter, no models expanded: the document has some 200
 *   operations; Swagger UI 5.36 stops rendering part-way when asked to draw them all
 *   at once, so tags open on demand and the filter box finds an operation.
 * The default layout has no URL box: the page shows this server's API only. */
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: 'none',
  docExpansion: 'none',
  filter: true,
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true
});
