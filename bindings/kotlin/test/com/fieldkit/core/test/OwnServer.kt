// A fieldkit-server process of a test's own (the binary scripts/test-kotlin built), over its
// own data dir and on a loopback port the test picks, so that the test can stop it and start
// it again at the same address: the phone keeps its server URL across the outage.
package com.fieldkit.core.test

import java.io.IOException
import java.net.InetAddress
import java.net.ServerSocket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.util.concurrent.TimeUnit

/**
 * A server with an org `org`, an admin `admin` and a rep `rep` (both with `password`), set up
 * through the server's CLI as scripts/test-kotlin does. Not started: call [start].
 */
class OwnServer(val org: String, val password: String) : AutoCloseable {
    private val dataDir: Path = Files.createTempDirectory(TestEnv.serversDir, "server-")
    private val log: Path = dataDir.resolve("server.log")
    @Volatile private var process: Process? = null

    /** The loopback port the server listens on, the same at every start. */
    val port: Int = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }

    /** The server's base URL, the same at every start. */
    val url = "http://127.0.0.1:$port"

    /** The rep's user id. */
    val repId: String

    init {
        cli("create-org", "--slug", org, "--name", "Offline Tests")
        cli("add-user", "--org", org, "--username", "admin", "--display-name", "Admin", "--role", "admin")
        val line = cli("add-user", "--org", org, "--username", "rep", "--display-name", "Rep", "--role", "rep")
        repId = Regex("""\(([0-9a-f-]{36})\)""").find(line)?.groupValues?.get(1) ?: error("no rep id in: $line")
        // A JVM stopped mid-test (the script's timeout) must not leave the server running.
        Runtime.getRuntime().addShutdownHook(Thread { process?.destroyForcibly() })
    }

    /** Runs one CLI command of the server on its data dir and returns what it printed. */
    private fun cli(vararg args: String): String {
        val builder = ProcessBuilder(listOf(TestEnv.serverBin, "--data-dir", dataDir.resolve("data").toString()) + args)
            .redirectErrorStream(true)
        builder.environment()["FIELDKIT_PASSWORD"] = password
        builder.environment()["NO_COLOR"] = "1"
        val process = builder.start()
        val output = process.inputStream.bufferedReader().readText()
        check(process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0) {
            "fieldkit-server ${args.first()} failed: $output"
        }
        return output
    }

    /** Starts the server and returns once it answers `/healthz`; fails after 15 s. */
    fun start() {
        check(process == null) { "the server is already running" }
        val builder = ProcessBuilder(
            TestEnv.serverBin, "--data-dir", dataDir.resolve("data").toString(), "serve", "--bind", "127.0.0.1:$port",
        ).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        builder.environment()["NO_COLOR"] = "1"
        builder.environment()["RUST_LOG"] = "info,tower_http=warn"
        val started = builder.start()
        process = started
        val deadline = System.nanoTime() + 15_000_000_000L
        while (!healthy()) {
            check(started.isAlive) { "the server exited at start:\n${logTail()}" }
            check(System.nanoTime() < deadline) { "the server did not answer within 15 s:\n${logTail()}" }
            Thread.sleep(50)
        }
    }

    /** Stops the server (SIGTERM, then SIGKILL after 10 s) and returns once it has exited. */
    fun stop() {
        val running = process ?: return
        process = null
        running.destroy()
        if (!running.waitFor(10, TimeUnit.SECONDS)) {
            running.destroyForcibly()
            running.waitFor()
        }
    }

    /** Whether the server answers `/healthz` now. */
    private fun healthy(): Boolean = try {
        val request = HttpRequest.newBuilder(URI.create("$url/healthz")).timeout(Duration.ofSeconds(1)).GET().build()
        http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200
    } catch (_: IOException) {
        false
    }

    /** The last lines of the server's log, for failure messages. */
    fun logTail(): String = if (Files.exists(log)) Files.readAllLines(log).takeLast(30).joinToString("\n") else "(no log)"

    /** Stops the server; its data dir goes with the folder the script removes. */
    override fun close() = stop()

    private companion object {
        val http: HttpClient = HttpClient.newHttpClient()
    }
}
