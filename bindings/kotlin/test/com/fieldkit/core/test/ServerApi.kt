// The manager's side of the tests: the real sync server's HTTP API over java.net.http, used
// to dispatch tasks to the rep whose phone the FieldKit bindings drive.
package com.fieldkit.core.test

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.UUID

/** What scripts/test-kotlin set up on the server it started, read from the environment. */
object TestEnv {
    private fun env(name: String): String =
        System.getenv(name) ?: error("$name is not set; run the tests through scripts/test-kotlin")

    /** The server's base URL, e.g. http://127.0.0.1:41234. */
    val serverUrl = env("FIELDKIT_TEST_URL")
    /** The org's login name. */
    val org = env("FIELDKIT_TEST_ORG")
    /** The password of every user the script created. */
    val password = env("FIELDKIT_TEST_PASSWORD")
    /** An admin, who dispatches tasks. */
    val admin = env("FIELDKIT_TEST_ADMIN")
    /** A rep, whose phone the tests play. */
    val rep = env("FIELDKIT_TEST_REP")
    /** The rep's user id. */
    val repId = env("FIELDKIT_TEST_REP_ID")
    /** Where the tests put their phones' databases (removed by the script). */
    val phonesDir: java.nio.file.Path = java.nio.file.Path.of(env("FIELDKIT_TEST_PHONES_DIR"))
    /** The fieldkit-server binary, for tests that run a server of their own ([OwnServer]). */
    val serverBin: String by lazy { env("FIELDKIT_SERVER_BIN") }
    /** Where those servers keep their data dirs (removed by the script). */
    val serversDir: java.nio.file.Path by lazy { java.nio.file.Path.of(env("FIELDKIT_TEST_SERVERS_DIR")) }
}

/** A dispatcher's session on the server. */
class ServerApi(private val baseUrl: String, private val token: String) {
    companion object {
        private val http: HttpClient = HttpClient.newHttpClient()

        /** Logs `username` in over HTTP, as the dashboard would. */
        fun login(baseUrl: String, org: String, username: String, password: String): ServerApi {
            val body = """{"org":${json(org)},"username":${json(username)},"password":${json(password)},""" +
                """"device_id":"${UUID.randomUUID()}"}"""
            val answer = post(baseUrl, "/v1/login", null, body, 200)
            val token = Regex("\"token\":\"([^\"]+)\"").find(answer)?.groupValues?.get(1)
                ?: error("no token in the login answer")
            return ServerApi(baseUrl, token)
        }

        private fun post(baseUrl: String, path: String, token: String?, body: String, expected: Int): String =
            send("POST", baseUrl, path, token, body, expected)

        /** Sends one JSON request and returns the answer's body; fails unless the status is `expected`. */
        private fun send(method: String, baseUrl: String, path: String, token: String?, body: String?, expected: Int): String {
            val publisher = if (body == null) HttpRequest.BodyPublishers.noBody() else HttpRequest.BodyPublishers.ofString(body)
            val request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .header("content-type", "application/json")
                .apply { if (token != null) header("authorization", "Bearer $token") }
                .method(method, publisher)
                .build()
            val response = http.send(request, HttpResponse.BodyHandlers.ofString())
            check(response.statusCode() == expected) {
                "$method $path answered ${response.statusCode()}: ${response.body()}"
            }
            return response.body()
        }

        /** The first `"id":"<uuid>"` of a JSON answer. */
        private fun idOf(answer: String): String =
            Regex("\"id\":\"([0-9a-f-]{36})\"").find(answer)?.groupValues?.get(1) ?: error("no id in: $answer")

        /**
         * `json` with the value of its member `key` (an object or array, anywhere) replaced by
         * `value`: enough JSON for the org settings, whose strings hold no brackets.
         */
        fun replaceMember(json: String, key: String, value: String): String {
            val start = json.indexOf("\"$key\":").takeIf { it >= 0 } ?: error("no $key in $json")
            val valueStart = start + key.length + 3
            var depth = 0
            var end = valueStart
            do {
                when (json[end]) {
                    '{', '[' -> depth++
                    '}', ']' -> depth--
                }
                end++
            } while (depth > 0)
            return json.substring(0, valueStart) + value + json.substring(end)
        }

        /** A JSON string literal. */
        fun json(s: String): String =
            "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\""
    }

    /** GETs `path` (with its query) and returns the answer's body; fails unless the status is 200. */
    fun get(path: String): String = send("GET", baseUrl, path, token, null, 200)

    /** Defines the org's approval flow for `kind` (admins only): one step any admin decides. */
    fun defineAdminApprovedFlow(kind: String) {
        val step = """{"id":"admin","title":"Admin","approvers":[{"type":"role","role":"admin"}],"rule":"any_of"}"""
        send("PUT", baseUrl, "/v1/approval-flows/$kind", token, """{"steps":[$step]}""", 201)
    }

    /** Approves approval request `id` as this user, with `comment`. */
    fun approve(id: String, comment: String) {
        send("POST", baseUrl, "/v1/approvals/$id/decisions", token, """{"verdict":"approve","comment":${json(comment)}}""", 201)
    }

    /**
     * Creates a customer visit for `assigneeId` at the given WGS-84 place, due at
     * `deadlineMs`, and returns the new task's id.
     */
    fun createTask(
        title: String,
        assigneeId: String,
        lat: Double,
        lng: Double,
        deadlineMs: Long,
        customerId: String? = null,
    ): String {
        val customer = if (customerId == null) "" else """"customer_id":"$customerId","""
        val body = """{"kind":"customer_visit","title":${json(title)},"assignee_id":"$assigneeId",$customer""" +
            """"deadline_ms":$deadlineMs,"place":{"point":{"lat":$lat,"lng":$lng},"address":"上海市黄浦区南京东路1号"}}"""
        return idOf(post(baseUrl, "/v1/tasks", token, body, 201))
    }

    /** Creates a grade-B customer owned by `ownerId` at the given WGS-84 place; returns its id. */
    fun createCustomer(name: String, lat: Double, lng: Double, ownerId: String): String {
        val body = """{"name":${json(name)},"grade":"B","owner_id":"$ownerId",""" +
            """"place":{"point":{"lat":$lat,"lng":$lng},"address":"上海市黄浦区南京东路1号"}}"""
        return idOf(post(baseUrl, "/v1/customers", token, body, 201))
    }

    /** Publishes a product with a list price and a grade-B price (minor units, CNY); returns its id. */
    fun createProduct(sku: String, name: String, listMinor: Long, gradeBMinor: Long): String {
        val body = """{"sku":${json(sku)},"name":${json(name)},"list_price":{"minor":$listMinor,"currency":"CNY"},""" +
            """"grade_prices":{"B":$gradeBMinor},"max_discount_pct":10}"""
        return idOf(post(baseUrl, "/v1/products", token, body, 201))
    }

    /** Publishes version 1 of a form with one required integer field `facings` (0–200); returns its id. */
    fun createShelfForm(): String {
        val body = """{"version":1,"title":"货架检查 Shelf check","fields":[{"key":"facings","label":"排面数",""" +
            """"kind":{"type":"integer"},"required":true,"rules":{"min":0,"max":200}}]}"""
        return idOf(post(baseUrl, "/v1/form-templates", token, body, 201))
    }

    /** Publishes the customer-visit SOP: photo (required), the form (required), order (optional). */
    fun createVisitSop(formId: String): String {
        val body = """{"task_kind":"customer_visit","steps":[""" +
            """{"title":"门头照","kind":{"type":"photo"},"required":true},""" +
            """{"title":"货架检查","kind":{"type":"form","template_id":"$formId"},"required":true},""" +
            """{"title":"下单","kind":{"type":"order"},"required":false}]}"""
        return idOf(post(baseUrl, "/v1/sop-templates", token, body, 201))
    }

    /** Publishes a knowledge-base article; returns its id. */
    fun createArticle(title: String, body: String): String =
        idOf(post(baseUrl, "/v1/kb", token, """{"title":${json(title)},"body":${json(body)},"tags":[]}""", 201))

    /**
     * Sets the org's working hours to every day, all day, in a time zone where it is now
     * about noon: track fixes are kept and the day is long enough to plan, whenever the
     * tests run.
     */
    fun setWorkingAllDay() {
        val settings = send("GET", baseUrl, "/v1/org/settings", token, null, 200)
        val utcMinute = (System.currentTimeMillis() / 60_000L % 1440L).toInt()
        val offset = 720 - utcMinute
        val hours = """{"offset":$offset,"days":["mon","tue","wed","thu","fri","sat","sun"],""" +
            """"windows":[{"start_min":0,"end_min":1440}],"days_off":[],"extra_work_days":[]}"""
        send("PUT", baseUrl, "/v1/org/settings", token, replaceMember(settings, "working_hours", hours), 200)
    }
}
