// Swagger UI for Lex's API (served only with API_DOCS=true). The schema is the operator's: the
// page asks for the token once per tab, keeps it in sessionStorage, and sends it with the
// requests it makes ("Try it out" included) unless one names its own credential.
const TOKEN_KEY = "lex-operator-token";

function operatorToken() {
  let token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    token = (window.prompt("The operator's token (ADMIN_TOKEN):") || "").trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
  }
  return token;
}

window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Swagger's default validator is a request to another site.
  validatorUrl: null,
  requestInterceptor(request) {
    const token = operatorToken();
    if (token && !request.headers.Authorization) request.headers.Authorization = `Bearer ${token}`;
    return request;
  },
  responseInterceptor(response) {
    // A wrong token is asked for again on the next load.
    if (response.status === 401) sessionStorage.removeItem(TOKEN_KEY);
    return response;
  },
});
