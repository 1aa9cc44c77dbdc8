# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# A templated mock: {{#each}} over the 20 items of a JSON request body, each
# written into a JSON answer (the handlebars engine, the jsonPath helper and
# the JSON escaping together). Compare with mocks-a-1-stub from the same run.
DESCRIPTION="mock stub, templated: {{#each}} over a 20-item JSON body"
METHOD=POST
ECHOBASE_PATH=/bench/each
BASELINE_PATH=/
CONTENT_TYPE=application/json
BODY='{"items":['
for ((i = 0; i < 20; i++)); do
    BODY+="{\"id\":$i,\"name\":\"item $i\"}"
    ((i < 19)) && BODY+=','
done
BODY+=']}'
setup() {
    curl -sf -X POST "$1/__admin/reset" >/dev/null
    curl -sf -X POST -H 'content-type: application/json' "$1/__admin/mappings" --data-binary @- >/dev/null <<'STUB'
{"request": {"method": "POST", "urlPath": "/bench/each"},
 "response": {"status": 200, "headers": {"Content-Type": "application/json"},
   "body": "{\"names\": [{{#each (jsonPath request.body '$.items') as |item|}}\"{{item.name}}\"{{#unless @last}},{{/unless}}{{/each}}]}",
   "transformers": ["response-template"]}}
STUB
    local answer
    answer=$(curl -sf -X POST -H 'content-type: application/json' --data-binary "$BODY" "$1/bench/each")
    [[ $answer == *'"item 19"]}' ]] || { log "  unexpected answer: $answer"; return 1; }
}
