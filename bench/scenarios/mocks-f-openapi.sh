# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# An operation of an OpenAPI document: the bearer token checked, the path
# parameter and the JSON body validated against their schemas, the example
# response sent. The baseline answers the same POST with its fixed body.
DESCRIPTION="OpenAPI mock: validated request, example response"
METHOD=POST
ECHOBASE_PATH=/bench/orders/42
BASELINE_PATH=/
CONTENT_TYPE=application/json
BODY='{"item": "book", "quantity": 2, "gift": false}'
HEADERS=("Authorization: Bearer bench-token")
setup() {
    curl -sf -X POST "$1/__admin/reset" >/dev/null
    curl -sf -X POST -H 'content-type: application/yaml' --data-binary @- \
        "$1/__admin/openapi?name=bench" >/dev/null <<'YAML'
openapi: 3.1.0
info: {title: Bench, version: "1"}
security: [{token: []}]
components:
  securitySchemes:
    token: {type: http, scheme: bearer}
paths:
  /bench/orders/{id}:
    post:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [item, quantity]
              additionalProperties: false
              properties:
                item: {type: string, minLength: 1, maxLength: 100}
                quantity: {type: integer, minimum: 1, maximum: 1000}
                gift: {type: boolean}
      responses:
        "201":
          description: Placed
          content:
            application/json:
              example: {id: 42, status: placed}
YAML
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
        -H 'Authorization: Bearer bench-token' -d "$BODY" "$1/bench/orders/42")
    [[ $status == 201 ]]
}
