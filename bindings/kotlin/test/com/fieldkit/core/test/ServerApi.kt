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

        private fun post(baseUrl: String, path: String, token: String?, body: String, expected: Int): String {
            val request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .header("content-type", "application/json")
                .apply { if (token != null) header("authorization", "Bearer $token") }
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build()
            val response = http.send(request, HttpResponse.BodyHandlers.ofString())
            check(response.statusCode() == expected) {
                "POST $path answered ${response.statusCode()}: ${response.body()}"
            }
            return response.body()
        }

        /** A JSON string literal. */
        fun json(s: String): String =
            "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\""
    }

    /**
     * Creates a customer visit for `assigneeId` at the given WGS-84 place, due at
     * `deadlineMs`, and returns the new task's id.
     */
    fun createTask(title: String, assigneeId: String, lat: Double, lng: Double, deadlineMs: Long): String {
        val body = """{"kind":"customer_visit","title":${json(title)},"assignee_id":"$assigneeId",""" +
            """"deadline_ms":$deadlineMs,"place":{"point":{"lat":$lat,"lng":$lng},"address":"上海市黄浦区南京东路1号"}}"""
        val answer = post(baseUrl, "/v1/tasks", token, body, 201)
        return Regex("\"id\":\"([0-9a-f-]{36})\"").find(answer)?.groupValues?.get(1)
            ?: error("no id in the task answer: $answer")
    }
}
