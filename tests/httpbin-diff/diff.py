#!/usr/bin/env python3
"""Differential test: the same requests to httpbin 0.10.4 and to echobase's /echo.

Sends every generated request to both servers, normalises what legitimately differs
(the host and port, the /echo prefix, dates, random data, JSON formatting) and compares
the status, the headers that matter and the body. A difference is intended only when a
line of the differences file names it (case pattern, aspect) with a reason; a listed
difference that no longer occurs is a failure too, so the list stays true.

    diff.py HTTPBIN_BASE ECHOBASE_BASE DIFFERENCES_FILE

(ECHOBASE_BASE ends with the prefix: http://127.0.0.1:PORT/echo.) The standard library
and brotlicffi (for /brotli): it runs from httpbin's venv, which has both.
"""

import base64
import fnmatch
import hashlib
import gzip
import http.client
import json
import re
import sys
import urllib.parse
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

# Response headers compared (lower case); the others (Date, Server, Content-Length
# of differently formatted JSON, request ids...) legitimately differ.
COMPARED_HEADERS = (
    "content-type",
    "location",
    "www-authenticate",
    "proxy-authenticate",
    "set-cookie",
    "content-encoding",
    "content-range",
    "accept-ranges",
    "etag",
    "cache-control",
    "x-more-info",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
)

# Request headers each server adds or hides on its own: not the client's doing.
IGNORED_REQUEST_HEADERS = {"Connection"}


@dataclass
class Case:
    """One request, and what of its answer varies by design."""

    id: str
    method: str
    path: str  # relative to the base, query included
    headers: dict = field(default_factory=dict)
    body: bytes | None = None
    # self-length: the body's `Content-Length` member must be the body's own length
    # (/response-headers), which differs with JSON formatting; random-body: compare the
    # length only; no-body: skip the body; random-status:
    # the status must be one of `statuses`, nothing else compared; random-etag: the
    # ETag's presence only; date-headers: Last-Modified's presence only.
    rules: frozenset = frozenset()
    statuses: tuple = ()
    # A second request built from the first one's answer (a digest challenge): given
    # the server's path prefix and the first answer, it returns (headers, body); the
    # second answer is the one compared.
    follow_up: object = None


def multipart(fields, files, boundary="diffboundary7MA4YWxk"):
    parts = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
        )
    for name, filename, ctype, value in files:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        if ctype:
            head += f"Content-Type: {ctype}\r\n"
        parts.append((head + "\r\n").encode() + value + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, body


def digest_answer(user, password, method, body=b"", qop_choice="auth", cookies=True):
    """A follow-up that answers a Digest challenge as an RFC 7616 client does."""

    def answer(prefix, path, headers):
        challenge = (headers.get("www-authenticate") or [""])[0]
        fields = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', challenge)}
        algorithm = fields.get("algorithm", "MD5")
        digest = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256, "SHA-512": hashlib.sha512}[algorithm]
        h = lambda data: digest(data.encode() if isinstance(data, str) else data).hexdigest()
        uri = prefix + path
        nonce, nc, cnonce = fields.get("nonce", ""), "00000001", "0a4f113b"
        ha1 = h(f"{user}:{fields.get('realm', '')}:{password}")
        ha2 = h(f"{method}:{uri}:{h(body)}") if qop_choice == "auth-int" else h(f"{method}:{uri}")
        response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop_choice}:{ha2}")
        authorization = (
            f'Digest username="{user}", realm="{fields.get("realm", "")}", nonce="{nonce}", uri="{uri}", '
            f'algorithm={algorithm}, qop={qop_choice}, nc={nc}, cnonce="{cnonce}", response="{response}", '
            f'opaque="{fields.get("opaque", "")}"'
        )
        sent = {"Authorization": authorization}
        if cookies:
            jar = [c.split(";")[0] for c in headers.get("set-cookie", [])]
            if jar:
                sent["Cookie"] = "; ".join(jar)
        return sent, body or None

    return answer


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def cases():
    """Every route, with its parameters, methods, bodies and headers."""
    out = []

    def add(id, method, path, headers=None, body=None, rules=(), statuses=(), follow_up=None):
        out.append(Case(id, method, path, headers or {}, body, frozenset(rules), tuple(statuses), follow_up))

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    js = {"Content-Type": "application/json"}
    text = {"Content-Type": "text/plain"}
    mp_headers, mp_body = multipart(
        [("title", b"hello"), ("tag", b"a"), ("tag", b"b")],
        [("upload", "a.txt", "text/plain", b"file text"), ("blob", "b.bin", "application/x-thing", b"\xff\x00\xfe"),
         ("plain", "c.dat", None, b"no type")],
    )
    mp_two_headers, mp_two_body = multipart([], [("f", "1.txt", "text/plain", b"one"), ("f", "2.txt", "text/plain", b"two")])
    bodies = [
        ("none", {}, None),
        ("json", js, b'{"name": "ada", "tags": ["x", 1, null], "n": 1.5}'),
        ("json-array", js, b"[1, 2, 3]"),
        ("form", form, b"name=ada&lang=en&lang=fr&empty="),
        ("text", text, "héllo wörld".encode()),
        ("binary", {"Content-Type": "application/octet-stream"}, b"\xff\x00\xfe\x01"),
        ("not-json", js, b"{not json"),
        ("multipart", mp_headers, mp_body),
        ("multipart-repeated-file", mp_two_headers, mp_two_body),
    ]
    queries = ["", "?a=1", "?a=1&a=2&b=x%20y", "?empty=&flag", "?%C3%A9t%C3%A9=%E2%9C%93"]
    extra_headers = [
        ("plain", {}),
        ("custom", {"X-Custom": "yes", "Accept-Language": "fr"}),
        ("user-agent", {"User-Agent": "diff-client/1.0"}),
    ]

    # The request, described.
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"]:
        for q in queries:
            add(f"anything {method} {q}", method, f"/anything{q}")
        for bname, h, b in bodies:
            if method != "GET" or b is None:
                add(f"anything {method} body={bname}", method, "/anything/x/y", h, b)
    for hname, h in extra_headers:
        add(f"anything GET headers={hname}", "GET", "/anything", h)
        add(f"get headers={hname}", "GET", "/get?x=1", h)
        add(f"headers headers={hname}", "GET", "/headers", h)
        add(f"user-agent headers={hname}", "GET", "/user-agent", h)
    add("anything TRACE", "TRACE", "/anything")
    for route in ["/status/200", "/status/418", "/delay/0", "/redirect-to?url=/get", "/anything/trace"]:
        add(f"TRACE {route}", "TRACE", route)
    mp_only_files_headers, mp_only_files_body = multipart(
        [("note", "ünïcode".encode())],
        [("empty", "empty.txt", "text/plain", b""), ("img", "p.png", "image/png", b"\x89PNG\r\n\x1a\n\x00"),
         ("json", "d.json", "application/json", b'{"a": 1}')],
    )
    for method in ["POST", "PUT", "PATCH", "DELETE"]:
        add(f"anything {method} files", method, "/anything/upload?x=1", mp_only_files_headers, mp_only_files_body)
        add(f"{method.lower()} files", method, f"/{method.lower()}", mp_only_files_headers, mp_only_files_body)
    for q in queries:
        add(f"get {q}", "GET", f"/get{q}")
    for method in ["POST", "PUT", "PATCH", "DELETE"]:
        route = method.lower()
        for bname, h, b in bodies:
            add(f"{route} body={bname}", method, f"/{route}?q=1", h, b)
        add(f"{route} wrong method GET", "GET", f"/{route}")
    add("get wrong method POST", "POST", "/get")
    add("ip", "GET", "/ip")
    for d in ["0", "0.1", "0.05"]:
        for method in ["GET", "POST"]:
            add(f"delay {d} {method}", method, f"/delay/{d}", js if method == "POST" else {},
                b'{"a": 1}' if method == "POST" else None)

    # Formats and assets.
    for route in ["/json", "/html", "/xml", "/robots.txt", "/deny", "/encoding/utf8", "/forms/post",
                  "/image/png", "/image/jpeg", "/image/webp", "/image/svg"]:
        add(f"asset {route}", "GET", route)
        add(f"asset {route} HEAD", "HEAD", route)
    for accept in [None, "image/webp", "image/svg+xml", "image/jpeg", "image/png", "image/*",
                   "text/html", "image/png, image/webp", "*/*", "IMAGE/JPEG", "0"]:
        add(f"image accept={accept}", "GET", "/image", {"Accept": accept} if accept else {})

    # Statuses.
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"]:
        for code in [200, 201, 204, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404, 406, 407,
                     418, 429, 500, 502, 503]:
            if method == "GET" or code in (200, 302, 401, 418, 500):
                add(f"status {method} {code}", method, f"/status/{code}")
    add("status weighted", "GET", "/status/200:3,201:1", rules={"random-status"}, statuses=(200, 201))
    add("status list", "POST", "/status/202,203", rules={"random-status"}, statuses=(202, 203))
    add("status fractional weights", "PUT", "/status/200:0.9,500:0.1", rules={"random-status"}, statuses=(200, 500))
    add("status a zero weight", "DELETE", "/status/201:0,204:1")
    add("status invalid", "GET", "/status/abc")
    add("status invalid in list", "GET", "/status/200,abc")

    # Dynamic data.
    for n in [0, 1, 10, 1024]:
        add(f"bytes {n}", "GET", f"/bytes/{n}", rules={"random-body"})
        add(f"bytes {n} seed", "GET", f"/bytes/{n}?seed=42", rules={"random-body"})
        add(f"stream-bytes {n}", "GET", f"/stream-bytes/{n}", rules={"random-body"})
        add(f"stream-bytes {n} chunk", "GET", f"/stream-bytes/{n}?chunk_size=3&seed=1", rules={"random-body"})
    for n in [0, 1, 3, 150]:
        add(f"stream {n}", "GET", f"/stream/{n}?a=1")
    for q in ["duration=0&numbytes=5", "duration=0&numbytes=1&code=201", "duration=0&numbytes=3&code=418",
              "duration=0.1&numbytes=2&delay=0.05", "numbytes=0&duration=0", "duration=0&numbytes=-1"]:
        add(f"drip {q}", "GET", f"/drip?{q}")
    for n in [1, 26, 100, 102400, 0, 102401]:
        add(f"range {n}", "GET", f"/range/{n}")
    for rng in ["bytes=0-9", "bytes=5-", "bytes=-3", "bytes=10-5", "bytes=0-99", "bytes=90-200", "bytes=99-99",
                "bytes=100-", "items=0-5", "bytes=abc"]:
        add(f"range 100 {rng}", "GET", "/range/100", {"Range": rng})
    add("range 50 chunked", "GET", "/range/50?chunk_size=7&duration=0")
    for n, off in [(1, 0), (5, 2), (10, 0), (10, 9), (300, 1), (0, 0), (3, 7)]:
        add(f"links {n}/{off}", "GET", f"/links/{n}/{off}")
    for n in [1, 10]:
        add(f"links {n} redirect", "GET", f"/links/{n}")
    add("uuid", "GET", "/uuid", rules={"random-body"})
    for value in ["SFRUUEJJTiBpcyBhd2Vzb21l", "aGVsbG8", "aGk-", "aGk_", "not*base64", "//79"]:
        add(f"base64 {value}", "GET", f"/base64/{value}")

    # Caching.
    add("cache", "GET", "/cache", rules={"random-etag", "date-headers"})
    add("cache if-modified-since", "GET", "/cache", {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    add("cache if-none-match", "GET", "/cache", {"If-None-Match": '"x"'})
    for s in [0, 60, 3600]:
        add(f"cache {s}", "GET", f"/cache/{s}")
    for h in [{}, {"If-None-Match": '"abc"'}, {"If-None-Match": '"other"'}, {"If-None-Match": "*"},
              {"If-Match": '"abc"'}, {"If-Match": '"other"'}, {"If-Match": "*"}, {"If-None-Match": 'W/"abc"'}]:
        add(f"etag {h}", "GET", "/etag/abc", h)

    # Response headers.
    for method in ["GET", "POST"]:
        for q in ["?X-Test=1", "?A=1&A=2", "?Content-Type=text/plain", "?freeform=a%20b", ""]:
            add(f"response-headers {method} {q}", method, f"/response-headers{q}", rules={"self-length"})

    # Encodings.
    for route in ["/gzip", "/deflate", "/brotli"]:
        add(f"encoding {route}", "GET", route, {"Accept-Encoding": "gzip, deflate, br"})

    # Auth.
    for route in ["basic-auth", "hidden-basic-auth"]:
        for name, h in [("none", {}), ("right", {"Authorization": basic("ada", "pw")}),
                        ("wrong", {"Authorization": basic("ada", "nope")}), ("bearer", {"Authorization": "Bearer x"})]:
            add(f"{route} {name}", "GET", f"/{route}/ada/pw", h)
    for name, h in [("none", {}), ("token", {"Authorization": "Bearer abc123"}), ("basic", {"Authorization": basic("a", "b")}),
                    ("lowercase", {"Authorization": "bearer abc"})]:
        add(f"bearer {name}", "GET", "/bearer", h)
    for qop in ["auth", "auth-int", "none"]:
        for algorithm in ["", "/MD5", "/SHA-256", "/SHA-512", "/MD5/never", "/SHA-256/2"]:
            add(f"digest-auth challenge {qop}{algorithm}", "GET", f"/digest-auth/{qop}/ada/pw{algorithm}",
                rules={"random-nonce"})

    # Digest flows: the challenge, then an answer computed as a client would.
    for qop in ["auth", "auth-int", "either"]:
        for algorithm in ["", "/MD5", "/SHA-256", "/SHA-512"]:
            path = f"/digest-auth/{qop}/ada/pw{algorithm}"
            chosen = "auth" if qop == "either" else qop
            add(f"digest-auth flow {qop}{algorithm} right", "GET", path, rules={"random-nonce"},
                follow_up=digest_answer("ada", "pw", "GET", qop_choice=chosen))
            add(f"digest-auth flow {qop}{algorithm} wrong password", "GET", path, rules={"random-nonce"},
                follow_up=digest_answer("ada", "nope", "GET", qop_choice=chosen))
    add("digest-auth flow stale countdown", "GET", "/digest-auth/auth/ada/pw/MD5/3", rules={"random-nonce"},
        follow_up=digest_answer("ada", "pw", "GET"))
    add("digest-auth flow stale at 0", "GET", "/digest-auth/auth/ada/pw/MD5/0", rules={"random-nonce"},
        follow_up=digest_answer("ada", "pw", "GET"))
    add("digest-auth flow require-cookie without cookies", "GET", "/digest-auth/auth/ada/pw?require-cookie=1",
        rules={"random-nonce"}, follow_up=digest_answer("ada", "pw", "GET", cookies=False))
    add("digest-auth flow require-cookie with cookies", "GET", "/digest-auth/auth/ada/pw?require-cookie=true",
        rules={"random-nonce"}, follow_up=digest_answer("ada", "pw", "GET"))

    # Browsers: CORS on answers and preflights, HEAD.
    for route in ["/get", "/anything", "/post", "/status/418", "/json", "/image/png", "/redirect/1", "/cookies",
                  "/range/10", "/digest-auth/auth/a/b", "/bytes/5", "/delay/0", "/html"]:
        add(f"preflight {route}", "OPTIONS", route,
            {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "X-Custom, Content-Type"})
        add(f"options plain {route}", "OPTIONS", route)
        add(f"origin GET {route}", "GET", route, {"Origin": "https://app.example"},
            rules={"random-body", "random-nonce"} if route.startswith("/bytes") or route.startswith("/digest") else ())
    for route in ["/get", "/anything", "/headers", "/uuid", "/status/204", "/range/10", "/links/3/0", "/xml"]:
        add(f"head {route}", "HEAD", route, rules={"random-body"} if route == "/uuid" else ())

    # Cookies.
    add("cookies none", "GET", "/cookies")
    add("cookies some", "GET", "/cookies", {"Cookie": "a=1; b=two"})
    add("cookies set query", "GET", "/cookies/set?a=1&b=2")
    add("cookies set path", "GET", "/cookies/set/name/value")
    add("cookies delete", "GET", "/cookies/delete?a&b")

    # Redirects.
    for n in [1, 2, 5]:
        add(f"redirect {n}", "GET", f"/redirect/{n}")
        add(f"redirect {n} absolute", "GET", f"/redirect/{n}?absolute=true")
        add(f"relative-redirect {n}", "GET", f"/relative-redirect/{n}")
        add(f"absolute-redirect {n}", "GET", f"/absolute-redirect/{n}")
    add("redirect 0", "GET", "/redirect/0")
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"]:
        add(f"redirect-to local {method}", method, "/redirect-to?url=/get")
    for q in ["url=/get&status_code=307", "url=/get&status_code=301", "url=/get&status_code=200",
              "url=http://example.com/", "url=https://example.com/x&status_code=308"]:
        add(f"redirect-to {q}", "GET", f"/redirect-to?{q}")

    # Unknown routes.
    add("not found", "GET", "/no-such-route")
    return out


class Server:
    def __init__(self, base):
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname, parsed.port
        self.prefix = parsed.path.rstrip("/")
        self.netloc = parsed.netloc

    def send(self, case):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {"User-Agent": "httpbin-diff", "Accept-Encoding": "identity", **case.headers}
            connection.request(case.method, self.prefix + case.path, body=case.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
            header_lists = {}
            for name, value in response.getheaders():
                header_lists.setdefault(name.lower(), []).append(value)
            return response.status, header_lists, body
        finally:
            connection.close()


def normalise_text(text, server):
    """The server's own address and prefix, written the same for both."""
    text = text.replace(f"http://{server.netloc}{server.prefix}", "BASE")
    text = text.replace(server.netloc, "HOST")
    if server.prefix:
        # Paths the server builds (Location, links) start with its prefix.
        text = re.sub(r"(^|(?<=['\"= >]))" + re.escape(server.prefix) + r"(?=/|$|\?)", "", text)
    return text


def decoded(body, encoding):
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        if encoding == "br":
            import brotlicffi  # httpbin's venv has it (httpbin's own brotli)

            return brotlicffi.decompress(body)
    except Exception as error:  # a body that does not decode is a difference
        return b"<undecodable: " + str(error).encode() + b">"
    return body


def normalise(case, server, status, headers, body):
    """What is compared of one answer: status, headers, body."""
    rules = case.rules
    compared = {}
    for name in COMPARED_HEADERS:
        values = headers.get(name)
        if values is None:
            continue
        values = [normalise_text(v, server) for v in values]
        if name == "etag" and "random-etag" in rules:
            values = ["<random>"]
        if name == "www-authenticate" and "random-nonce" in rules:
            values = [re.sub(r'(nonce|opaque)="[^"]*"', r'\1="<random>"', v) for v in values]
        if name == "content-type":
            values = [v.replace("; charset=UTF-8", "; charset=utf-8") for v in values]
        if name == "set-cookie" and "random-nonce" in rules:
            values = [re.sub(r"^last_nonce=[^;]*", "last_nonce=<random>", v) for v in values]
        compared[name] = sorted(values) if name == "set-cookie" else values
    if "date-headers" in rules:
        compared["last-modified"] = ["<date>"] if "last-modified" in headers else []
    body = decoded(body, (headers.get("content-encoding") or [""])[0])
    if case.method == "HEAD" or "no-body" in rules:
        shown = None
    elif "random-body" in rules:
        shown = f"<{len(body)} bytes>"
        if "json" in (headers.get("content-type") or [""])[0]:
            shown = "<random JSON>"
    else:
        shown = body_value(body, headers, server)
        if "self-length" in rules and isinstance(shown, dict) and "Content-Length" in shown:
            stated = shown["Content-Length"]
            shown = dict(shown)
            shown["Content-Length"] = "<own length>" if stated == str(len(body)) else f"{stated}, not {len(body)}"
    return status, compared, shown


def body_value(body, headers, server):
    ctype = (headers.get("content-type") or [""])[0]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "<bytes> " + base64.b64encode(body).decode()
    text = normalise_text(text, server)
    if "json" in ctype:
        try:
            lines = [line for line in text.split("\n") if line.strip()]
            if len(lines) > 1 and all(line.startswith("{") for line in lines):
                try:
                    return ["ndjson"] + [clean_json(json.loads(line)) for line in lines]
                except ValueError:
                    pass
            return clean_json(json.loads(text))
        except ValueError:
            return text
    return text


def clean_json(value):
    if isinstance(value, dict):
        headers = value.get("headers")
        if isinstance(headers, dict):
            value = dict(value)
            value["headers"] = {k: v for k, v in headers.items() if k not in IGNORED_REQUEST_HEADERS}
    return value


def differences(case, reference, candidate):
    """(aspect, httpbin's, echobase's) for each aspect that differs."""
    ref_status, ref_headers, ref_body = reference
    cand_status, cand_headers, cand_body = candidate
    if "random-status" in case.rules:
        found = []
        for who, status in (("httpbin", ref_status), ("echobase", cand_status)):
            if status not in case.statuses:
                found.append(("status", f"one of {case.statuses}", f"{who}: {status}"))
        return found
    found = []
    if ref_status != cand_status:
        found.append(("status", ref_status, cand_status))
    for name in sorted(set(ref_headers) | set(cand_headers)):
        if ref_headers.get(name) != cand_headers.get(name):
            found.append((f"header:{name}", ref_headers.get(name), cand_headers.get(name)))
    if ref_body != cand_body:
        found.append(("body", ref_body, cand_body))
    return found


@dataclass
class Listed:
    case: str
    aspect: str
    kind: str
    reason: str
    line: int
    seen: bool = False


def read_listed(path):
    listed = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [part.strip() for part in line.split("|")]
            if len(parts) != 4 or parts[2] not in ("intended", "todo") or not parts[3]:
                sys.exit(f"{path}:{number}: expected `case pattern | aspect | intended or todo | reason`")
            listed.append(Listed(parts[0], parts[1], parts[2], parts[3], number))
    return listed


def short(value, limit=300):
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    httpbin, echobase = Server(sys.argv[1]), Server(sys.argv[2])
    listed = read_listed(sys.argv[3])
    all_cases = cases()
    ids = [case.id for case in all_cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        sys.exit(f"duplicate case ids: {sorted(duplicates)}")

    def ask(server, case):
        answer = server.send(case)
        if case.follow_up is not None:
            headers, body = case.follow_up(server.prefix, case.path, answer[1])
            second = Case(case.id, case.method, case.path, {**case.headers, **headers}, body, case.rules)
            answer = server.send(second)
        return normalise(case, server, *answer)

    def run(case):
        return case, differences(case, ask(httpbin, case), ask(echobase, case))

    unintended = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for case, found in pool.map(run, all_cases):
            for aspect, ref, cand in found:
                match = next(
                    (entry for entry in listed
                     if fnmatch.fnmatchcase(case.id, entry.case) and fnmatch.fnmatchcase(aspect, entry.aspect)),
                    None,
                )
                if match:
                    match.seen = True
                else:
                    unintended.append((case, aspect, ref, cand))
    stale = [entry for entry in listed if not entry.seen]
    intended = [entry for entry in listed if entry.kind == "intended"]
    todo = [entry for entry in listed if entry.kind == "todo"]
    for case, aspect, ref, cand in unintended:
        print(f"DIFFERENCE {case.method} {case.path} [{case.id}] {aspect}")
        print(f"    httpbin:  {short(ref)}")
        print(f"    echobase: {short(cand)}")
    for entry in stale:
        print(f"LISTED BUT NOT SEEN (line {entry.line}): {entry.case} | {entry.aspect}")
    print(
        f"httpbin-diff: {len(all_cases)} requests compared; {len(unintended)} unintended differences; "
        f"{len(intended)} intended and {len(todo)} not yet fixed (listed); {len(stale)} listed but not seen"
    )
    sys.exit(1 if unintended or stale else 0)


if __name__ == "__main__":
    main()
