// The Kotlin bindings against the real server: login, typed errors, tasks reaching the
// phone, a database from a newer app, an encrypted database, and coroutines; then the
// offline queue through a real outage (OfflineQueueTests.kt) and the rep's day
// (RepDayTests.kt).
package com.fieldkit.core.test

import com.fieldkit.core.FieldKit
import com.fieldkit.core.FieldKitException
import com.fieldkit.core.model.Role
import com.fieldkit.core.model.TaskKind
import com.fieldkit.core.model.TaskStatus
import com.fieldkit.core.coreVersion
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import java.io.RandomAccessFile
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import java.nio.file.Files
import java.nio.file.Path

/** A fresh folder for one test's database, inside the folder the script removes at the end. */
private fun freshDb(): Path = Files.createTempDirectory(TestEnv.phonesDir, "phone-").resolve("fieldkit.db")

/** Opens the engine on `db`, syncing with the test server (or `serverUrl`). */
private fun open(db: Path, serverUrl: String = TestEnv.serverUrl): FieldKit =
    FieldKit.open(db.toString(), serverUrl, TestEnv.org)

/** A loopback URL where nothing listens: the server as the phone sees it when offline. */
private fun unreachableUrl(): String {
    val port = ServerSocket(0).use { it.localPort }
    return "http://127.0.0.1:$port"
}

/** A loopback server that accepts connections and never answers: a network that hangs. */
private class HangingServer : AutoCloseable {
    private val socket = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
    private val held = CopyOnWriteArrayList<Socket>()

    /** Connections accepted so far. */
    val accepted = AtomicInteger()

    /** The URL the engine is pointed at. */
    val url = "http://127.0.0.1:${socket.localPort}"

    init {
        Thread {
            try {
                while (true) {
                    held.add(socket.accept())
                    accepted.incrementAndGet()
                }
            } catch (_: java.io.IOException) {
                // closed
            }
        }.apply { isDaemon = true }.start()
    }

    override fun close() {
        socket.close()
        held.forEach { it.close() }
    }
}

/** The admin's HTTP session, made once. */
private val admin by lazy { ServerApi.login(TestEnv.serverUrl, TestEnv.org, TestEnv.admin, TestEnv.password) }

/** Dispatches a task to the test rep and returns its id. */
private fun dispatch(title: String): String =
    admin.createTask(title, TestEnv.repId, 31.2304, 121.4737, System.currentTimeMillis() + 86_400_000L)

fun main() {
    runTests(
        listOf(
            TestCase("the core version is the crate's version") {
                check(Regex("""\d+\.\d+\.\d+""").matches(coreVersion())) { "version ${coreVersion()}" }
            },
            TestCase("login returns the rep and the session is remembered after reopening") {
                val db = freshDb()
                open(db).use { kit ->
                    val user = runBlocking { kit.login(TestEnv.rep, TestEnv.password) }
                    assertEquals(TestEnv.rep, user.username, "username")
                    assertEquals(TestEnv.repId, user.id, "user id")
                    assertEquals(Role.REP, user.role, "role")
                }
                open(db, unreachableUrl()).use { kit ->
                    assertEquals(TestEnv.rep, kit.currentUser()?.username, "remembered user, offline")
                }
            },
            TestCase("a wrong password throws Unauthorized") {
                open(freshDb()).use { kit ->
                    assertThrows<FieldKitException.Unauthorized> {
                        runBlocking { kit.login(TestEnv.rep, "not-the-password") }
                    }
                    assertEquals(null, kit.currentUser(), "user after a failed login")
                }
            },
            TestCase("an empty username throws InvalidInput naming the field") {
                open(freshDb()).use { kit ->
                    val e = assertThrows<FieldKitException.InvalidInput> { runBlocking { kit.login(" ", "x") } }
                    assertEquals("username", e.field, "field")
                }
            },
            TestCase("syncing before any login throws Unauthorized") {
                open(freshDb()).use { kit ->
                    assertThrows<FieldKitException.Unauthorized> { runBlocking { kit.syncNow() } }
                }
            },
            TestCase("a task dispatched on the server reaches myTasks after syncNow") {
                val taskId = dispatch("拜访 Kotlin 客户")
                open(freshDb()).use { kit ->
                    runBlocking { kit.login(TestEnv.rep, TestEnv.password) }
                    check(kit.myTasks().none { it.id == taskId }) { "the task is there before any sync" }
                    val report = runBlocking { kit.syncNow() }
                    check(report.pulled > 0u) { "nothing pulled: $report" }
                    val task = kit.myTasks().singleOrNull { it.id == taskId } ?: error("task $taskId not on the phone")
                    assertEquals("拜访 Kotlin 客户", task.title, "title")
                    assertEquals(TaskKind.CUSTOMER_VISIT, task.kind, "kind")
                    assertEquals(TaskStatus.OPEN, task.status, "status")
                    check(task.deadlineMs != null && task.deadlineMs!! > System.currentTimeMillis()) { "deadline ${task.deadlineMs}" }
                    assertEquals(31.2304, task.place?.point?.lat, "latitude")
                    assertEquals(121.4737, task.place?.point?.lng, "longitude")
                    check(kit.queueStatus().lastSyncMs != null) { "no last sync time" }
                }
            },
            TestCase("moving a task back throws Refused and a malformed id throws InvalidInput") {
                val taskId = dispatch("finished early")
                open(freshDb()).use { kit ->
                    runBlocking { kit.login(TestEnv.rep, TestEnv.password); kit.syncNow() }
                    kit.updateTask(taskId, TaskStatus.DONE, null)
                    assertThrows<FieldKitException.Refused> { kit.updateTask(taskId, TaskStatus.OPEN, null) }
                    val bad = assertThrows<FieldKitException.InvalidInput> { kit.updateTask("42", null, "x") }
                    assertEquals("task_id", bad.field, "field")
                }
            },
            TestCase("a database from a newer app throws Storage and is left untouched") {
                val db = freshDb()
                open(db).close()
                for (suffix in listOf("-wal", "-shm")) {
                    val side = Path.of(db.toString() + suffix)
                    check(!Files.exists(side) || Files.size(side) == 0L) { "$side still holds data after close" }
                }
                // SQLite keeps user_version (the schema version) big-endian at byte 60 of the file.
                RandomAccessFile(db.toFile(), "rw").use { it.seek(60); it.writeInt(999) }
                val before = Files.readAllBytes(db)
                val e = assertThrows<FieldKitException.Storage> { open(db) }
                check(e.detail.contains("999")) { "detail ${e.detail}" }
                check(before.contentEquals(Files.readAllBytes(db))) { "the newer database was modified" }
            },
            TestCase("a corrupt database is moved aside, reported by recoveredDatabase, and a fresh one opens") {
                val db = freshDb()
                Files.write(db, "this is not a database, it is 48 bytes of text..".toByteArray())
                val before = Files.readAllBytes(db)
                val kit = open(db)
                try {
                    val aside = kit.recoveredDatabase() ?: error("recoveredDatabase() is null after a corrupt file")
                    check(before.contentEquals(Files.readAllBytes(Path.of(aside)))) { "the moved file changed" }
                    check(kit.myTasks().isEmpty()) { "the fresh database is not empty" }
                } finally {
                    kit.close()
                }
                open(db).use { check(it.recoveredDatabase() == null) { "a healthy database reported as recovered" } }
            },
            TestCase("an encrypted database opens only with its key, a wrong key changes nothing, and the key changes") {
                val taskId = dispatch("encrypted phone")
                val db = freshDb()
                // As an app keeps it in Android Keystore or the iOS Keychain: 32 random bytes.
                val key = ByteArray(32).also { java.security.SecureRandom().nextBytes(it) }
                val wrongKey = ByteArray(32) { 7 }
                fun openWith(k: ByteArray) = FieldKit.openEncrypted(db.toString(), TestEnv.serverUrl, TestEnv.org, k)
                openWith(key).use { kit ->
                    runBlocking { kit.login(TestEnv.rep, TestEnv.password); kit.syncNow() }
                    check(kit.myTasks().any { it.id == taskId }) { "the task did not arrive" }
                }
                val before = Files.readAllBytes(db)
                check(!String(before, 0, 15, Charsets.ISO_8859_1).startsWith("SQLite format")) { "the file is not encrypted" }
                check(!String(before, Charsets.ISO_8859_1).contains(TestEnv.rep)) { "the username is readable in the file" }
                val wrong = assertThrows<FieldKitException.WrongDatabaseKey> { openWith(wrongKey) }
                assertEquals("fieldkit.db", wrong.file, "file")
                check(before.contentEquals(Files.readAllBytes(db))) { "a wrong key changed the file" }
                val short = assertThrows<FieldKitException.InvalidInput> { openWith(ByteArray(16)) }
                assertEquals("key", short.field, "field")
                val newKey = ByteArray(32).also { java.security.SecureRandom().nextBytes(it) }
                openWith(key).use { kit ->
                    check(kit.recoveredDatabase() == null) { "the database was moved aside" }
                    assertEquals(TestEnv.rep, kit.currentUser()?.username, "user with the right key")
                    kit.changeDatabaseKey(newKey)
                    check(kit.myTasks().any { it.id == taskId }) { "the task is gone after the key change" }
                }
                assertThrows<FieldKitException.WrongDatabaseKey> { openWith(key) }
                openWith(newKey).use { kit ->
                    assertEquals(TestEnv.rep, kit.currentUser()?.username, "user with the new key")
                    check(kit.myTasks().any { it.id == taskId }) { "the task is gone with the new key" }
                }
            },
            TestCase("suspend functions run from runBlocking and concurrent syncs both complete") {
                dispatch("coroutines")
                open(freshDb()).use { kit ->
                    runBlocking {
                        kit.login(TestEnv.rep, TestEnv.password)
                        val reports = listOf(async { kit.syncNow() }, async { kit.syncNow() }).awaitAll()
                        check(reports.sumOf { it.pulled } > 0u) { "nothing pulled: $reports" }
                    }
                    check(kit.myTasks().any { it.title == "coroutines" }) { "the task did not arrive" }
                }
            },
            TestCase("cancelling a hanging syncNow returns at once and frees the engine for the next sync") {
                val db = freshDb()
                open(db).use { kit -> runBlocking { kit.login(TestEnv.rep, TestEnv.password) } }
                HangingServer().use { server ->
                    open(db, server.url).use { kit ->
                        runBlocking {
                            val started = System.nanoTime()
                            check(withTimeoutOrNull(500) { kit.syncNow() } == null) { "the sync answered" }
                            val tookMs = (System.nanoTime() - started) / 1_000_000
                            check(tookMs < 3_000) { "the cancelled sync took $tookMs ms to return" }
                            assertEquals(1, server.accepted.get(), "connections made by the first sync")
                            // Syncs wait for each other: the second reaches the server only if
                            // cancelling the first stopped its work on the Rust side.
                            check(withTimeoutOrNull(3_000) { kit.syncNow() } == null) { "the sync answered" }
                            assertEquals(2, server.accepted.get(), "connections after the second sync")
                        }
                    }
                }
            },
        ) + offlineQueueTests() + repDayTests() + approvalTests(),
    )
}
