// WireMock 3.x's own Java client (com.github.tomakehurst.wiremock.client.WireMock), used
// unchanged against a server: the real WireMock (the reference: this suite must pass there
// in full) or echobase's mocks module, which implements the same admin API under /__admin.
// Issue 19: the Java client works unchanged against echobase.
//
//   javac -cp wiremock-standalone-3.13.2.jar -d OUT WireMockClientSuite.java
//   java -cp wiremock-standalone-3.13.2.jar:OUT WireMockClientSuite http://127.0.0.1:8080 [label]
//   java ... WireMockClientSuite 127.0.0.1 8080 [label]
//
// WMC_ONLY=word,word runs only the checks whose name contains one of the words.
// Each check is a named lambda; the runner resets the server (resetAll) before each one,
// prints "PASS name" or "FAIL name: <exception>", then one line
// "wiremock-java (LABEL): N passed, N failed" and "client calls: N" (admin requests the
// client made, counted by a proxy around its Admin), and exits 1 when any check failed.
//
// The client is an instance, so nothing static is shared: new WireMock(admin) where admin
// is a counting proxy around new HttpAdminClient(host, port) — exactly what
// new WireMock(host, port) builds inside (it only wraps the same HttpAdminClient). The
// requests that hit the stubs go through java.net.http.HttpClient. Stub URLs live under
// /wm/ because echobase serves its own routes elsewhere.
//
// Public instance methods of WireMock 3.13.2 (javap), and where each is covered
// (the static façade — stubFor, editStub, removeStub, getSingleStubMapping, verify,
// findAll, resetAll, ... — only forwards to these on a default instance):
//   WireMock(...) constructors (9) ........ client configuration; (Admin) used here, the
//                                            others only build the same HttpAdminClient
//   saveMappings() ........................ admin.saveMappings
//   removeMappings() (DELETE /__admin/mappings) admin.removeMappings, admin.saveMappings
//   resetMappings() (POST /__admin/reset) . admin.resetMappings, admin.saveMappings, before every check
//   resetRequests() ....................... journal.resetRequests
//   resetScenarios() ...................... scenario.flow
//   resetScenarioState(String) ............ scenario.flow, scenario.unknown
//   setSingleScenarioState(String,String) . scenario.flow, scenario.unknown, scenario.badState
//   getScenarios() ........................ scenario.flow, scenario.deleteRecreate
//   resetToDefaultMappings() (POST /__admin/mappings/reset) admin.resetToDefaultMappings, admin.saveMappings
//   register(MappingBuilder) .............. every stub.* and resp.* check
//   register(StubMapping) ................. admin.registerStubMapping
//   editStubMapping(MappingBuilder) ....... admin.editStub, admin.editStub.unknownId
//   removeStubMapping(MappingBuilder) ..... admin.removeStub.byBuilder
//   removeStubMapping(StubMapping) ........ admin.removeStub.byMapping
//   removeStubMapping(UUID) ............... admin.removeStub.byId, admin.removeStub.unknownId
//   allStubMappings() ..................... admin.listStubs
//   getStubMapping(UUID) .................. admin.getStub, admin.getStub.unknownId
//   verifyThat(RequestPatternBuilder) ..... verify.counts, verify.nearMissDiff
//   verifyThat(int, RequestPatternBuilder)  verify.counts
//   verifyThat(CountMatchingStrategy, ...)  verify.counts (exactly/moreThan/lessThan/
//                                            moreThanOrExactly/lessThanOrExactly), verify.wrongCount
//   find(RequestPatternBuilder) ........... journal.find
//   getServeEvents() ...................... journal.serveEvents
//   getServeEvents(ServeEventQuery) ....... journal.serveEventQuery
//   removeEvent(UUID) ..................... journal.removeEvent
//   removeEvents(RequestPatternBuilder) ... journal.removeEvents
//   removeEventsByMetadata(StringValuePattern) journal.removeEventsByStubMetadata
//   setGlobalFixedDelayVariable(int) ...... settings.fixedDelay
//   setGlobalRandomDelayVariable(DelayDistribution) settings.randomDelay
//   updateGlobalSettings(GlobalSettings) .. settings.update (and the settings checks' cleanup)
//   getGlobalSettings() ................... settings.*
//   findNearMissesForAllUnmatchedRequests() nearMiss.allUnmatched
//   findAllUnmatchedRequests() ............ journal.unmatched, nearMiss.forLoggedRequest
//   findTopNearMissesFor(LoggedRequest) ... nearMiss.forLoggedRequest
//   findAllNearMissesFor(RequestPatternBuilder) nearMiss.forPattern
//   findAllStubsByMetadata(StringValuePattern) admin.metadata
//   removeStubsByMetadataPattern(StringValuePattern) admin.metadata
//   importStubMappings(StubImport) ........ admin.importStubs
//   importStubMappings(StubImportBuilder) . admin.importStubs
//   loadMappingsFrom(String|File) ......... admin.loadMappingsFrom (reads a local folder,
//                                            registers each mapping: POST /__admin/mappings)
//   takeSnapshotRecording() / (RecordSpecBuilder) .. record.snapshot
//   startStubRecording() / (String) / (RecordSpecBuilder) record.flow
//   stopStubRecording() ................... record.flow
//   getStubRecordingStatus() .............. record.flow
//   shutdown() ............................ out of scope: stops the server
// Admin operations the client reaches only through its Admin (HttpAdminClient), covered too:
//   getServedStub(UUID) (GET /__admin/requests/{id}) ..... adminClient.getServedStub
//   countRequestsMatching (POST /__admin/requests/count) . adminClient.countRequests
//   findUnmatchedStubs (GET /__admin/mappings/unmatched) . adminClient.unmatchedStubs
//   getOptions(), port() .................. not HTTP (client-side), out of scope
// Errors: an invalid stub (path parameters without a path template) -> InvalidInputException
// with WireMock's error code 19 (errors.invalidStub; raised by the client before sending);
// unknown ids and scenarios, a state a scenario lacks -> the exception types the client
// raises against WireMock (the *.unknownId checks, scenario.unknown, scenario.badState).

import static com.github.tomakehurst.wiremock.client.WireMock.*;

import com.github.tomakehurst.wiremock.admin.model.ServeEventQuery;
import com.github.tomakehurst.wiremock.common.ClientError;
import com.github.tomakehurst.wiremock.client.HttpAdminClient;
import com.github.tomakehurst.wiremock.client.MappingBuilder;
import com.github.tomakehurst.wiremock.client.VerificationException;
import com.github.tomakehurst.wiremock.client.WireMock;
import com.github.tomakehurst.wiremock.common.InvalidInputException;
import com.github.tomakehurst.wiremock.common.Json;
import com.github.tomakehurst.wiremock.common.Metadata;
import com.github.tomakehurst.wiremock.core.Admin;
import com.github.tomakehurst.wiremock.extension.Parameters;
import com.github.tomakehurst.wiremock.global.GlobalSettings;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.http.UniformDistribution;
import com.github.tomakehurst.wiremock.matching.RequestPatternBuilder;
import com.github.tomakehurst.wiremock.recording.RecordingStatus;
import com.github.tomakehurst.wiremock.recording.SnapshotRecordResult;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import com.github.tomakehurst.wiremock.stubbing.StubImport;
import com.github.tomakehurst.wiremock.stubbing.StubMapping;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import com.github.tomakehurst.wiremock.verification.NearMiss;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

public class WireMockClientSuite {

    interface Body {
        void run() throws Exception;
    }

    record Check(String name, Body body) {}

    static String host;
    static int port;
    static String base;
    static WireMock wm;
    static Admin admin;
    static final AtomicInteger calls = new AtomicInteger();
    static final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();

    // ---------------------------------------------------------------- helpers

    record Resp(int status, byte[] bytes, java.net.http.HttpHeaders headers, long millis) {
        String body() {
            return new String(bytes, StandardCharsets.UTF_8);
        }

        String header(String name) {
            return headers.firstValue(name).orElse(null);
        }
    }

    /** method, path, body (or null), then header name/value pairs. */
    static Resp call(String method, String path, Object body, String... headers) throws Exception {
        HttpRequest.BodyPublisher pub = body == null
                ? HttpRequest.BodyPublishers.noBody()
                : body instanceof byte[] b
                        ? HttpRequest.BodyPublishers.ofByteArray(b)
                        : HttpRequest.BodyPublishers.ofString(body.toString());
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(Duration.ofSeconds(15))
                .method(method, pub);
        for (int i = 0; i + 1 < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        long start = System.nanoTime();
        HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Resp(r.statusCode(), r.body(), r.headers(), (System.nanoTime() - start) / 1_000_000);
    }

    static Resp get(String path, String... headers) throws Exception {
        return call("GET", path, null, headers);
    }

    static void expect(boolean cond, String what) {
        if (!cond) throw new AssertionError(what);
    }

    static void eq(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual))
            throw new AssertionError(what + ": expected <" + expected + "> but was <" + actual + ">");
    }

    static void status(Resp r, int code, String what) {
        if (r.status() != code)
            throw new AssertionError(what + ": expected status " + code + " but was " + r.status()
                    + " body=" + trim(r.body()));
    }

    static void hit(Resp r, String body, String what) {
        status(r, 200, what);
        eq(body, r.body(), what + " body");
    }

    static void miss(Resp r, String what) {
        status(r, 404, what + " (should not match)");
    }

    static String trim(String s) {
        if (s == null) return null;
        s = s.replaceAll("\\s+", " ");
        return s.length() > 400 ? s.substring(0, 400) + "..." : s;
    }

    @SuppressWarnings("unchecked")
    static <T extends Throwable> T expectThrows(Class<T> type, Body body) throws Exception {
        try {
            body.run();
        } catch (Throwable t) {
            while (t instanceof java.lang.reflect.UndeclaredThrowableException u && u.getCause() != null) t = u.getCause();
            if (t.getClass() == type) return (T) t;
            throw new AssertionError("expected " + type.getName() + " but got " + t.getClass().getName()
                    + ": " + trim(t.getMessage()), t);
        }
        throw new AssertionError("expected " + type.getName() + " but nothing was thrown");
    }

    static String basic(String user, String pass) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + pass).getBytes(StandardCharsets.UTF_8));
    }

    static String json(Object o) {
        return Json.write(o);
    }

    static void sameJson(String expected, String actual, String what) {
        eq(Json.node(expected), Json.node(actual), what);
    }

    static List<UUID> ids(List<StubMapping> stubs) {
        return stubs.stream().map(StubMapping::getId).collect(Collectors.toList());
    }

    static Set<UUID> idSet(java.util.Collection<StubMapping> stubs) {
        return stubs.stream().map(StubMapping::getId).collect(Collectors.toSet());
    }

    static List<String> urls(List<? extends Object> events) {
        List<String> out = new ArrayList<>();
        for (Object e : events) {
            if (e instanceof ServeEvent se) out.add(se.getRequest().getUrl());
            else if (e instanceof LoggedRequest lr) out.add(lr.getUrl());
        }
        return out;
    }

    // ---------------------------------------------------------------- checks

    static List<Check> checks() {
        List<Check> c = new ArrayList<>();

        // ---- request matching: URLs

        c.add(new Check("stub.urlEqualTo", () -> {
            wm.register(WireMock.get(urlEqualTo("/wm/ue?x=1")).willReturn(ok("ue")));
            hit(get("/wm/ue?x=1"), "ue", "exact URL with query");
            miss(get("/wm/ue"), "without the query");
            miss(get("/wm/ue?x=2"), "other query");
            miss(call("POST", "/wm/ue?x=1", "b"), "other method");
        }));

        c.add(new Check("stub.urlPathEqualTo.queryParams", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/q"))
                    .withQueryParam("a", equalTo("1"))
                    .withQueryParam("b", absent())
                    .withQueryParam("c", containing("ell"))
                    .willReturn(ok("q")));
            hit(get("/wm/q?a=1&c=hello"), "q", "all query matchers");
            hit(get("/wm/q?c=hello&a=1&z=9"), "q", "order and extra parameters");
            miss(get("/wm/q?a=1&b=2&c=hello"), "b present");
            miss(get("/wm/q?a=2&c=hello"), "a differs");
            miss(get("/wm/q?a=1"), "c missing");
        }));

        c.add(new Check("stub.queryParams.multiValue", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/mq"))
                    .withQueryParam("m", havingExactly("1", "2"))
                    .withQueryParam("n", including("x"))
                    .willReturn(ok("mq")));
            hit(get("/wm/mq?m=1&m=2&n=x&n=y"), "mq", "havingExactly + including");
            miss(get("/wm/mq?m=1&m=2&m=3&n=x"), "havingExactly with an extra value");
            miss(get("/wm/mq?m=1&m=2&n=y"), "including without x");
        }));

        c.add(new Check("stub.urlMatching", () -> {
            wm.register(WireMock.get(urlMatching("/wm/um/[0-9]+(\\?.*)?")).willReturn(ok("um")));
            hit(get("/wm/um/12"), "um", "regex URL");
            hit(get("/wm/um/12?z=1"), "um", "regex URL with query");
            miss(get("/wm/um/ab"), "non-digits");
        }));

        c.add(new Check("stub.urlPathMatching", () -> {
            wm.register(WireMock.get(urlPathMatching("/wm/upm/[a-z]+")).willReturn(ok("upm")));
            hit(get("/wm/upm/abc?q=1"), "upm", "regex path, any query");
            miss(get("/wm/upm/123"), "digits");
        }));

        c.add(new Check("stub.urlPathTemplate.pathParams", () -> {
            wm.register(WireMock.get(urlPathTemplate("/wm/users/{id}/orders/{orderId}"))
                    .withPathParam("id", equalTo("42"))
                    .withPathParam("orderId", matching("[0-9]+"))
                    .willReturn(ok("tpl")));
            hit(get("/wm/users/42/orders/7"), "tpl", "path template");
            hit(get("/wm/users/42/orders/7?x=1"), "tpl", "path template with query");
            miss(get("/wm/users/43/orders/7"), "id differs");
            miss(get("/wm/users/42/orders/x"), "orderId not digits");
            miss(get("/wm/users/42/orders"), "segment missing");
        }));

        c.add(new Check("stub.methods", () -> {
            wm.register(post(urlPathEqualTo("/wm/m")).willReturn(WireMock.status(201).withBody("post")));
            wm.register(put(urlPathEqualTo("/wm/m")).willReturn(ok("put")));
            wm.register(delete(urlPathEqualTo("/wm/m")).willReturn(ok("delete")));
            wm.register(patch(urlPathEqualTo("/wm/m")).willReturn(ok("patch")));
            wm.register(head(urlPathEqualTo("/wm/m")).willReturn(ok().withHeader("X-Head", "yes")));
            wm.register(options(urlPathEqualTo("/wm/m")).willReturn(ok("options")));
            wm.register(request("GET", urlPathEqualTo("/wm/m")).willReturn(ok("get")));
            wm.register(any(urlPathEqualTo("/wm/any")).willReturn(ok("any")));
            Resp p = call("POST", "/wm/m", "x");
            status(p, 201, "POST");
            eq("post", p.body(), "POST body");
            hit(call("PUT", "/wm/m", "x"), "put", "PUT");
            hit(call("DELETE", "/wm/m", null), "delete", "DELETE");
            hit(call("PATCH", "/wm/m", "x"), "patch", "PATCH");
            hit(call("OPTIONS", "/wm/m", null), "options", "OPTIONS");
            hit(get("/wm/m"), "get", "GET via request(\"GET\", ...)");
            Resp h = call("HEAD", "/wm/m", null);
            status(h, 200, "HEAD");
            eq("yes", h.header("X-Head"), "HEAD header");
            for (String m : List.of("GET", "POST", "PUT", "DELETE", "PATCH"))
                hit(call(m, "/wm/any", m.equals("GET") || m.equals("DELETE") ? null : "b"), "any", "any() with " + m);
        }));

        // ---- request matching: headers, cookies, auth

        c.add(new Check("stub.headers", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/h"))
                    .withHeader("X-Eq", equalTo("one"))
                    .withHeader("X-Contains", containing("mid"))
                    .withHeader("X-Re", matching("v[0-9]+"))
                    .withHeader("X-NotRe", notMatching("bad.*"))
                    .withHeader("X-Absent", absent())
                    .willReturn(ok("h")));
            String[] good = {"X-Eq", "one", "X-Contains", "amidst", "X-Re", "v12", "X-NotRe", "good"};
            hit(get("/wm/h", good), "h", "all header matchers");
            miss(get("/wm/h", "X-Eq", "two", "X-Contains", "amidst", "X-Re", "v12", "X-NotRe", "good"), "equalTo");
            miss(get("/wm/h", "X-Eq", "one", "X-Contains", "nothing", "X-Re", "v12", "X-NotRe", "good"), "containing");
            miss(get("/wm/h", "X-Eq", "one", "X-Contains", "amidst", "X-Re", "w12", "X-NotRe", "good"), "matching");
            miss(get("/wm/h", "X-Eq", "one", "X-Contains", "amidst", "X-Re", "v12", "X-NotRe", "badly"), "notMatching");
            miss(get("/wm/h", "X-Eq", "one", "X-Contains", "amidst", "X-Re", "v12", "X-NotRe", "good", "X-Absent", "here"), "absent");
            hit(get("/wm/h", "x-eq", "one", "x-contains", "amidst", "x-re", "v12", "x-notre", "good"), "h", "header names are case-insensitive");
        }));

        c.add(new Check("stub.headers.moreStringMatchers", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/h2"))
                    .withHeader("X-Ci", equalToIgnoreCase("MiXeD"))
                    .withHeader("X-Nc", notContaining("secret"))
                    .withHeader("X-Not", not(equalTo("no")))
                    .willReturn(ok("h2")));
            hit(get("/wm/h2", "X-Ci", "mixed", "X-Nc", "public", "X-Not", "yes"), "h2", "equalToIgnoreCase/notContaining/not");
            miss(get("/wm/h2", "X-Ci", "other", "X-Nc", "public", "X-Not", "yes"), "equalToIgnoreCase");
            miss(get("/wm/h2", "X-Ci", "mixed", "X-Nc", "topsecret", "X-Not", "yes"), "notContaining");
            miss(get("/wm/h2", "X-Ci", "mixed", "X-Nc", "public", "X-Not", "no"), "not");
        }));

        c.add(new Check("stub.cookies", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/ck"))
                    .withCookie("session", equalTo("abc"))
                    .withCookie("pref", matching("d.*"))
                    .willReturn(ok("ck")));
            hit(get("/wm/ck", "Cookie", "session=abc; pref=dark"), "ck", "cookies");
            miss(get("/wm/ck", "Cookie", "session=xyz; pref=dark"), "cookie value");
            miss(get("/wm/ck", "Cookie", "session=abc"), "cookie missing");
            miss(get("/wm/ck"), "no cookies");
        }));

        c.add(new Check("stub.basicAuth", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/ba")).withBasicAuth("user", "s3cret").willReturn(ok("ba")));
            hit(get("/wm/ba", "Authorization", basic("user", "s3cret")), "ba", "basic auth");
            miss(get("/wm/ba", "Authorization", basic("user", "wrong")), "wrong password");
            miss(get("/wm/ba"), "no credentials");
        }));

        // ---- request matching: bodies

        c.add(new Check("stub.body.strings", () -> {
            wm.register(post(urlPathEqualTo("/wm/b/eq")).withRequestBody(equalTo("exact body")).willReturn(ok("eq")));
            wm.register(post(urlPathEqualTo("/wm/b/contains")).withRequestBody(containing("needle")).willReturn(ok("contains")));
            wm.register(post(urlPathEqualTo("/wm/b/regex")).withRequestBody(matching("^id=[0-9]+$")).willReturn(ok("regex")));
            wm.register(post(urlPathEqualTo("/wm/b/notregex")).withRequestBody(notMatching(".*forbidden.*")).willReturn(ok("notregex")));
            hit(call("POST", "/wm/b/eq", "exact body"), "eq", "equalTo");
            miss(call("POST", "/wm/b/eq", "exact body!"), "equalTo");
            hit(call("POST", "/wm/b/contains", "hay needle hay"), "contains", "containing");
            miss(call("POST", "/wm/b/contains", "hay"), "containing");
            hit(call("POST", "/wm/b/regex", "id=123"), "regex", "matching");
            miss(call("POST", "/wm/b/regex", "id=12a"), "matching");
            hit(call("POST", "/wm/b/notregex", "fine"), "notregex", "notMatching");
            miss(call("POST", "/wm/b/notregex", "a forbidden word"), "notMatching");
        }));

        c.add(new Check("stub.body.equalToJson", () -> {
            String j = "{\"a\":1,\"b\":[1,2],\"c\":{\"d\":\"e\"}}";
            wm.register(post(urlPathEqualTo("/wm/j/strict")).withRequestBody(equalToJson(j)).willReturn(ok("strict")));
            wm.register(post(urlPathEqualTo("/wm/j/lenient")).withRequestBody(equalToJson(j, true, true)).willReturn(ok("lenient")));
            hit(call("POST", "/wm/j/strict", "{\"c\":{\"d\":\"e\"},\"b\":[1,2],\"a\":1}"), "strict", "key order ignored");
            miss(call("POST", "/wm/j/strict", "{\"a\":1,\"b\":[2,1],\"c\":{\"d\":\"e\"}}"), "array order (strict)");
            miss(call("POST", "/wm/j/strict", "{\"a\":1,\"b\":[1,2],\"c\":{\"d\":\"e\"},\"x\":0}"), "extra element (strict)");
            hit(call("POST", "/wm/j/lenient", "{\"a\":1,\"b\":[2,1],\"c\":{\"d\":\"e\",\"f\":1},\"x\":0}"), "lenient",
                    "ignoreArrayOrder + ignoreExtraElements");
            miss(call("POST", "/wm/j/lenient", "{\"a\":2,\"b\":[2,1],\"c\":{\"d\":\"e\"}}"), "value differs (lenient)");
            miss(call("POST", "/wm/j/lenient", "not json"), "not JSON");
        }));

        c.add(new Check("stub.body.equalToJson.placeholders", () -> {
            wm.register(post(urlPathEqualTo("/wm/j/ph")).withRequestBody(equalToJson(
                    "{\"id\":\"${json-unit.any-string}\",\"n\":\"${json-unit.any-number}\",\"t\":\"${json-unit.ignore}\"}"))
                    .willReturn(ok("ph")));
            hit(call("POST", "/wm/j/ph", "{\"id\":\"abc\",\"n\":5,\"t\":[1,{}]}"), "ph", "json-unit placeholders");
            miss(call("POST", "/wm/j/ph", "{\"id\":5,\"n\":5,\"t\":1}"), "any-string given a number");
            miss(call("POST", "/wm/j/ph", "{\"id\":\"abc\",\"n\":\"five\",\"t\":1}"), "any-number given a string");
        }));

        c.add(new Check("stub.body.matchingJsonPath", () -> {
            wm.register(post(urlPathEqualTo("/wm/jp/exists")).withRequestBody(matchingJsonPath("$.user.name")).willReturn(ok("exists")));
            wm.register(post(urlPathEqualTo("/wm/jp/sub")).withRequestBody(matchingJsonPath("$.user.age", equalTo("30"))).willReturn(ok("sub")));
            wm.register(post(urlPathEqualTo("/wm/jp/filter")).withRequestBody(matchingJsonPath("$.items[?(@.qty > 2)]")).willReturn(ok("filter")));
            wm.register(post(urlPathEqualTo("/wm/jp/subre")).withRequestBody(matchingJsonPath("$.user.name", matching("A.*"))).willReturn(ok("subre")));
            hit(call("POST", "/wm/jp/exists", "{\"user\":{\"name\":\"Ann\"}}"), "exists", "path exists");
            miss(call("POST", "/wm/jp/exists", "{\"user\":{}}"), "path absent");
            hit(call("POST", "/wm/jp/sub", "{\"user\":{\"age\":30}}"), "sub", "path + equalTo (number)");
            miss(call("POST", "/wm/jp/sub", "{\"user\":{\"age\":31}}"), "path + equalTo");
            hit(call("POST", "/wm/jp/filter", "{\"items\":[{\"qty\":1},{\"qty\":3}]}"), "filter", "filter expression");
            miss(call("POST", "/wm/jp/filter", "{\"items\":[{\"qty\":1}]}"), "filter expression");
            hit(call("POST", "/wm/jp/subre", "{\"user\":{\"name\":\"Ann\"}}"), "subre", "path + matching");
            miss(call("POST", "/wm/jp/subre", "{\"user\":{\"name\":\"Bob\"}}"), "path + matching");
        }));

        c.add(new Check("stub.body.equalToXml", () -> {
            wm.register(post(urlPathEqualTo("/wm/x/eq")).withRequestBody(equalToXml("<order><id>7</id><total>12</total></order>")).willReturn(ok("xml")));
            hit(call("POST", "/wm/x/eq", "<order>\n  <id>7</id>\n  <total>12</total>\n</order>"), "xml", "equalToXml, whitespace between elements");
            miss(call("POST", "/wm/x/eq", "<order><id>8</id><total>12</total></order>"), "equalToXml");
        }));

        c.add(new Check("stub.body.matchingXPath", () -> {
            wm.register(post(urlPathEqualTo("/wm/x/xp")).withRequestBody(matchingXPath("/order/item[@id='7']")).willReturn(ok("xp")));
            wm.register(post(urlPathEqualTo("/wm/x/xpsub")).withRequestBody(matchingXPath("/order/total/text()", equalTo("12"))).willReturn(ok("xpsub")));
            hit(call("POST", "/wm/x/xp", "<order><item id=\"7\"/></order>"), "xp", "XPath");
            miss(call("POST", "/wm/x/xp", "<order><item id=\"8\"/></order>"), "XPath");
            hit(call("POST", "/wm/x/xpsub", "<order><total>12</total></order>"), "xpsub", "XPath + equalTo");
            miss(call("POST", "/wm/x/xpsub", "<order><total>13</total></order>"), "XPath + equalTo");
        }));

        c.add(new Check("stub.andOr", () -> {
            wm.register(post(urlPathEqualTo("/wm/ao"))
                    .withHeader("X-Ao", and(containing("alpha"), containing("beta")))
                    .withRequestBody(or(equalTo("one"), matching("t[a-z]o")))
                    .willReturn(ok("ao")));
            hit(call("POST", "/wm/ao", "one", "X-Ao", "alpha-beta"), "ao", "and + or (first)");
            hit(call("POST", "/wm/ao", "two", "X-Ao", "beta alpha"), "ao", "and + or (second)");
            miss(call("POST", "/wm/ao", "one", "X-Ao", "alpha"), "and: one part missing");
            miss(call("POST", "/wm/ao", "three", "X-Ao", "alpha-beta"), "or: neither");
        }));

        c.add(new Check("stub.formParams", () -> {
            wm.register(post(urlPathEqualTo("/wm/form"))
                    .withFormParam("a", equalTo("1"))
                    .withFormParam("b", containing("x"))
                    .willReturn(ok("form")));
            String ct = "application/x-www-form-urlencoded";
            hit(call("POST", "/wm/form", "a=1&b=xyz", "Content-Type", ct), "form", "form parameters");
            miss(call("POST", "/wm/form", "a=2&b=xyz", "Content-Type", ct), "form parameter differs");
        }));

        c.add(new Check("stub.multipart", () -> {
            wm.register(post(urlPathEqualTo("/wm/mp"))
                    .withMultipartRequestBody(aMultipart()
                            .withName("file")
                            .withHeader("Content-Type", containing("text/plain"))
                            .withBody(containing("hello")))
                    .willReturn(ok("mp")));
            String boundary = "wmcBoundary123";
            String ct = "multipart/form-data; boundary=" + boundary;
            hit(call("POST", "/wm/mp", multipart(boundary, "hello world"), "Content-Type", ct), "mp", "multipart part");
            miss(call("POST", "/wm/mp", multipart(boundary, "goodbye"), "Content-Type", ct), "multipart part body");
        }));

        c.add(new Check("stub.binaryEqualTo", () -> {
            byte[] bytes = {0, 1, 2, (byte) 0xfe, (byte) 0xff};
            wm.register(post(urlPathEqualTo("/wm/bin")).withRequestBody(binaryEqualTo(bytes)).willReturn(ok("bin")));
            hit(call("POST", "/wm/bin", bytes, "Content-Type", "application/octet-stream"), "bin", "binaryEqualTo");
            miss(call("POST", "/wm/bin", new byte[] {0, 1, 2}, "Content-Type", "application/octet-stream"), "binaryEqualTo");
        }));

        c.add(new Check("stub.dateTime", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/dt")).withHeader("X-When", after("2020-01-01T00:00:00Z")).willReturn(ok("dt")));
            hit(get("/wm/dt", "X-When", "2024-05-01T10:00:00Z"), "dt", "after");
            miss(get("/wm/dt", "X-When", "2019-05-01T10:00:00Z"), "after");
        }));

        c.add(new Check("stub.jsonSchema", () -> {
            wm.register(post(urlPathEqualTo("/wm/schema")).withRequestBody(matchingJsonSchema(
                    "{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{\"id\":{\"type\":\"integer\"}}}"))
                    .willReturn(ok("schema")));
            hit(call("POST", "/wm/schema", "{\"id\":3}"), "schema", "schema valid");
            miss(call("POST", "/wm/schema", "{\"id\":\"x\"}"), "schema invalid");
        }));

        // ---- responses

        c.add(new Check("resp.statusHeadersBody", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/r/shb")).willReturn(aResponse()
                    .withStatus(201)
                    .withHeader("X-One", "1")
                    .withHeader("X-Multi", "a", "b")
                    .withHeader("Content-Type", "text/plain")
                    .withBody("created body")));
            Resp r = get("/wm/r/shb");
            status(r, 201, "status");
            eq("created body", r.body(), "body");
            eq("1", r.header("X-One"), "X-One");
            eq(List.of("a", "b"), r.headers().allValues("X-Multi"), "X-Multi values");
            expect(r.header("Content-Type").startsWith("text/plain"), "Content-Type " + r.header("Content-Type"));
        }));

        c.add(new Check("resp.jsonBody", () -> {
            String j = "{\"a\":[1,2],\"b\":{\"c\":true},\"s\":\"x\"}";
            wm.register(WireMock.get(urlPathEqualTo("/wm/r/json")).willReturn(aResponse().withStatus(200).withJsonBody(Json.node(j))));
            wm.register(WireMock.get(urlPathEqualTo("/wm/r/okjson")).willReturn(okJson(j)));
            wm.register(WireMock.get(urlPathEqualTo("/wm/r/jsonresp")).willReturn(jsonResponse(Map.of("k", "v"), 202)));
            Resp r = get("/wm/r/json");
            status(r, 200, "jsonBody");
            sameJson(j, r.body(), "jsonBody");
            Resp o = get("/wm/r/okjson");
            sameJson(j, o.body(), "okJson");
            expect(String.valueOf(o.header("Content-Type")).startsWith("application/json"), "okJson content type " + o.header("Content-Type"));
            Resp jr = get("/wm/r/jsonresp");
            status(jr, 202, "jsonResponse status");
            sameJson("{\"k\":\"v\"}", jr.body(), "jsonResponse body");
            expect(String.valueOf(jr.header("Content-Type")).startsWith("application/json"), "jsonResponse content type " + jr.header("Content-Type"));
            StubMapping stored = wm.allStubMappings().getMappings().stream()
                    .filter(s -> "/wm/r/json".equals(s.getRequest().getUrlPath())).findFirst().orElseThrow();
            eq(Json.node(j), stored.getResponse().getJsonBody(), "stored jsonBody");
        }));

        c.add(new Check("resp.binaryBody", () -> {
            byte[] bytes = new byte[256];
            for (int i = 0; i < 256; i++) bytes[i] = (byte) i;
            StubMapping sm = wm.register(WireMock.get(urlPathEqualTo("/wm/r/bin"))
                    .willReturn(aResponse().withHeader("Content-Type", "application/octet-stream").withBody(bytes)));
            Resp r = get("/wm/r/bin");
            status(r, 200, "binary body");
            expect(Arrays.equals(bytes, r.bytes()), "binary body bytes differ (" + r.bytes().length + " bytes)");
            StubMapping stored = wm.getStubMapping(sm.getId()).getItem();
            expect(Arrays.equals(bytes, stored.getResponse().getByteBody()), "stored base64Body differs");
            eq(Base64.getEncoder().encodeToString(bytes), stored.getResponse().getBase64Body(), "stored base64Body");
        }));

        c.add(new Check("resp.convenience", () -> {
            Map<String, com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder> rs = new LinkedHashMap<>();
            rs.put("created", created());
            rs.put("noContent", noContent());
            rs.put("temporaryRedirect", temporaryRedirect("/wm/there"));
            rs.put("permanentRedirect", permanentRedirect("/wm/there"));
            rs.put("seeOther", seeOther("/wm/there"));
            rs.put("badRequest", badRequest());
            rs.put("unauthorized", unauthorized());
            rs.put("forbidden", forbidden());
            rs.put("notFound", notFound());
            rs.put("serverError", serverError());
            rs.put("serviceUnavailable", serviceUnavailable());
            rs.put("teapot", WireMock.status(418));
            rs.put("csv", okForContentType("text/csv", "a,b"));
            rs.put("xml", okXml("<a/>"));
            Map<String, Integer> codes = Map.ofEntries(Map.entry("created", 201), Map.entry("noContent", 204),
                    Map.entry("temporaryRedirect", 302), Map.entry("permanentRedirect", 301), Map.entry("seeOther", 303),
                    Map.entry("badRequest", 400), Map.entry("unauthorized", 401), Map.entry("forbidden", 403),
                    Map.entry("notFound", 404), Map.entry("serverError", 500), Map.entry("serviceUnavailable", 503),
                    Map.entry("teapot", 418), Map.entry("csv", 200), Map.entry("xml", 200));
            for (var e : rs.entrySet()) wm.register(WireMock.get(urlPathEqualTo("/wm/conv/" + e.getKey())).willReturn(e.getValue()));
            for (var e : rs.entrySet()) {
                Resp r = get("/wm/conv/" + e.getKey());
                status(r, codes.get(e.getKey()), e.getKey());
                if (e.getKey().endsWith("Redirect") || e.getKey().equals("seeOther"))
                    eq("/wm/there", r.header("Location"), e.getKey() + " Location");
            }
            Resp csv = get("/wm/conv/csv");
            eq("a,b", csv.body(), "csv body");
            expect(String.valueOf(csv.header("Content-Type")).startsWith("text/csv"), "csv content type " + csv.header("Content-Type"));
            expect(String.valueOf(get("/wm/conv/xml").header("Content-Type")).startsWith("application/xml"), "okXml content type");
        }));

        c.add(new Check("resp.fixedDelay", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/r/delay")).willReturn(ok("late").withFixedDelay(300)));
            Resp r = get("/wm/r/delay");
            hit(r, "late", "fixed delay");
            expect(r.millis() >= 280, "answered after " + r.millis() + " ms, expected >= 300");
        }));

        c.add(new Check("resp.randomDelay", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/r/rdelay")).willReturn(ok("rlate").withUniformRandomDelay(200, 250)));
            Resp r = get("/wm/r/rdelay");
            hit(r, "rlate", "uniform random delay");
            expect(r.millis() >= 180, "answered after " + r.millis() + " ms, expected >= 200");
        }));

        c.add(new Check("resp.chunkedDribbleDelay", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/r/dribble")).willReturn(ok("abcdefghijkl").withChunkedDribbleDelay(4, 400)));
            Resp r = get("/wm/r/dribble");
            hit(r, "abcdefghijkl", "chunked dribble");
            expect(r.millis() >= 250, "answered after " + r.millis() + " ms, expected about 400");
        }));

        c.add(new Check("resp.faults", () -> {
            for (Fault f : List.of(Fault.EMPTY_RESPONSE, Fault.CONNECTION_RESET_BY_PEER, Fault.RANDOM_DATA_THEN_CLOSE, Fault.MALFORMED_RESPONSE_CHUNK)) {
                wm.register(WireMock.get(urlPathEqualTo("/wm/r/fault/" + f)).willReturn(aResponse().withFault(f)));
                try {
                    Resp r = get("/wm/r/fault/" + f);
                    throw new AssertionError(f + ": expected an I/O error but got status " + r.status() + " body " + trim(r.body()));
                } catch (IOException expected) {
                    // the connection broke, as the fault asks
                }
            }
        }));

        c.add(new Check("resp.template", () -> {
            wm.register(WireMock.get(urlPathMatching("/wm/tpl/.*")).willReturn(ok(
                    "{{request.path}}|{{request.method}}|{{request.query.a}}|{{request.headers.X-Name}}")
                    .withTransformers("response-template")));
            hit(get("/wm/tpl/x?a=1", "X-Name", "bob"), "/wm/tpl/x|GET|1|bob", "templated body");
        }));

        c.add(new Check("resp.template.pathParams", () -> {
            wm.register(WireMock.get(urlPathTemplate("/wm/tp/{id}/{sub}")).willReturn(ok("{{request.path.id}}+{{request.path.sub}}")
                    .withTransformers("response-template")));
            hit(get("/wm/tp/42/abc"), "42+abc", "templated path parameters");
        }));

        // ---- proxying: the server proxies to itself, so one server is both mock and target
        // (echobase runs with mocks.proxy_allowed_targets=127.0.0.0/8)

        c.add(new Check("proxy.forward", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/upstream/thing")).willReturn(aResponse()
                    .withStatus(201).withHeader("X-Upstream", "yes").withBody("from upstream")));
            wm.register(any(urlPathMatching("/wm/via/.*")).atPriority(9).willReturn(aResponse()
                    .proxiedFrom(base + "/wm/upstream")
                    .withProxyUrlPrefixToRemove("/wm/via")
                    .withAdditionalRequestHeader("X-Added", "1")
                    .withRemoveRequestHeader("X-Private")));
            Resp r = get("/wm/via/thing?q=1", "X-Private", "p", "X-Kept", "k");
            status(r, 201, "the target's status");
            eq("from upstream", r.body(), "the target's body");
            eq("yes", r.header("X-Upstream"), "the target's header");
            List<LoggedRequest> seen = wm.find(getRequestedFor(urlPathEqualTo("/wm/upstream/thing"))
                    .withQueryParam("q", equalTo("1"))
                    .withHeader("X-Added", equalTo("1"))
                    .withHeader("X-Kept", equalTo("k"))
                    .withHeader("X-Private", absent()));
            eq(1, seen.size(), "requests the target received as forwarded");
            // A specific stub beside the proxy answers what it matches (proxy/intercept).
            wm.register(WireMock.get(urlPathEqualTo("/wm/via/pinned")).atPriority(1).willReturn(ok("pinned")));
            hit(get("/wm/via/pinned"), "pinned", "the specific stub wins");
            StubMapping proxy = wm.allStubMappings().getMappings().stream()
                    .filter(m -> m.getResponse().isProxyResponse()).findFirst().orElseThrow();
            eq(base + "/wm/upstream", proxy.getResponse().getProxyBaseUrl(), "proxyBaseUrl read back");
            eq("/wm/via", String.valueOf(proxy.getResponse().getProxyUrlPrefixToRemove()), "prefix read back");
        }));

        c.add(new Check("record.flow", () -> {
            // The target answers at priority 1, so the recording's catch-all proxy never
            // sends a request back to itself.
            StubMapping upstream = wm.register(any(urlPathMatching("/wm/upstream/.*")).atPriority(1)
                    .willReturn(ok("recorded body").withHeader("X-Up", "1")));
            eq(RecordingStatus.NeverStarted, wm.getStubRecordingStatus().getStatus(), "status before");
            // Not persistent, so that the reset before the next check removes the recorded stubs.
            wm.startStubRecording(recordSpec().forTarget(base + "/wm/upstream").captureHeader("X-Tenant")
                    .makeStubsPersistent(false));
            eq(RecordingStatus.Recording, wm.getStubRecordingStatus().getStatus(), "status while recording");
            hit(get("/wm/rec/a", "X-Tenant", "t1"), "recorded body", "through the recording's proxy");
            SnapshotRecordResult result = wm.stopStubRecording();
            eq(RecordingStatus.Stopped, wm.getStubRecordingStatus().getStatus(), "status after");
            List<StubMapping> recorded = result.getStubMappings();
            eq(1, recorded.size(), "stubs recorded");
            eq("/wm/rec/a", recorded.get(0).getRequest().getUrl(), "the recorded request's URL");
            // Without a content type the body is binary, and the client's spec moves binary
            // bodies over 0 bytes to a body file.
            expect(recorded.get(0).getResponse().getBodyFileName() != null,
                    "the recorded body is in a file: " + json(recorded.get(0)));
            // Played back once the target is gone.
            wm.removeStubMapping(upstream);
            hit(get("/wm/rec/a", "X-Tenant", "t1"), "recorded body", "played back");
            miss(get("/wm/rec/a", "X-Tenant", "t2"), "a captured header that differs");
        }));

        c.add(new Check("record.snapshot", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/upstream/wm/snap")).atPriority(1).willReturn(ok("snapped")));
            wm.register(WireMock.get(urlPathEqualTo("/wm/snap")).willReturn(aResponse()
                    .proxiedFrom(base + "/wm/upstream")));
            hit(get("/wm/snap"), "snapped", "through a proxy stub");
            List<StubMapping> recorded = wm.takeSnapshotRecording(recordSpec().makeStubsPersistent(false));
            eq(List.of("/wm/snap"), recorded.stream().map(m -> m.getRequest().getUrl()).collect(Collectors.toList()),
                    "only the proxied request is recorded");
        }));

        // ---- priorities

        c.add(new Check("stub.priority", () -> {
            wm.register(WireMock.get(urlPathMatching("/wm/p/.*")).atPriority(5).willReturn(ok("low")));
            wm.register(WireMock.get(urlPathEqualTo("/wm/p/x")).atPriority(1).willReturn(ok("high")));
            wm.register(WireMock.get(urlPathEqualTo("/wm/p/y")).atPriority(9).willReturn(ok("lowest")));
            hit(get("/wm/p/x"), "high", "priority 1 beats 5");
            hit(get("/wm/p/y"), "low", "priority 5 beats 9");
            hit(get("/wm/p/z"), "low", "only match");
            // Same priority: the stub added last wins.
            wm.register(WireMock.get(urlPathEqualTo("/wm/p2")).willReturn(ok("first")));
            wm.register(WireMock.get(urlPathEqualTo("/wm/p2")).willReturn(ok("second")));
            hit(get("/wm/p2"), "second", "newest of equal priority");
        }));

        // ---- stub administration

        c.add(new Check("admin.registerStubMapping", () -> {
            UUID id = UUID.randomUUID();
            StubMapping sm = StubMapping.buildFrom("{\"id\":\"" + id + "\",\"name\":\"from json\",\"priority\":3,"
                    + "\"request\":{\"method\":\"GET\",\"urlPath\":\"/wm/reg\"},\"response\":{\"status\":200,\"body\":\"reg\"}}");
            wm.register(sm);
            hit(get("/wm/reg"), "reg", "registered StubMapping");
            StubMapping back = wm.getStubMapping(id).getItem();
            eq(id, back.getId(), "id");
            eq("from json", back.getName(), "name");
            eq(3, back.getPriority(), "priority");
        }));

        c.add(new Check("admin.listStubs", () -> {
            StubMapping a = wm.register(WireMock.get(urlPathEqualTo("/wm/l/a")).willReturn(ok("a")));
            StubMapping b = wm.register(WireMock.get(urlPathEqualTo("/wm/l/b")).willReturn(ok("b")));
            StubMapping d = wm.register(WireMock.get(urlPathEqualTo("/wm/l/c")).willReturn(ok("c")));
            var all = wm.allStubMappings();
            eq(List.of(d.getId(), b.getId(), a.getId()), ids(all.getMappings()), "stubs, newest first");
            eq(3, all.getMeta().total, "meta.total");
            StubMapping first = all.getMappings().get(0);
            eq("/wm/l/c", first.getRequest().getUrlPath(), "urlPath");
            eq("c", first.getResponse().getBody(), "body");
        }));

        c.add(new Check("admin.getStub", () -> {
            UUID id = UUID.randomUUID();
            wm.register(post(urlPathEqualTo("/wm/g")).withId(id).withName("the stub").atPriority(4)
                    .withHeader("X-H", equalTo("v")).withRequestBody(equalToJson("{\"a\":1}"))
                    .withMetadata(Map.of("owner", "team-a"))
                    .willReturn(aResponse().withStatus(202).withHeader("X-R", "r").withBody("got")));
            StubMapping sm = wm.getStubMapping(id).getItem();
            eq(id, sm.getId(), "id");
            eq("the stub", sm.getName(), "name");
            eq(4, sm.getPriority(), "priority");
            eq("POST", sm.getRequest().getMethod().getName(), "method");
            eq("/wm/g", sm.getRequest().getUrlPath(), "urlPath");
            eq("v", sm.getRequest().getHeaders().get("X-H").getExpected(), "header matcher");
            sameJson("{\"a\":1}", sm.getRequest().getBodyPatterns().get(0).getExpected(), "body pattern");
            eq(202, sm.getResponse().getStatus(), "status");
            eq("got", sm.getResponse().getBody(), "body");
            eq("r", sm.getResponse().getHeaders().getHeader("X-R").firstValue(), "response header");
            eq("team-a", sm.getMetadata().getString("owner"), "metadata");
        }));

        c.add(new Check("admin.getStub.unknownId", () -> {
            UUID id = UUID.randomUUID();
            InvalidInputException e = expectThrows(InvalidInputException.class, () -> wm.getStubMapping(id));
            expect(e.getErrors().first().getDetail().contains("with status code 404"), "detail: " + e.getErrors().first().getDetail());
        }));

        c.add(new Check("admin.editStub", () -> {
            StubMapping sm = wm.register(WireMock.get(urlPathEqualTo("/wm/e")).willReturn(ok("before")));
            hit(get("/wm/e"), "before", "before edit");
            wm.editStubMapping(WireMock.get(urlPathEqualTo("/wm/e2")).withId(sm.getId()).willReturn(ok("after")));
            miss(get("/wm/e"), "old URL after edit");
            hit(get("/wm/e2"), "after", "after edit");
            eq(1, wm.allStubMappings().getMappings().size(), "stubs after edit");
            eq("after", wm.getStubMapping(sm.getId()).getItem().getResponse().getBody(), "edited body");
        }));

        c.add(new Check("admin.editStub.unknownId", () -> {
            UUID id = UUID.randomUUID();
            InvalidInputException e = expectThrows(InvalidInputException.class,
                    () -> wm.editStubMapping(WireMock.get(urlPathEqualTo("/wm/e")).withId(id).willReturn(ok("x"))));
            expect(e.getErrors().first().getDetail().contains("with status code 404"), "detail: " + e.getErrors().first().getDetail());
            eq(0, wm.allStubMappings().getMappings().size(), "no stub created");
        }));

        c.add(new Check("admin.removeStub.byMapping", () -> {
            StubMapping a = wm.register(WireMock.get(urlPathEqualTo("/wm/rm/a")).willReturn(ok("a")));
            StubMapping b = wm.register(WireMock.get(urlPathEqualTo("/wm/rm/b")).willReturn(ok("b")));
            wm.removeStubMapping(a);
            eq(List.of(b.getId()), ids(wm.allStubMappings().getMappings()), "left after remove");
            miss(get("/wm/rm/a"), "removed stub");
        }));

        c.add(new Check("admin.removeStub.byBuilder", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/rb/a")).willReturn(ok("a")));
            StubMapping b = wm.register(WireMock.get(urlPathEqualTo("/wm/rb/b")).willReturn(ok("b")));
            // A builder without an id: the server removes the stub with the same request pattern.
            wm.removeStubMapping(WireMock.get(urlPathEqualTo("/wm/rb/a")).willReturn(ok("whatever")));
            eq(List.of(b.getId()), ids(wm.allStubMappings().getMappings()), "left after remove by builder");
            // A builder with an id: that stub goes.
            wm.removeStubMapping(WireMock.get(urlPathEqualTo("/wm/other")).withId(b.getId()).willReturn(ok()));
            eq(0, wm.allStubMappings().getMappings().size(), "left after remove by builder with id");
        }));

        c.add(new Check("admin.removeStub.byId", () -> {
            StubMapping a = wm.register(WireMock.get(urlPathEqualTo("/wm/ri/a")).willReturn(ok("a")));
            StubMapping b = wm.register(WireMock.get(urlPathEqualTo("/wm/ri/b")).willReturn(ok("b")));
            wm.removeStubMapping(b.getId());
            eq(List.of(a.getId()), ids(wm.allStubMappings().getMappings()), "left after remove by id");
        }));

        c.add(new Check("admin.removeStub.unknownId", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/ru")).willReturn(ok("a")));
            InvalidInputException e = expectThrows(InvalidInputException.class, () -> wm.removeStubMapping(UUID.randomUUID()));
            expect(e.getErrors().first().getDetail().contains("with status code 404"), "detail: " + e.getErrors().first().getDetail());
            eq(1, wm.allStubMappings().getMappings().size(), "stubs left");
        }));

        c.add(new Check("admin.metadata", () -> {
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("team", "pay");
            meta.put("build", Map.of("n", 7));
            meta.put("tags", List.of("a", "b"));
            StubMapping a = wm.register(WireMock.get(urlPathEqualTo("/wm/md/a")).withMetadata(meta).willReturn(ok("a")));
            StubMapping b = wm.register(WireMock.get(urlPathEqualTo("/wm/md/b"))
                    .withMetadata(Metadata.metadata().attr("team", "other").attr("tags", List.of("c"))).willReturn(ok("b")));
            StubMapping n = wm.register(WireMock.get(urlPathEqualTo("/wm/md/n")).willReturn(ok("n")));
            Metadata got = wm.getStubMapping(a.getId()).getItem().getMetadata();
            eq("pay", got.getString("team"), "metadata string");
            eq(7, got.getMetadata("build").getInt("n"), "metadata nested number");
            eq(List.of("a", "b"), got.getList("tags"), "metadata list");
            eq(List.of(a.getId()), ids(wm.findAllStubsByMetadata(matchingJsonPath("$.team", equalTo("pay")))), "find by $.team");
            eq(List.of(a.getId()), ids(wm.findAllStubsByMetadata(matchingJsonPath("$.build.n", equalTo("7")))), "find by nested");
            eq(Set.of(a.getId(), b.getId()), Set.copyOf(ids(wm.findAllStubsByMetadata(matchingJsonPath("$.tags")))), "find by existence");
            eq(List.of(), ids(wm.findAllStubsByMetadata(matchingJsonPath("$.team", equalTo("none")))), "find nothing");
            wm.removeStubsByMetadataPattern(matchingJsonPath("$.team", equalTo("other")));
            eq(Set.of(a.getId(), n.getId()), Set.copyOf(ids(wm.allStubMappings().getMappings())), "left after remove by metadata");
        }));

        c.add(new Check("admin.importStubs", () -> {
            UUID x = UUID.randomUUID(), y = UUID.randomUUID(), z = UUID.randomUUID();
            wm.register(WireMock.get(urlPathEqualTo("/wm/imp/x")).withId(x).willReturn(ok("old")));
            // ignoreExisting: x keeps its response, y is added.
            wm.importStubMappings(StubImport.stubImport()
                    .stub(WireMock.get(urlPathEqualTo("/wm/imp/x")).withId(x).willReturn(ok("new")))
                    .stub(WireMock.get(urlPathEqualTo("/wm/imp/y")).withId(y).willReturn(ok("y")))
                    .ignoreExisting());
            hit(get("/wm/imp/x"), "old", "ignoreExisting kept x");
            hit(get("/wm/imp/y"), "y", "import added y");
            // overwriteExisting (the default), as a built StubImport.
            wm.importStubMappings(StubImport.stubImport()
                    .stub(WireMock.get(urlPathEqualTo("/wm/imp/x")).withId(x).willReturn(ok("newer")))
                    .overwriteExisting().doNotDeleteExistingStubs().build());
            hit(get("/wm/imp/x"), "newer", "overwriteExisting replaced x");
            eq(Set.of(x, y), Set.copyOf(ids(wm.allStubMappings().getMappings())), "stubs after overwrite");
            // deleteAllExistingStubsNotInImport: only the imported stub is left.
            wm.importStubMappings(StubImport.stubImport()
                    .stub(WireMock.get(urlPathEqualTo("/wm/imp/z")).withId(z).willReturn(ok("z")))
                    .deleteAllExistingStubsNotInImport());
            eq(List.of(z), ids(wm.allStubMappings().getMappings()), "stubs after deleteAllExistingStubsNotInImport");
            miss(get("/wm/imp/x"), "x deleted");
            hit(get("/wm/imp/z"), "z", "z imported");
        }));

        c.add(new Check("admin.loadMappingsFrom", () -> {
            Path dir = Files.createTempDirectory("wmc-load");
            try {
                Files.createDirectories(dir.resolve("mappings"));
                Files.createDirectories(dir.resolve("__files"));
                Files.writeString(dir.resolve("mappings/one.json"),
                        "{\"request\":{\"method\":\"GET\",\"urlPath\":\"/wm/load/one\"},\"response\":{\"status\":200,\"body\":\"one\"}}");
                Files.writeString(dir.resolve("mappings/two.json"),
                        "{\"request\":{\"method\":\"GET\",\"urlPath\":\"/wm/load/two\"},\"response\":{\"status\":200,\"bodyFileName\":\"two.txt\"}}");
                Files.writeString(dir.resolve("__files/two.txt"), "two from file");
                wm.loadMappingsFrom(dir.toString());
                eq(2, wm.allStubMappings().getMappings().size(), "stubs loaded from a path");
                wm.removeMappings();
                wm.loadMappingsFrom(dir.toFile());
                hit(get("/wm/load/one"), "one", "loaded mapping");
                hit(get("/wm/load/two"), "two from file", "loaded mapping with body file");
                eq(2, wm.allStubMappings().getMappings().size(), "stubs loaded from a File");
            } finally {
                try (var w = Files.walk(dir)) {
                    w.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }));

        c.add(new Check("admin.saveMappings", () -> {
            try {
                StubMapping a = wm.register(WireMock.get(urlPathEqualTo("/wm/save/a")).willReturn(ok("a")));
                StubMapping b = wm.register(WireMock.get(urlPathEqualTo("/wm/save/b")).willReturn(ok("b")));
                wm.saveMappings();
                eq(Boolean.TRUE, wm.getStubMapping(a.getId()).getItem().isPersistent(), "persistent after saveMappings");
                StubMapping c2 = wm.register(WireMock.get(urlPathEqualTo("/wm/save/c")).willReturn(ok("c")));
                eq(null, wm.getStubMapping(c2.getId()).getItem().isPersistent(), "a stub added later is not persistent");
                // Saved stubs are the defaults now: resetToDefaultMappings keeps them, drops the rest.
                wm.resetToDefaultMappings();
                eq(Set.of(a.getId(), b.getId()), Set.copyOf(ids(wm.allStubMappings().getMappings())), "after resetToDefaultMappings");
                hit(get("/wm/save/a"), "a", "saved stub served");
                // ... and so does a full reset (POST /__admin/reset).
                wm.resetMappings();
                eq(Set.of(a.getId(), b.getId()), Set.copyOf(ids(wm.allStubMappings().getMappings())), "after reset");
                // Removing a saved stub by id removes it from the defaults too.
                wm.removeStubMapping(a.getId());
                wm.resetToDefaultMappings();
                eq(List.of(b.getId()), ids(wm.allStubMappings().getMappings()), "after removing a saved stub");
                // removeMappings (DELETE /__admin/mappings) removes every stub, saved ones included.
                wm.removeMappings();
                wm.resetToDefaultMappings();
                eq(0, wm.allStubMappings().getMappings().size(), "after removeMappings");
            } finally {
                wm.removeMappings(); // leave no saved stub behind for the next checks
            }
        }));

        c.add(new Check("admin.removeMappings", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/rms")).willReturn(ok("x")));
            get("/wm/rms");
            wm.removeMappings();
            eq(0, wm.allStubMappings().getMappings().size(), "stubs after removeMappings");
            miss(get("/wm/rms"), "stub gone");
            eq(2, wm.getServeEvents().size(), "the journal is kept");
        }));

        c.add(new Check("admin.resetMappings", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/rs")).inScenario("R").willSetStateTo("B").willReturn(ok("x")));
            get("/wm/rs");
            wm.resetMappings(); // POST /__admin/reset: stubs, journal and scenarios
            eq(0, wm.allStubMappings().getMappings().size(), "stubs after reset");
            eq(0, wm.getServeEvents().size(), "journal after reset");
            eq(0, wm.getScenarios().size(), "scenarios after reset");
        }));

        c.add(new Check("admin.resetToDefaultMappings", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/rtd")).willReturn(ok("x")));
            get("/wm/rtd");
            wm.resetToDefaultMappings();
            eq(0, wm.allStubMappings().getMappings().size(), "stubs after resetToDefaultMappings");
            eq(0, wm.getServeEvents().size(), "journal after resetToDefaultMappings");
        }));

        // ---- scenarios

        c.add(new Check("scenario.flow", () -> {
            StubMapping s1 = wm.register(WireMock.get(urlPathEqualTo("/wm/sc")).inScenario("Cart").whenScenarioStateIs(Scenario.STARTED).willReturn(ok("empty")));
            StubMapping s2 = wm.register(post(urlPathEqualTo("/wm/sc")).inScenario("Cart").whenScenarioStateIs(Scenario.STARTED).willSetStateTo("Full").willReturn(ok("added")));
            StubMapping s3 = wm.register(WireMock.get(urlPathEqualTo("/wm/sc")).inScenario("Cart").whenScenarioStateIs("Full").willReturn(ok("full")));
            hit(get("/wm/sc"), "empty", "Started");
            hit(call("POST", "/wm/sc", "item"), "added", "transition");
            hit(get("/wm/sc"), "full", "Full");
            List<Scenario> all = wm.getScenarios();
            eq(1, all.size(), "scenarios");
            Scenario sc = all.get(0);
            eq("Cart", sc.getName(), "name");
            eq("Cart", sc.getId(), "id");
            eq("Full", sc.getState(), "state");
            eq(Set.of("Started", "Full"), sc.getPossibleStates(), "possibleStates");
            eq(Set.of(s1.getId(), s2.getId(), s3.getId()), idSet(sc.getMappings()), "mappings");
            wm.setSingleScenarioState("Cart", "Started");
            hit(get("/wm/sc"), "empty", "after setSingleScenarioState Started");
            wm.setSingleScenarioState("Cart", "Full");
            hit(get("/wm/sc"), "full", "after setSingleScenarioState Full");
            wm.resetScenarioState("Cart");
            hit(get("/wm/sc"), "empty", "after resetScenarioState");
            eq("Started", wm.getScenarios().get(0).getState(), "state after reset");
            wm.setSingleScenarioState("Cart", "Full");
            wm.resetScenarios();
            hit(get("/wm/sc"), "empty", "after resetScenarios");
        }));

        c.add(new Check("scenario.unknown", () -> {
            ClientError e = expectThrows(ClientError.class, () -> wm.setSingleScenarioState("Nope", "x"));
            eq(404, e.getErrors().first().getCode(), "error code");
            eq("Scenario Nope does not exist", e.getErrors().first().getTitle(), "error title");
            ClientError r = expectThrows(ClientError.class, () -> wm.resetScenarioState("Nope"));
            eq(404, r.getErrors().first().getCode(), "reset error code");
        }));

        c.add(new Check("scenario.badState", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/bs")).inScenario("S").whenScenarioStateIs(Scenario.STARTED).willSetStateTo("B").willReturn(ok("a")));
            ClientError e = expectThrows(ClientError.class, () -> wm.setSingleScenarioState("S", "Zzz"));
            eq(11, e.getErrors().first().getCode(), "error code");
            eq("Scenario S does not support state Zzz", e.getErrors().first().getTitle(), "error title");
            eq("Started", wm.getScenarios().get(0).getState(), "state unchanged");
        }));

        c.add(new Check("scenario.deleteRecreate", () -> {
            List<MappingBuilder> builders = List.of(
                    WireMock.get(urlPathEqualTo("/wm/dr")).inScenario("DR").whenScenarioStateIs(Scenario.STARTED).willSetStateTo("Two").willReturn(ok("one")),
                    WireMock.get(urlPathEqualTo("/wm/dr")).inScenario("DR").whenScenarioStateIs("Two").willReturn(ok("two")));
            List<StubMapping> stubs = new ArrayList<>();
            for (MappingBuilder b : builders) stubs.add(wm.register(b));
            hit(get("/wm/dr"), "one", "first");
            hit(get("/wm/dr"), "two", "second");
            for (StubMapping s : stubs) wm.removeStubMapping(s.getId());
            eq(0, wm.getScenarios().size(), "no scenario once its stubs are gone");
            wm.register(WireMock.get(urlPathEqualTo("/wm/dr")).inScenario("DR").whenScenarioStateIs(Scenario.STARTED).willSetStateTo("Two").willReturn(ok("one")));
            wm.register(WireMock.get(urlPathEqualTo("/wm/dr")).inScenario("DR").whenScenarioStateIs("Two").willReturn(ok("two")));
            eq("Started", wm.getScenarios().get(0).getState(), "state after re-creating");
            hit(get("/wm/dr"), "one", "re-created scenario starts again");
        }));

        // ---- verification

        c.add(new Check("verify.counts", () -> {
            wm.register(any(urlPathEqualTo("/wm/v")).willReturn(ok("v")));
            for (int i = 0; i < 3; i++) get("/wm/v");
            call("POST", "/wm/v", "{\"pay\":1}", "X-T", "1", "Content-Type", "application/json");
            get("/wm/v-unmatched");
            RequestPatternBuilder gets = getRequestedFor(urlPathEqualTo("/wm/v"));
            wm.verifyThat(gets);
            wm.verifyThat(3, gets);
            wm.verifyThat(exactly(3), gets);
            wm.verifyThat(moreThan(2), gets);
            wm.verifyThat(lessThan(4), gets);
            wm.verifyThat(moreThanOrExactly(3), gets);
            wm.verifyThat(lessThanOrExactly(3), gets);
            wm.verifyThat(0, getRequestedFor(urlPathEqualTo("/wm/none")));
            wm.verifyThat(exactly(0), deleteRequestedFor(urlPathEqualTo("/wm/v")));
            wm.verifyThat(1, postRequestedFor(urlPathEqualTo("/wm/v")).withHeader("X-T", equalTo("1"))
                    .withRequestBody(matchingJsonPath("$.pay")));
            wm.verifyThat(4, anyRequestedFor(urlPathEqualTo("/wm/v")));
            wm.verifyThat(1, getRequestedFor(urlEqualTo("/wm/v-unmatched")));
            wm.verifyThat(5, anyRequestedFor(anyUrl()));
        }));

        c.add(new Check("verify.wrongCount", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/vc")).willReturn(ok("v")));
            for (int i = 0; i < 3; i++) get("/wm/vc");
            VerificationException e = expectThrows(VerificationException.class,
                    () -> wm.verifyThat(exactly(2), getRequestedFor(urlPathEqualTo("/wm/vc"))));
            expect(e.getMessage().contains("Expected exactly 2 requests matching the following pattern but received 3"),
                    "message: " + trim(e.getMessage()));
            VerificationException m = expectThrows(VerificationException.class,
                    () -> wm.verifyThat(moreThan(5), getRequestedFor(urlPathEqualTo("/wm/vc"))));
            expect(m.getMessage().contains("Expected more than 5 requests") && m.getMessage().contains("received 3"),
                    "message: " + trim(m.getMessage()));
        }));

        c.add(new Check("verify.nearMissDiff", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/nm/expected")).willReturn(ok("x")));
            get("/wm/nm/expectex", "X-Who", "me");
            VerificationException e = expectThrows(VerificationException.class,
                    () -> wm.verifyThat(getRequestedFor(urlPathEqualTo("/wm/nm/expected")).withHeader("X-Who", equalTo("you"))));
            String msg = e.getMessage();
            // The client builds the diff from the server's near misses: pattern on one side,
            // the nearest request on the other.
            expect(msg.contains("No requests exactly matched. Most similar request was:"), "message: " + trim(msg));
            expect(msg.contains("/wm/nm/expected") && msg.contains("/wm/nm/expectex"), "diff lacks the URLs: " + trim(msg));
            expect(msg.contains("X-Who: you") && msg.contains("X-Who: me"), "diff lacks the headers: " + trim(msg));
            // With an empty journal the client says so.
            wm.resetRequests();
            VerificationException none = expectThrows(VerificationException.class,
                    () -> wm.verifyThat(getRequestedFor(urlPathEqualTo("/wm/nm/expected"))));
            expect(none.getMessage().contains("Expected at least one request matching"), "empty journal message: " + trim(none.getMessage()));
        }));

        // ---- request journal

        c.add(new Check("journal.find", () -> {
            wm.register(post(urlPathMatching("/wm/f/.*")).willReturn(ok("f")));
            call("POST", "/wm/f/1?x=y", "first", "X-H", "v1", "Cookie", "c=1", "Content-Type", "text/plain");
            call("POST", "/wm/f/2", "second", "X-H", "v2");
            get("/wm/f/3");
            List<LoggedRequest> found = wm.find(postRequestedFor(urlPathMatching("/wm/f/.*")));
            eq(List.of("/wm/f/1?x=y", "/wm/f/2"), urls(found), "found, oldest first");
            LoggedRequest r = found.get(0);
            eq("POST", r.getMethod().getName(), "method");
            eq("v1", r.getHeader("X-H"), "header");
            eq("first", r.getBodyAsString(), "body");
            eq(Base64.getEncoder().encodeToString("first".getBytes()), r.getBodyAsBase64(), "bodyAsBase64");
            eq("y", r.getQueryParams().get("x").firstValue(), "query parameter");
            eq("1", r.getCookies().get("c").getValue(), "cookie");
            expect(r.getAbsoluteUrl().endsWith("/wm/f/1?x=y"), "absoluteUrl " + r.getAbsoluteUrl());
            expect(r.getLoggedDate() != null, "loggedDate");
            expect(r.getClientIp() != null, "clientIp");
            eq(List.of("/wm/f/2"), urls(wm.find(postRequestedFor(urlPathEqualTo("/wm/f/2")).withHeader("X-H", equalTo("v2")))), "find by header");
            eq(List.of(), urls(wm.find(putRequestedFor(anyUrl()))), "find nothing");
        }));

        c.add(new Check("journal.unmatched", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/um2/hit")).willReturn(ok("hit")));
            get("/wm/um2/hit");
            get("/wm/um2/miss1");
            call("POST", "/wm/um2/miss2", "b");
            List<LoggedRequest> un = wm.findAllUnmatchedRequests();
            eq(Set.of("/wm/um2/miss1", "/wm/um2/miss2"), Set.copyOf(urls(un)), "unmatched requests");
        }));

        c.add(new Check("journal.serveEvents", () -> {
            StubMapping sm = wm.register(WireMock.get(urlPathEqualTo("/wm/se")).willReturn(WireMock.status(201).withHeader("X-S", "s").withBody("served")));
            get("/wm/se?n=1");
            get("/wm/se-miss");
            List<ServeEvent> evs = wm.getServeEvents();
            eq(List.of("/wm/se-miss", "/wm/se?n=1"), urls(evs), "serve events, newest first");
            ServeEvent miss = evs.get(0), hitEv = evs.get(1);
            expect(hitEv.getId() != null, "id");
            eq(true, hitEv.getWasMatched(), "wasMatched");
            expect(hitEv.getStubMapping() != null, "stubMapping present");
            eq(sm.getId(), hitEv.getStubMapping().getId(), "stubMapping id");
            eq(201, hitEv.getResponseDefinition().getStatus(), "responseDefinition.status");
            expect(hitEv.getResponse() != null, "response present");
            eq(201, hitEv.getResponse().getStatus(), "response.status");
            eq("served", hitEv.getResponse().getBodyAsString(), "response.body");
            eq("s", hitEv.getResponse().getHeaders().getHeader("X-S").firstValue(), "response header");
            eq(false, miss.getWasMatched(), "unmatched wasMatched");
            expect(miss.getResponse() != null, "unmatched response present");
            eq(404, miss.getResponse().getStatus(), "unmatched response.status");
            eq(404, miss.getResponseDefinition().getStatus(), "unmatched responseDefinition.status");
        }));

        c.add(new Check("journal.serveEventQuery", () -> {
            StubMapping a = wm.register(WireMock.get(urlPathEqualTo("/wm/sq/a")).willReturn(ok("a")));
            wm.register(WireMock.get(urlPathEqualTo("/wm/sq/b")).willReturn(ok("b")));
            get("/wm/sq/a");
            get("/wm/sq/b");
            get("/wm/sq/a");
            get("/wm/sq/none");
            eq(List.of("/wm/sq/none"), urls(wm.getServeEvents(ServeEventQuery.ALL_UNMATCHED)), "unmatched only");
            eq(List.of("/wm/sq/a", "/wm/sq/a"), urls(wm.getServeEvents(ServeEventQuery.forStubMapping(a))), "for stub a");
            eq(4, wm.getServeEvents(ServeEventQuery.ALL).size(), "all");
        }));

        c.add(new Check("journal.removeEvent", () -> {
            get("/wm/rev/a");
            get("/wm/rev/b");
            ServeEvent a = wm.getServeEvents().stream().filter(e -> e.getRequest().getUrl().equals("/wm/rev/a")).findFirst().orElseThrow();
            wm.removeEvent(a.getId());
            eq(List.of("/wm/rev/b"), urls(wm.getServeEvents()), "journal after removeEvent");
        }));

        c.add(new Check("journal.removeEvents", () -> {
            wm.register(WireMock.get(urlPathMatching("/wm/res/.*")).willReturn(ok("x")));
            get("/wm/res/a");
            get("/wm/res/b");
            get("/wm/res/a");
            List<ServeEvent> removed = wm.removeEvents(getRequestedFor(urlPathEqualTo("/wm/res/a")));
            eq(List.of("/wm/res/a", "/wm/res/a"), urls(removed), "removed events");
            eq(List.of("/wm/res/b"), urls(wm.getServeEvents()), "journal after removeEvents");
        }));

        c.add(new Check("journal.removeEventsByStubMetadata", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/rem/a")).withMetadata(Map.of("group", "g1")).willReturn(ok("a")));
            wm.register(WireMock.get(urlPathEqualTo("/wm/rem/b")).withMetadata(Map.of("group", "g2")).willReturn(ok("b")));
            get("/wm/rem/a");
            get("/wm/rem/b");
            get("/wm/rem/none");
            List<ServeEvent> removed = wm.removeEventsByMetadata(matchingJsonPath("$.group", equalTo("g1")));
            eq(List.of("/wm/rem/a"), urls(removed), "removed events");
            eq(Set.of("/wm/rem/b", "/wm/rem/none"), Set.copyOf(urls(wm.getServeEvents())), "journal after removal");
        }));

        c.add(new Check("journal.resetRequests", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/rr")).willReturn(ok("x")));
            get("/wm/rr");
            get("/wm/rr-miss");
            wm.resetRequests();
            eq(0, wm.getServeEvents().size(), "journal after resetRequests");
            eq(1, wm.allStubMappings().getMappings().size(), "stubs kept");
            wm.verifyThat(0, anyRequestedFor(anyUrl()));
        }));

        // ---- near misses

        c.add(new Check("nearMiss.forLoggedRequest", () -> {
            StubMapping near = wm.register(WireMock.get(urlPathEqualTo("/wm/nm/alpha")).willReturn(ok("alpha")));
            StubMapping mid = wm.register(post(urlPathEqualTo("/wm/nm/alpha")).willReturn(ok("post alpha")));
            wm.register(put(urlPathEqualTo("/wm/completely/different/path/here")).withHeader("X-Need", equalTo("x")).willReturn(ok("far")));
            get("/wm/nm/alphx");
            List<LoggedRequest> un = wm.findAllUnmatchedRequests();
            eq(1, un.size(), "unmatched requests");
            List<NearMiss> nms = wm.findTopNearMissesFor(un.get(0));
            expect(!nms.isEmpty(), "no near misses");
            eq(near.getId(), nms.get(0).getStubMapping().getId(), "nearest stub first");
            if (nms.size() > 1) eq(mid.getId(), nms.get(1).getStubMapping().getId(), "second nearest");
            assertDistancesAscending(nms);
            for (NearMiss nm : nms) eq("/wm/nm/alphx", nm.getRequest().getUrl(), "near miss request url");
        }));

        c.add(new Check("nearMiss.forPattern", () -> {
            get("/wm/np/aaa");
            call("POST", "/wm/np/aab", "b");
            get("/wm/totally/unrelated/and/long/path/x");
            List<NearMiss> nms = wm.findAllNearMissesFor(getRequestedFor(urlPathEqualTo("/wm/np/aac")));
            expect(!nms.isEmpty(), "no near misses");
            eq("/wm/np/aaa", nms.get(0).getRequest().getUrl(), "nearest request first");
            assertDistancesAscending(nms);
            for (NearMiss nm : nms) {
                expect(nm.getRequestPattern() != null, "requestPattern present");
                eq("/wm/np/aac", nm.getRequestPattern().getUrlPath(), "requestPattern urlPath");
                expect(nm.getStubMapping() == null, "no stubMapping in a pattern near miss");
            }
        }));

        c.add(new Check("nearMiss.allUnmatched", () -> {
            StubMapping one = wm.register(WireMock.get(urlPathEqualTo("/wm/nu/one")).willReturn(ok("one")));
            StubMapping two = wm.register(WireMock.get(urlPathEqualTo("/wm/nu/second/level")).willReturn(ok("two")));
            get("/wm/nu/onx");
            get("/wm/nu/second/levex");
            get("/wm/nu/one");
            List<NearMiss> nms = wm.findNearMissesForAllUnmatchedRequests();
            expect(!nms.isEmpty(), "no near misses");
            Map<String, List<NearMiss>> byUrl = nms.stream().collect(Collectors.groupingBy(n -> n.getRequest().getUrl(), LinkedHashMap::new, Collectors.toList()));
            eq(Set.of("/wm/nu/onx", "/wm/nu/second/levex"), byUrl.keySet(), "unmatched requests with near misses");
            eq(one.getId(), byUrl.get("/wm/nu/onx").get(0).getStubMapping().getId(), "nearest stub for /wm/nu/onx");
            eq(two.getId(), byUrl.get("/wm/nu/second/levex").get(0).getStubMapping().getId(), "nearest stub for /wm/nu/second/levex");
            for (List<NearMiss> l : byUrl.values()) assertDistancesAscending(l);
        }));

        // ---- global settings

        c.add(new Check("settings.fixedDelay", () -> {
            try {
                wm.register(WireMock.get(urlPathEqualTo("/wm/gd")).willReturn(ok("gd")));
                wm.setGlobalFixedDelayVariable(250);
                eq(250, wm.getGlobalSettings().getFixedDelay(), "fixedDelay");
                Resp r = get("/wm/gd");
                hit(r, "gd", "delayed");
                expect(r.millis() >= 230, "answered after " + r.millis() + " ms, expected >= 250");
            } finally {
                wm.updateGlobalSettings(GlobalSettings.defaults());
            }
            Integer after = wm.getGlobalSettings().getFixedDelay();
            expect(after == null || after == 0, "fixedDelay after reset: " + after);
        }));

        c.add(new Check("settings.randomDelay", () -> {
            try {
                wm.register(WireMock.get(urlPathEqualTo("/wm/grd")).willReturn(ok("grd")));
                wm.setGlobalRandomDelayVariable(new UniformDistribution(200, 220));
                GlobalSettings s = wm.getGlobalSettings();
                expect(s.getDelayDistribution() instanceof UniformDistribution, "delayDistribution " + json(s));
                Resp r = get("/wm/grd");
                hit(r, "grd", "delayed");
                expect(r.millis() >= 180, "answered after " + r.millis() + " ms, expected >= 200");
            } finally {
                wm.updateGlobalSettings(GlobalSettings.defaults());
            }
            expect(wm.getGlobalSettings().getDelayDistribution() == null, "delayDistribution after reset");
        }));

        c.add(new Check("settings.update", () -> {
            try {
                GlobalSettings want = GlobalSettings.builder().fixedDelay(5)
                        .extended(Parameters.one("mySetting", "on")).proxyPassThrough(false).build();
                wm.updateGlobalSettings(want);
                GlobalSettings got = wm.getGlobalSettings();
                eq(5, got.getFixedDelay(), "fixedDelay");
                eq("on", got.getExtended().getString("mySetting"), "extended");
                eq(false, got.getProxyPassThrough(), "proxyPassThrough");
            } finally {
                wm.updateGlobalSettings(GlobalSettings.defaults());
            }
        }));

        // ---- Admin-only operations (HttpAdminClient), reached without the WireMock façade

        c.add(new Check("adminClient.getServedStub", () -> {
            wm.register(WireMock.get(urlPathEqualTo("/wm/gs")).willReturn(ok("gs")));
            get("/wm/gs");
            ServeEvent ev = wm.getServeEvents().get(0);
            ServeEvent one = admin.getServedStub(ev.getId()).getItem();
            eq(ev.getId(), one.getId(), "id");
            eq("/wm/gs", one.getRequest().getUrl(), "url");
            eq(200, one.getResponse().getStatus(), "response.status");
        }));

        c.add(new Check("adminClient.countRequests", () -> {
            get("/wm/cnt");
            get("/wm/cnt");
            eq(2, admin.countRequestsMatching(getRequestedFor(urlPathEqualTo("/wm/cnt")).build()).getCount(), "count");
        }));

        c.add(new Check("adminClient.unmatchedStubs", () -> {
            StubMapping used = wm.register(WireMock.get(urlPathEqualTo("/wm/us/used")).willReturn(ok("u")));
            StubMapping unused = wm.register(WireMock.get(urlPathEqualTo("/wm/us/unused")).willReturn(ok("n")));
            get("/wm/us/used");
            eq(List.of(unused.getId()), ids(admin.findUnmatchedStubs().getMappings()), "stubs never matched");
            expect(!used.getId().equals(unused.getId()), "ids differ");
        }));

        // ---- errors

        c.add(new Check("errors.invalidStub", () -> {
            // Path parameters without a path template. The Java client refuses it itself, while
            // building the stub (RequestPatternBuilder.build), so no request is sent: WireMock
            // 3.13.2's server validates nothing the client would let through (the same JSON
            // posted raw is accepted with 201). Kept to pin the type a user sees. The server-side
            // error documents are checked in scenario.unknown, scenario.badState and the
            // *.unknownId checks.
            InvalidInputException e = expectThrows(InvalidInputException.class, () -> wm.register(
                    WireMock.get(urlPathEqualTo("/wm/inv")).withPathParam("id", equalTo("1")).willReturn(ok())));
            eq(19, e.getErrors().first().getCode(), "error code");
            eq("URL path parameters specified without a path template as the URL matcher", e.getErrors().first().getTitle(), "error title");
            eq(0, wm.allStubMappings().getMappings().size(), "nothing stored");
        }));

        return c;
    }

    static void assertDistancesAscending(List<NearMiss> nms) {
        double prev = -1;
        for (NearMiss nm : nms) {
            double d = nm.getMatchResult().getDistance();
            expect(d >= 0 && d <= 1, "distance out of [0,1]: " + d);
            expect(d >= prev, "near misses not nearest first: " + nms.stream().map(n -> n.getMatchResult().getDistance()).collect(Collectors.toList()));
            prev = d;
        }
    }

    static byte[] multipart(String boundary, String fileBody) {
        String s = "--" + boundary + "\r\n"
                + "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
                + "Content-Type: text/plain\r\n\r\n"
                + fileBody + "\r\n"
                + "--" + boundary + "\r\n"
                + "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
                + "hi\r\n"
                + "--" + boundary + "--\r\n";
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- runner

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: WireMockClientSuite http://HOST:PORT [label] | HOST PORT [label]");
            System.exit(2);
        }
        String label;
        if (args[0].contains("://")) {
            URI u = URI.create(args[0]);
            host = u.getHost();
            port = u.getPort();
            label = args.length > 1 ? args[1] : args[0];
        } else {
            host = args[0];
            port = Integer.parseInt(args[1]);
            label = args.length > 2 ? args[2] : host + ":" + port;
        }
        base = "http://" + host + ":" + port;
        Admin real = new HttpAdminClient(host, port);
        admin = (Admin) Proxy.newProxyInstance(Admin.class.getClassLoader(), new Class<?>[] {Admin.class}, (p, m, a) -> {
            if (m.getDeclaringClass() != Object.class) calls.incrementAndGet();
            try {
                return m.invoke(real, a);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
        wm = new WireMock(admin);

        String only = System.getenv("WMC_ONLY");
        List<String> words = only == null || only.isBlank() ? List.of() : List.of(only.split(","));
        // Checks the target is known to fail (a stub feature it lacks): reported, not counted
        // as failures; one that passes is a failure, so that the list is kept true.
        String knownList = System.getenv("WMC_KNOWN_DIFFERENCES");
        Set<String> known = knownList == null || knownList.isBlank() ? Set.of()
                : Set.of(knownList.trim().split("\\s*,\\s*"));
        int passed = 0, failed = 0, knownFailed = 0;
        try {
            wm.removeMappings(); // stubs saved by an earlier run would come back with every reset
        } catch (Throwable ignored) {
            // the first check reports a server that does not answer
        }
        for (Check check : checks()) {
            if (!words.isEmpty() && words.stream().noneMatch(w -> check.name().contains(w.trim()))) continue;
            try {
                wm.resetMappings(); // POST /__admin/reset: a clean server for every check
                check.body().run();
                if (known.contains(check.name())) {
                    failed++;
                    System.out.println("FAIL " + check.name() + ": passes now; take it off the known differences");
                    continue;
                }
                passed++;
                System.out.println("PASS " + check.name());
            } catch (Throwable t) {
                // The counting proxy wraps the client's sneaky-thrown I/O errors; unwrap them.
                while (t instanceof java.lang.reflect.UndeclaredThrowableException u && u.getCause() != null) t = u.getCause();
                if (known.contains(check.name())) {
                    knownFailed++;
                    String why = t.getMessage() == null ? "" : t.getMessage().replace("\n", " ");
                    System.out.println("KNOWN " + check.name() + ": " + (why.length() > 200 ? why.substring(0, 200) + "..." : why));
                    continue;
                }
                failed++;
                String msg = t.getMessage() == null ? "" : t.getMessage().replace("\n", "\\n");
                if (msg.length() > 1500) msg = msg.substring(0, 1500) + "...";
                System.out.println("FAIL " + check.name() + ": " + t.getClass().getName() + ": " + msg);
                if (t.getCause() != null && t.getCause() != t)
                    System.out.println("     caused by " + t.getCause().getClass().getName() + ": "
                            + String.valueOf(t.getCause().getMessage()).replace("\n", "\\n"));
            }
        }
        try {
            wm.updateGlobalSettings(GlobalSettings.defaults());
            wm.resetMappings();
        } catch (Throwable ignored) {
            // leave the server as it is; the counts above are the result
        }
        System.out.println("client calls: " + calls.get());
        if (!known.isEmpty()) System.out.println("known differences: " + knownFailed + " of " + known.size() + " failed as expected");
        System.out.println("wiremock-java (" + label + "): " + passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
