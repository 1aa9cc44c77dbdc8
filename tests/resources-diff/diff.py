#!/usr/bin/env python3
"""Differential test of the resources module against json-server 0.17.4.

Both servers start from the same db.json; this script sends each request of
REQUESTS, in order (writes included, so both hold the same data throughout),
to both and compares the status, the headers json-server clients read, and
the body as text (json-server writes JSON with two-space indentation, and so
does echobase). The host in `Link` and `Location` is normalised.

A request whose answers may differ is listed, with the reason, in
differences.txt; a listed request that answers the same fails the run too,
so the list never outlives what it explains.

    diff.py JSON_SERVER_URL ECHOBASE_URL DIFFERENCES_FILE
"""

import difflib
import http.client
import json
import sys
import urllib.parse

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
ORIGIN = {"Origin": "http://front.example"}


def body(value):
    return json.dumps(value).encode()


# (method, path, headers, body). Order matters: the writes build on each other.
REQUESTS = [
    # Reads: whole collections, documents, singular resources.
    ("GET", "/posts", {}, None),
    ("GET", "/posts/", {}, None),
    ("GET", "/posts/1", {}, None),
    ("GET", "/posts/999", {}, None),
    ("GET", "/posts/abc", {}, None),
    ("GET", "/tags/rest", {}, None),
    ("GET", "/profile", {}, None),
    ("HEAD", "/posts", {}, None),
    # Filters.
    ("GET", "/posts?title=Paging", {}, None),
    ("GET", "/posts?id=1&id=3", {}, None),
    ("GET", "/posts?published=true", {}, None),
    ("GET", "/posts?author.city=Paris", {}, None),
    ("GET", "/posts?author.name=Ann&published=false", {}, None),
    ("GET", "/posts?tags=rest,mock", {}, None),
    ("GET", "/posts?draft=null", {}, None),
    ("GET", "/posts?nope=1", {}, None),
    ("GET", "/posts?views_gte=10&views_lte=100", {}, None),
    ("GET", "/posts?views_gte=40", {}, None),
    ("GET", "/posts?views_lte=5", {}, None),
    ("GET", "/posts?views_ne=5&views_ne=120", {}, None),
    ("GET", "/posts?title_like=^s", {}, None),
    ("GET", "/posts?title_like=%C3%89T%C3%89", {}, None),
    ("GET", "/posts?author.name_like=an|bob", {}, None),
    ("GET", "/posts?title_like=(", {}, None),
    # Full-text search.
    ("GET", "/posts?q=paris", {}, None),
    ("GET", "/posts?q=ANN&published=false", {}, None),
    ("GET", "/posts?q=0", {}, None),
    ("GET", "/posts?q=%C3%A9t%C3%A9", {}, None),
    ("GET", "/comments?q=post", {}, None),
    # Sorting.
    ("GET", "/posts?_sort=views", {}, None),
    ("GET", "/posts?_sort=views&_order=desc", {}, None),
    ("GET", "/posts?_sort=author.name,views&_order=desc,asc", {}, None),
    ("GET", "/posts?_sort=title", {}, None),
    ("GET", "/posts?_sort=draft", {}, None),
    # Slices and pages.
    ("GET", "/posts?_start=2&_end=5", {}, None),
    ("GET", "/posts?_start=3&_limit=2", {}, None),
    ("GET", "/posts?_end=-2", {}, None),
    ("GET", "/posts?_limit=3", {}, None),
    ("GET", "/posts?_start=4", {}, None),
    ("GET", "/posts?_page=1", {}, None),
    ("GET", "/posts?_page=2&_limit=5", {}, None),
    ("GET", "/posts?_page=3&_limit=5", {}, None),
    ("GET", "/posts?_page=9&_limit=2", {}, None),
    ("GET", "/posts?_limit=5&_page=2&_sort=views", {}, None),
    ("GET", "/posts?_page=2&_limit=2&title_like=e", {}, None),
    ("GET", "/posts?_page=0&_limit=4", ORIGIN, None),
    # Relations.
    ("GET", "/posts?_embed=comments", {}, None),
    ("GET", "/posts/1?_embed=comments", {}, None),
    ("GET", "/posts/2?_embed=comments&_embed=nothing", {}, None),
    ("GET", "/comments?_expand=post", {}, None),
    ("GET", "/comments/1?_expand=post&_expand=user", {}, None),
    ("GET", "/posts/1?_expand=user", {}, None),
    ("GET", "/posts/1/comments", {}, None),
    ("GET", "/posts/3/comments", {}, None),
    ("GET", "/users/2/comments?_sort=id&_order=desc", {}, None),
    # Cross-origin.
    ("GET", "/posts/2", ORIGIN, None),
    ("OPTIONS", "/posts", {**ORIGIN, "Access-Control-Request-Method": "PUT",
                           "Access-Control-Request-Headers": "content-type"}, None),
    # Writes.
    ("POST", "/posts", JSON, body({"title": "new", "views": 1})),
    ("POST", "/posts?from=test", {**JSON, **ORIGIN}, body({"title": "with a query"})),
    ("POST", "/posts", JSON, body({"id": 50, "title": "given id"})),
    ("POST", "/posts", JSON, body({"title": "after 50"})),
    ("POST", "/posts", JSON, body({"id": 0, "title": "falsy id"})),
    ("POST", "/posts", JSON, body({"id": 2, "title": "taken"})),
    ("POST", "/tags", JSON, body({"id": "new", "label": "New"})),
    ("POST", "/users", FORM, b"name=Cy&email=cy%40example.com"),
    ("POST", "/users", {"Content-Type": "text/plain"}, b"ignored"),
    ("POST", "/posts/1/comments", JSON, body({"body": "nested"})),
    ("GET", "/posts/1/comments", {}, None),
    ("PUT", "/posts/2", JSON, body({"title": "replaced", "id": 77})),
    ("PATCH", "/posts/3", JSON, body({"views": 41, "extra": [1, {"a": None}]})),
    ("PATCH", "/posts/3", JSON, body({"id": 99})),
    ("PUT", "/posts/999", JSON, body({"title": "nobody"})),
    ("PATCH", "/tags/rest", JSON, body({"label": "Representational"})),
    ("POST", "/posts", JSON, b"{not json"),
    ("PUT", "/posts", JSON, body({"title": "no id"})),
    ("DELETE", "/posts", {}, None),
    # Deletes, with the documents that name the deleted one.
    ("DELETE", "/posts/1", {}, None),
    ("DELETE", "/posts/1", {}, None),
    ("GET", "/comments", {}, None),
    ("DELETE", "/users/2", {}, None),
    ("GET", "/comments", {}, None),
    ("DELETE", "/tags/mock", {}, None),
    # Singular resources.
    ("PUT", "/profile", JSON, body({"name": "renamed"})),
    ("PATCH", "/profile", JSON, body({"bio": "hi"})),
    ("POST", "/profile", JSON, body({"name": "posted"})),
    ("DELETE", "/profile", {}, None),
    ("GET", "/profile", {}, None),
    # Everything, once more.
    ("GET", "/db", {}, None),
]

# Headers a json-server client reads.
COMPARED_HEADERS = [
    "content-type",
    "x-total-count",
    "link",
    "location",
    "cache-control",
    "access-control-expose-headers",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
]


def call(base, method, path, headers, payload):
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(method, url.path.rstrip("/") + path, body=payload, headers=headers)
        response = connection.getresponse()
        text = response.read()
        found = {}
        for name in COMPARED_HEADERS:
            value = response.getheader(name)
            if value is not None:
                found[name] = value.replace(url.netloc, "HOST")
        return response.status, found, text.decode("utf-8", "replace")
    finally:
        connection.close()


def listed(path):
    """Requests allowed to differ: `METHOD PATH [BODY]  reason` per line."""
    allowed = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            key, _, reason = line.partition("  ")
            allowed[key.strip()] = reason.strip()
    return allowed


def main():
    reference, ours, differences_file = sys.argv[1:4]
    allowed = listed(differences_file)
    failures, seen_allowed = [], set()
    for method, path, headers, payload in REQUESTS:
        key = f"{method} {path} {payload.decode() if payload else ''}".strip()
        expected = call(reference, method, path, headers, payload)
        got = call(ours, method, path, headers, payload)
        if expected == got:
            continue
        if key in allowed:
            seen_allowed.add(key)
            continue
        failures.append((key, expected, got))
    for key, expected, got in failures:
        print(f"DIFFERS: {key}")
        for label, (status, headers, _) in (("json-server", expected), ("echobase", got)):
            print(f"  {label}: {status} {json.dumps(headers)}")
        body_diff = difflib.unified_diff(expected[2].splitlines(), got[2].splitlines(),
                                         "json-server", "echobase", lineterm="", n=2)
        for line in list(body_diff)[:40]:
            print("    " + line)
    stale = sorted(set(allowed) - seen_allowed)
    for key in stale:
        print(f"LISTED BUT THE SAME: {key} (remove it from {differences_file})")
    print(f"resources-diff: {len(REQUESTS)} requests, {len(failures)} unexplained differences, "
          f"{len(seen_allowed)} listed differences, {len(stale)} stale listings")
    sys.exit(1 if failures or stale else 0)


if __name__ == "__main__":
    main()
