//! The resources module over HTTP: seeding, where its routes sit beside the
//! other modules', and many processes. json-server's own behaviour is checked
//! against json-server itself by `.ci/resources-diff.sh`; the store contract
//! is in `tests/stores/resources.rs`.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};

on_both_backends!(
    a_seed_is_read_once_and_writes_survive_a_restart,
    collections_come_before_mock_stubs_and_leave_other_paths_to_them,
    a_prefix_of_its_own_takes_every_path_below_it,
    documents_carry_etags_and_a_stale_write_is_refused,
    a_collection_too_large_for_memory_lists_from_its_indexes_alike,
    a_watcher_sees_the_writes_of_other_clients_as_events,
    a_batch_of_documents_is_added_in_one_request,
    a_cursor_follows_its_links_to_the_last_page,
);

const SEED: &str = r#"{
  "posts": [{ "id": 1, "title": "first" }],
  "profile": { "name": "typicode" }
}"#;

fn seed_file() -> tempfile::TempPath {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), SEED).expect("the seed written");
    file.into_temp_path()
}

async fn a_seed_is_read_once_and_writes_survive_a_restart(backend: Backend) {
    let seed = seed_file();
    let path = seed.to_path_buf();
    let Some(app) = TestApp::spawn_with(backend, |s| s.resources.seed = Some(path)).await else {
        return;
    };
    let created = app
        .post_body("/posts", "application/json", r#"{"title":"second"}"#)
        .await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, app.url("/posts/2"));
    let app = app.restart().await;
    let posts: Value = app.get_json("/posts").await;
    assert_eq!(
        posts,
        json!([{"id": 1, "title": "first"}, {"id": 2, "title": "second"}]),
        "the stored collection is kept, not loaded again"
    );
    assert_eq!(app.get_json("/profile").await, json!({"name": "typicode"}));
    assert_eq!(
        std::fs::read_to_string(&seed).unwrap(),
        SEED,
        "never rewritten"
    );
}

async fn collections_come_before_mock_stubs_and_leave_other_paths_to_them(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for url in ["/posts", "/other"] {
        let stub = json!({"request": {"method": "GET", "url": url}, "response": {"status": 200, "body": "stub"}});
        let created = app
            .post_body("/__admin/mappings", "application/json", stub.to_string())
            .await;
        assert_eq!(created.status(), 201);
    }
    assert_eq!(app.get("/posts").await.text().await.unwrap(), "stub");
    let made = app
        .send_body(
            reqwest::Method::PUT,
            "/v1/collections/posts",
            "application/json",
            r#"{"documents": [{"id": 1}]}"#,
        )
        .await;
    assert_eq!(made.status(), 201);
    assert_eq!(app.get_json("/posts").await, json!([{"id": 1}]));
    assert_eq!(app.get_json("/posts/1").await, json!({"id": 1}));
    assert_eq!(app.get("/other").await.text().await.unwrap(), "stub");
    let listed = app.get_json("/v1/collections").await;
    assert_eq!(
        listed,
        json!([{"name": "posts", "singular": false, "documents": 1, "url": "/posts"}])
    );
    let removed = app
        .client
        .delete(app.url("/v1/collections/posts"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(app.get("/posts").await.text().await.unwrap(), "stub");
}

async fn a_prefix_of_its_own_takes_every_path_below_it(backend: Backend) {
    let seed = seed_file();
    let path = seed.to_path_buf();
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.resources.seed = Some(path);
        s.resources.prefix = "/api".to_owned();
    })
    .await
    else {
        return;
    };
    assert_eq!(
        app.get_json("/api/posts/1").await,
        json!({"id": 1, "title": "first"})
    );
    // The listing says where each collection's routes are.
    let listed = app.get_json("/v1/collections").await;
    let posts = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "posts")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(posts["url"], "/api/posts");
    let unknown = app.get("/api/nothing").await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap(), json!({}));
    let outside = app.get("/posts").await;
    assert_eq!(outside.status(), 404);
    assert_ne!(
        outside.text().await.unwrap(),
        "{}",
        "not json-server's answer"
    );
}

async fn documents_carry_etags_and_a_stale_write_is_refused(backend: Backend) {
    let seed = seed_file();
    let path = seed.to_path_buf();
    let Some(app) = TestApp::spawn_with(backend, |s| s.resources.seed = Some(path)).await else {
        return;
    };
    let read = app.get("/posts/1").await;
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(
        app.get_with("/posts/1", "if-none-match", &etag)
            .await
            .status(),
        304
    );
    let send =
        |method: reqwest::Method, content_type: &'static str, body: &'static str, tag: &str| {
            app.client
                .request(method, app.url("/posts/1"))
                .header("content-type", content_type)
                .header("if-match", tag)
                .body(body)
                .send()
        };
    let patched = send(
        reqwest::Method::PATCH,
        "application/merge-patch+json",
        r#"{"meta": {"a": 1}, "title": null}"#,
        &etag,
    )
    .await
    .unwrap();
    assert_eq!(patched.status(), 200);
    let new_etag = patched.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    assert_eq!(
        patched.json::<Value>().await.unwrap(),
        json!({"id": 1, "meta": {"a": 1}})
    );
    let stale = send(
        reqwest::Method::PUT,
        "application/json",
        r#"{"title": "lost"}"#,
        &etag,
    )
    .await
    .unwrap();
    assert_eq!(stale.status(), 412);
    assert_eq!(stale.headers()["etag"].to_str().unwrap(), new_etag);
    let deleted = send(reqwest::Method::DELETE, "application/json", "", &etag)
        .await
        .unwrap();
    assert_eq!(deleted.status(), 412);
    assert_eq!(
        app.get_json("/posts/1").await,
        json!({"id": 1, "meta": {"a": 1}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_made_by_one_process_is_served_by_another() {
    let Some(first) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let second = first.spawn_beside().await;
    let made = first
        .send_body(
            reqwest::Method::PUT,
            "/v1/collections/notes",
            "application/json",
            "",
        )
        .await;
    assert_eq!(made.status(), 201);
    let created = first
        .post_body("/notes", "application/json", r#"{"text":"hi"}"#)
        .await;
    assert_eq!(created.status(), 201);
    // The other process learns of the collection within CATALOG_REFRESH.
    let deadline = std::time::Instant::now() + echobase::resources::CATALOG_REFRESH * 5;
    loop {
        let answer = second.get("/notes").await;
        if answer.status() == 200 {
            assert_eq!(
                answer.json::<Value>().await.unwrap(),
                json!([{"text": "hi", "id": 1}])
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never served by the second process"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The second process keeps the list it read; a write by the first moves
    // the collection's version, and the next list reads it again.
    let created = first
        .post_body("/notes", "application/json", r#"{"text":"again"}"#)
        .await;
    assert_eq!(created.status(), 201);
    let listed = second.get_json("/notes?_sort=id").await;
    assert_eq!(
        listed,
        json!([{"text": "hi", "id": 1}, {"text": "again", "id": 2}])
    );
}

#[tokio::test]
async fn a_seed_that_is_not_collections_stops_the_start_up() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), r#"{"count": 3}"#).unwrap();
    let Some((_database, url)) = common::TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    let mut settings = common::test_settings(url);
    settings.resources.seed = Some(file.path().to_path_buf());
    let error = echobase::App::build(settings).await.err().expect("refused");
    assert!(
        error
            .to_string()
            .contains("`count` is 3: use objects or arrays of objects"),
        "{error}"
    );
}

#[tokio::test]
async fn a_collection_body_is_an_object_or_nothing() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let put = |name: &'static str, body: &'static str| {
        app.send_body(reqwest::Method::PUT, name, "application/json", body)
    };
    // serde would read an array as the body's fields in order: refused.
    assert_eq!(put("/v1/collections/a", "[null, null]").await.status(), 400);
    assert_eq!(put("/v1/collections/a", "3").await.status(), 400);
    assert_eq!(
        put("/v1/collections/a", r#"{"documents": [], "singular": {}}"#)
            .await
            .status(),
        400
    );
    assert_eq!(put("/v1/collections/.a", "").await.status(), 400);
    // A boolean is a JSON Schema, but the document says object.
    assert_eq!(
        put("/v1/collections/a", r#"{"schema": false}"#)
            .await
            .status(),
        400
    );
    assert_eq!(
        app.get_json("/v1/collections").await,
        json!([]),
        "nothing made"
    );
    assert_eq!(put("/v1/collections/a", "null").await.status(), 201);
    assert_eq!(put("/v1/collections/a", "").await.status(), 200);
    assert_eq!(
        put("/v1/collections/b", r#"{"singular": {"x": 1}}"#)
            .await
            .status(),
        201
    );
    assert_eq!(app.get_json("/b").await, json!({"x": 1}));
}

/// `echobase resources export FILE` writes what `GET /db` shows, as a
/// db.json that `--data` reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_the_database_as_a_db_json() {
    let seed = seed_file();
    let path = seed.to_path_buf();
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| s.resources.seed = Some(path)).await
    else {
        return;
    };
    let created = app
        .post_body("/posts", "application/json", r#"{"title":"second"}"#)
        .await;
    assert_eq!(created.status(), 201);
    let shown = app.get_json("/db").await;
    let url = match &app.db {
        echobase::db::Database::Sqlite(pool) => {
            format!(
                "sqlite://{}",
                pool.connect_options().get_filename().display()
            )
        }
        echobase::db::Database::Postgres(_) => unreachable!("a SQLite app"),
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("db.json");
    let status = common::echobase()
        .args(["resources", "export"])
        .arg(&out)
        .args(["--database-url", &url])
        .status()
        .unwrap();
    assert!(status.success());
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(exported, shown);
    assert_eq!(
        exported,
        json!({"posts": [{"id": 1, "title": "first"}, {"id": 2, "title": "second"}],
               "profile": {"name": "typicode"}})
    );
}

#[tokio::test]
async fn a_schema_refuses_what_does_not_meet_it_naming_each_property() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let put = |body: &'static str| {
        app.send_body(
            reqwest::Method::PUT,
            "/v1/collections/posts",
            "application/json",
            body,
        )
    };
    let unusable = put(r#"{"schema": {"$ref": "https://example.com/s.json"}}"#).await;
    assert_eq!(unusable.status(), 400);
    let made =
        put(r#"{"schema": {"type": "object", "properties": {"views": {"type": "integer"}}}}"#)
            .await;
    assert_eq!(made.status(), 201);
    let refused = app
        .post_body("/posts", "application/json", r#"{"views": "many"}"#)
        .await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], json!("views"), "{problem}");
    assert_eq!(app.get_json("/posts").await, json!([]), "nothing stored");
    let accepted = app
        .post_body("/posts", "application/json", r#"{"views": 3}"#)
        .await;
    assert_eq!(accepted.status(), 201);
}

/// The same lists from a server that keeps the collection in memory and
/// from one that keeps nothing (`cached_documents = 0`) and answers from its
/// indexes: the same status, body, `X-Total-Count` and `Link`.
async fn a_collection_too_large_for_memory_lists_from_its_indexes_alike(backend: Backend) {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    let posts: Vec<Value> = (1..=12)
        .map(|id| json!({"id": id, "userId": id % 3, "title": format!("post {id}")}))
        .collect();
    let seed = json!({
        "users": [{"id": 1}, {"id": 2}],
        "posts": posts,
        "comments": [{"id": 1, "postId": 4}, {"id": 2, "postId": 1}],
    });
    std::fs::write(file.path(), seed.to_string()).expect("the seed written");
    let path = file.path().to_path_buf();
    let in_memory_seed = path.clone();
    let Some(in_memory) =
        TestApp::spawn_with(backend, |s| s.resources.seed = Some(in_memory_seed)).await
    else {
        return;
    };
    let automatic_seed = path.clone();
    let indexed = TestApp::spawn_with(backend, |s| {
        s.resources.seed = Some(path);
        s.resources.cached_documents = 0;
        s.resources.indexes = vec!["userId".to_owned(), "postId".to_owned()];
    })
    .await
    .expect("a second server");
    // Names no field: indexes its fields as lists filter on them.
    let automatic = TestApp::spawn_with(backend, |s| {
        s.resources.seed = Some(automatic_seed);
        s.resources.cached_documents = 0;
        s.resources.auto_index_after = 2;
    })
    .await
    .expect("a third server");
    for list in [
        "/posts?userId=1",
        "/posts?userId=1&_page=2&_limit=2",
        "/posts?userId=2&userId=1&_end=3",
        "/posts?userId=0&_start=1&_limit=2&_embed=comments",
        "/users/1/posts?_page=1&_limit=3",
        "/posts?_page=2&_limit=5",
        "/posts?userId=9&_page=1",
        "/posts?userId=1&_limit=2&_cursor=",
        "/posts?userId=1&_limit=2&_cursor=3",
        "/posts?_limit=5&_cursor=4",
        "/posts?userId=0&_cursor=&_embed=comments",
        "/posts/4/comments",
        "/posts/1/comments?_page=1&_limit=1",
    ] {
        let answer = |app: &TestApp| {
            let url = app.url(list);
            let base = app.url("");
            async move {
                let response = reqwest::get(&url).await.expect("GET");
                let header = |name: &str| {
                    response
                        .headers()
                        .get(name)
                        .map(|v| v.to_str().unwrap_or_default().replace(&base, ""))
                };
                let headers = (header("x-total-count"), header("link"));
                (
                    response.status(),
                    headers,
                    response.text().await.expect("body"),
                )
            }
        };
        let expected = answer(&in_memory).await;
        assert_eq!(answer(&indexed).await, expected, "{list}");
        assert_eq!(answer(&automatic).await, expected, "{list}");
    }
    // Filtered often, `userId` and the nested route's `postId` got indexes
    // of their own; a list after that reads them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let listed = automatic_indexes(&automatic.db).await;
        if listed == ["postId", "userId"] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "indexed: {listed:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let list = "/posts?userId=1&_page=2&_limit=2";
    let (a, b) = (automatic.get(list).await, in_memory.get(list).await);
    assert_eq!(a.status(), b.status());
    assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());
}

/// The fields indexed automatically, in name order.
async fn automatic_indexes(db: &echobase::db::Database) -> Vec<String> {
    let select = "SELECT field FROM resource_indexes ORDER BY field";
    match db {
        echobase::db::Database::Sqlite(pool) => sqlx::query_scalar(select).fetch_all(pool).await,
        echobase::db::Database::Postgres(pool) => sqlx::query_scalar(select).fetch_all(pool).await,
    }
    .expect("resource_indexes read")
}

/// `GET /v1/collections/{name}/events` streams the collection's changes as
/// server-sent events: a front end sees what other clients write.
async fn a_watcher_sees_the_writes_of_other_clients_as_events(backend: Backend) {
    let seed = seed_file();
    let path = seed.to_path_buf();
    let Some(app) = TestApp::spawn_with(backend, |s| s.resources.seed = Some(path)).await else {
        return;
    };
    assert_eq!(
        app.get("/v1/collections/nothing/events").await.status(),
        404
    );
    let mut stream = app.get("/v1/collections/posts/events").await;
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let created = app
        .post_body("/posts", "application/json", r#"{"title":"second"}"#)
        .await;
    assert_eq!(created.status(), 201);
    let deleted = app.client.delete(app.url("/posts/1")).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    let mut read = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !read.contains("event: deleted") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("both events within 10 s")
            .expect("the stream")
            .expect("still open");
        read.push_str(&String::from_utf8_lossy(&chunk));
    }
    let inserted = read.find(
        "event: inserted\ndata: {\"collection\":\"posts\",\"change\":\"inserted\",\"id\":\"2\"}",
    );
    let deleted = read.find(
        "event: deleted\ndata: {\"collection\":\"posts\",\"change\":\"deleted\",\"id\":\"1\"}",
    );
    assert!(
        inserted.is_some() && deleted.is_some() && inserted < deleted,
        "{read}"
    );
}

/// `POST /v1/collections/{name}/documents` adds an array of documents at
/// once, all or none.
async fn a_batch_of_documents_is_added_in_one_request(backend: Backend) {
    let seed = seed_file();
    let path = seed.to_path_buf();
    let Some(app) = TestApp::spawn_with(backend, |s| s.resources.seed = Some(path)).await else {
        return;
    };
    let batch = |name: &str, body: &'static str| {
        app.client
            .post(app.url(&format!("/v1/collections/{name}/documents")))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let added = batch(
        "posts",
        r#"[{"title": "second"}, {"id": 10, "title": "tenth"}]"#,
    )
    .await
    .unwrap();
    assert_eq!(added.status(), 201);
    assert_eq!(
        added.json::<Value>().await.unwrap(),
        json!([{"title": "second", "id": 2}, {"id": 10, "title": "tenth"}])
    );
    let refused = batch("posts", r#"[{"title": "x"}, {"id": 2}]"#)
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    for (body, status) in [(r#"{"title": "x"}"#, 400), (r#"[1]"#, 400), ("[", 400)] {
        assert_eq!(
            batch("posts", body).await.unwrap().status(),
            status,
            "{body}"
        );
    }
    assert_eq!(batch("nothing", "[]").await.unwrap().status(), 404);
    assert_eq!(
        batch("profile", "[]").await.unwrap().status(),
        404,
        "a singular resource"
    );
    let posts: Value = app.get_json("/posts").await;
    let ids: Vec<Value> = posts
        .as_array()
        .unwrap()
        .iter()
        .map(|post| post["id"].clone())
        .collect();
    assert_eq!(ids, [json!(1), json!(2), json!(10)]);
}

/// `_cursor` pages through a collection in insertion order, each page's
/// `Link: rel="next"` naming the next, until the last, which has none.
async fn a_cursor_follows_its_links_to_the_last_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let documents: Vec<Value> = (1..=7)
        .map(|id| json!({"id": id, "even": id % 2 == 0}))
        .collect();
    let created = app
        .client
        .put(app.url("/v1/collections/items"))
        .json(&json!({"documents": documents}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(
        app.client
            .delete(app.url("/items/2"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let mut url = app.url("/items?even=false&_limit=2&_cursor=");
    let mut pages = Vec::new();
    loop {
        let response = reqwest::get(&url).await.unwrap();
        assert_eq!(response.status(), 200);
        let next = response
            .headers()
            .get("link")
            .map(|link| link.to_str().unwrap().to_owned());
        let page: Vec<i64> = response
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .iter()
            .map(|item| item["id"].as_i64().unwrap())
            .collect();
        pages.push(page);
        let Some(next) = next else { break };
        url = next
            .strip_prefix('<')
            .and_then(|rest| rest.strip_suffix(">; rel=\"next\""))
            .expect("a next link")
            .to_owned();
    }
    assert_eq!(pages, [vec![1, 3], vec![5, 7]]);
    let refused = app.get("/items?_cursor=&_sort=id").await;
    assert_eq!(refused.status(), 400);
}
