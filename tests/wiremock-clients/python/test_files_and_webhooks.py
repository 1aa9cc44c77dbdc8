"""Body files (``/__admin/files``, ``bodyFileName``) and webhooks
(``serveEventListeners``, ``postServeActions``), through WireMock's REST API as
its users call it: the same checks run against the real WireMock and against
echobase, so each expectation is WireMock's own behaviour."""

import http.server
import queue
import threading
import uuid

import pytest
import requests

from conftest import ADMIN_URL, BASE_URL, PREFIX


def unique(name):
    return f"pywm-{uuid.uuid4().hex[:8]}-{name}"


@pytest.fixture
def body_file():
    """A body file name of this test's own, removed afterwards (files outlive resets)."""
    names = []

    def make(name, content):
        full = unique(name)
        response = requests.put(f"{ADMIN_URL}/files/{full}", data=content)
        assert response.status_code == 200, response.text
        names.append(full)
        return full

    yield make
    for name in names:
        requests.delete(f"{ADMIN_URL}/files/{name}")


def create_stub(mapping):
    response = requests.post(f"{ADMIN_URL}/mappings", json=mapping)
    assert response.status_code == 201, response.text
    return response.json()


def test_put_answers_the_content_in_base64_and_get_returns_it(body_file):
    name = unique("data.json")
    response = requests.put(f"{ADMIN_URL}/files/{name}", data=b'{"x":1}')
    try:
        assert response.status_code == 200
        assert response.json() == "eyJ4IjoxfQ=="
        got = requests.get(f"{ADMIN_URL}/files/{name}")
        assert got.status_code == 200
        assert got.content == b'{"x":1}'
        assert name in requests.get(f"{ADMIN_URL}/files").json()
    finally:
        requests.delete(f"{ADMIN_URL}/files/{name}")


def test_files_in_folders_are_listed_by_their_path(body_file):
    folder = unique("folder")
    response = requests.put(f"{ADMIN_URL}/files/{folder}/inner.txt", data=b"in")
    try:
        assert response.status_code == 200
        assert f"{folder}/inner.txt" in requests.get(f"{ADMIN_URL}/files").json()
        assert requests.get(f"{ADMIN_URL}/files/{folder}/inner.txt").content == b"in"
    finally:
        requests.delete(f"{ADMIN_URL}/files/{folder}/inner.txt")


def test_a_missing_file_is_a_404_and_deleting_it_is_fine():
    name = unique("never.txt")
    assert requests.get(f"{ADMIN_URL}/files/{name}").status_code == 404
    assert requests.delete(f"{ADMIN_URL}/files/{name}").status_code == 200


def test_a_deleted_file_is_gone(body_file):
    name = body_file("gone.txt", b"x")
    assert requests.delete(f"{ADMIN_URL}/files/{name}").status_code == 200
    assert requests.get(f"{ADMIN_URL}/files/{name}").status_code == 404
    assert name not in requests.get(f"{ADMIN_URL}/files").json()


def test_body_file_name_serves_the_file(body_file):
    name = body_file("plain.txt", b"hello {{request.path}}")
    create_stub({"request": {"urlPath": f"{PREFIX}/file"}, "response": {"bodyFileName": name}})
    response = requests.get(f"{BASE_URL}{PREFIX}/file")
    assert (response.status_code, response.text) == (200, "hello {{request.path}}")


def test_a_templated_body_file_is_rendered(body_file):
    name = body_file("tpl.txt", b"hello {{request.path}}")
    create_stub({"request": {"urlPath": f"{PREFIX}/tpl"},
                 "response": {"bodyFileName": name, "transformers": ["response-template"]}})
    assert requests.get(f"{BASE_URL}{PREFIX}/tpl").text == f"hello {PREFIX}/tpl"


def test_a_templated_body_file_name_picks_the_file(body_file):
    name = body_file("by-name.txt", b"picked")
    stem = name[: -len(".txt")]
    create_stub({"request": {"urlPathPattern": f"{PREFIX}/pick/.*"},
                 "response": {"bodyFileName": "{{request.pathSegments.[2]}}.txt",
                              "transformers": ["response-template"]}})
    response = requests.get(f"{BASE_URL}{PREFIX}/pick/{stem}")
    assert (response.status_code, response.text) == (200, "picked")


def test_a_replaced_file_is_served_at_once(body_file):
    name = body_file("replace.txt", b"one")
    create_stub({"request": {"urlPath": f"{PREFIX}/replace"}, "response": {"bodyFileName": name}})
    assert requests.get(f"{BASE_URL}{PREFIX}/replace").text == "one"
    requests.put(f"{ADMIN_URL}/files/{name}", data=b"two")
    assert requests.get(f"{BASE_URL}{PREFIX}/replace").text == "two"


def test_a_stub_naming_a_missing_file_answers_500():
    create_stub({"request": {"urlPath": f"{PREFIX}/missing"},
                 "response": {"bodyFileName": unique("missing.txt")}})
    assert requests.get(f"{BASE_URL}{PREFIX}/missing").status_code == 500


# ---- webhooks -----------------------------------------------------------------------


@pytest.fixture
def sink():
    """A webhook target on 127.0.0.1: answers 200 and queues (method, path, headers, body)."""
    received = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_any(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            received.put((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()


def test_a_webhook_is_rendered_from_the_original_request(sink):
    create_stub({
        "request": {"method": "POST", "urlPath": f"{PREFIX}/orders"},
        "response": {"status": 202},
        "serveEventListeners": [{"name": "webhook", "parameters": {
            "method": "PUT",
            "url": sink.url + "/cb/{{jsonPath originalRequest.body '$.id'}}",
            "headers": {"X-Trace": "{{originalRequest.headers.X-Trace}}"},
            "body": "{\"order\": {{jsonPath originalRequest.body '$.id'}}, \"shop\": \"{{parameters.shop}}\"}",
            "shop": "north"}}]})
    response = requests.post(f"{BASE_URL}{PREFIX}/orders", data='{"id": 42}', headers={"X-Trace": "t-1"})
    assert response.status_code == 202
    method, path, headers, body = sink.received.get(timeout=10)
    assert (method, path) == ("PUT", "/cb/42")
    assert headers["x-trace"] == "t-1"
    assert body == b'{"order": 42, "shop": "north"}'


def test_a_legacy_post_serve_action_is_sent_without_a_body_on_get(sink):
    create_stub({"request": {"urlPath": f"{PREFIX}/legacy"},
                 "postServeActions": {"webhook": {"url": sink.url + "/old", "base64Body": "aGk="}}})
    assert requests.get(f"{BASE_URL}{PREFIX}/legacy").status_code == 200
    method, path, _, body = sink.received.get(timeout=10)
    assert (method, path, body) == ("GET", "/old", b"")


def test_a_webhook_with_a_delay_is_sent(sink):
    create_stub({"request": {"urlPath": f"{PREFIX}/later"},
                 "response": {"body": "now"},
                 "serveEventListeners": [{"name": "webhook", "parameters": {
                     "method": "POST", "url": sink.url + "/later", "body": "b",
                     "delay": {"type": "fixed", "milliseconds": 300}}}]})
    assert requests.get(f"{BASE_URL}{PREFIX}/later").text == "now"
    method, path, _, body = sink.received.get(timeout=10)
    assert (method, path, body) == ("POST", "/later", b"b")
