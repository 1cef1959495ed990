// The cost of an FFI round trip from Kotlin (issue #9, BENCHMARKS.md "Bindings"): a trivial
// getter, the queue status and the rep's task list with 100 tasks on the phone, each timed
// call by call after a warm-up. Run by hand through scripts/bench-kotlin, never by CI.
package com.fieldkit.core.bench

import com.fieldkit.core.FieldKit
import com.fieldkit.core.coreVersion
import kotlinx.coroutines.runBlocking
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.Path
import java.util.UUID

/** A variable scripts/bench-kotlin sets. */
private fun env(name: String): String =
    System.getenv(name) ?: error("$name is not set; run the bench through scripts/bench-kotlin")

/** An optional positive count from the environment. */
private fun envCount(name: String, default: Int): Int = System.getenv(name)?.toInt() ?: default

private val http: HttpClient = HttpClient.newHttpClient()

/** POSTs a JSON body and returns the answer's body; fails unless the status is `expected`. */
private fun post(url: String, token: String?, body: String, expected: Int): String {
    val request = HttpRequest.newBuilder(URI.create(url))
        .header("content-type", "application/json")
        .apply { if (token != null) header("authorization", "Bearer $token") }
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build()
    val response = http.send(request, HttpResponse.BodyHandlers.ofString())
    check(response.statusCode() == expected) { "POST $url answered ${response.statusCode()}: ${response.body()}" }
    return response.body()
}

/** Logs the admin in and dispatches `count` customer visits to the rep in one `POST /v1/tasks/bulk`. */
private fun dispatchTasks(baseUrl: String, org: String, admin: String, password: String, repId: String, count: Int) {
    val login = post(
        "$baseUrl/v1/login", null,
        """{"org":"$org","username":"$admin","password":"$password","device_id":"${UUID.randomUUID()}"}""", 200,
    )
    val token = Regex("\"token\":\"([^\"]+)\"").find(login)?.groupValues?.get(1) ?: error("no token in the login answer")
    val now = System.currentTimeMillis()
    val tasks = (0 until count).joinToString(",") { i ->
        val lat = 31.20 + i * 0.001
        val lng = 121.40 + i * 0.001
        """{"kind":"customer_visit","title":"拜访门店 Store visit ${i + 1}","goal":"补货 restock",""" +
            """"assignee_id":"$repId","deadline_ms":${now + (i + 1) * 3_600_000L},""" +
            """"place":{"point":{"lat":$lat,"lng":$lng},"address":"上海市黄浦区南京东路${i + 1}号"}}"""
    }
    post("$baseUrl/v1/tasks/bulk", token, """{"tasks":[$tasks]}""", 201)
}

/** One benchmark's per-call times, in nanoseconds. */
private class Timings(val name: String, val nanos: LongArray) {
    private val sorted = nanos.sortedArray()

    /** The `q` quantile (0..1) in microseconds. */
    fun quantileUs(q: Double): Double = sorted[((sorted.size - 1) * q).toInt()] / 1_000.0

    override fun toString(): String =
        "%-28s n=%-7d median %9.2f µs   p90 %9.2f µs   p99 %9.2f µs   min %9.2f µs".format(
            name, nanos.size, quantileUs(0.5), quantileUs(0.9), quantileUs(0.99), quantileUs(0.0),
        )
}

/** Keeps results alive so that no call is optimised away. */
private var sink = 0L

/** Calls `call` `warmUp` times untimed, then `iterations` times timing each call. */
private fun <T> measure(name: String, warmUp: Int, iterations: Int, size: (T) -> Int, call: () -> T): Timings {
    repeat(warmUp) { sink += size(call()) }
    val nanos = LongArray(iterations)
    for (i in 0 until iterations) {
        val start = System.nanoTime()
        val result = call()
        nanos[i] = System.nanoTime() - start
        sink += size(result)
    }
    return Timings(name, nanos)
}

fun main() {
    val baseUrl = env("FIELDKIT_TEST_URL")
    val org = env("FIELDKIT_TEST_ORG")
    val password = env("FIELDKIT_TEST_PASSWORD")
    val taskCount = envCount("FIELDKIT_BENCH_TASKS", 100)
    val getterIterations = envCount("FIELDKIT_BENCH_GETTER_ITERATIONS", 200_000)
    val statusIterations = envCount("FIELDKIT_BENCH_STATUS_ITERATIONS", 20_000)
    val listIterations = envCount("FIELDKIT_BENCH_LIST_ITERATIONS", 3_000)
    val db: Path = Path.of(env("FIELDKIT_BENCH_DB"))
    Files.createDirectories(db.parent)

    dispatchTasks(baseUrl, org, env("FIELDKIT_TEST_ADMIN"), password, env("FIELDKIT_TEST_REP_ID"), taskCount)
    FieldKit.open(db.toString(), baseUrl, org).use { kit ->
        runBlocking {
            kit.login(env("FIELDKIT_TEST_REP"), password)
            kit.syncNow()
        }
        val onPhone = kit.myTasks().size
        check(onPhone == taskCount) { "the phone holds $onPhone tasks after the sync, not $taskCount" }
        println("phone: $onPhone tasks after syncNow; JVM ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}")

        val results = listOf(
            measure("coreVersion()", getterIterations / 10, getterIterations, { it.length }) { coreVersion() },
            measure("deviceId()", getterIterations / 10, getterIterations, { it.length }) { kit.deviceId() },
            measure("queueStatus()", statusIterations / 10, statusIterations, { it.hashCode() }) { kit.queueStatus() },
            measure("myTasks() ($taskCount tasks)", listIterations / 10, listIterations, { it.size }) { kit.myTasks() },
        )
        results.forEach { println(it) }
    }
    println("(checksum $sink)")
}
