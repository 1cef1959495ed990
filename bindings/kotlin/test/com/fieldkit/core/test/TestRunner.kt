// A tiny test runner (no JUnit on these machines): runs each named test, prints its result,
// and ends with the line `N passed, N failed`; the process exits non-zero on any failure.
package com.fieldkit.core.test

import kotlin.system.exitProcess

/** One named test: its name reads as a sentence about behaviour. */
class TestCase(val name: String, val body: () -> Unit)

/** Thrown by the assertions below. */
class AssertionFailed(message: String) : Exception(message)

/** Fails the test with `message` unless `condition` holds. */
fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionFailed(message())
}

/** Fails the test unless `actual == expected`. */
fun <T> assertEquals(expected: T, actual: T, what: String) {
    check(expected == actual) { "$what: expected <$expected>, got <$actual>" }
}

/** Runs `block` and returns the exception of type `E` it throws; fails if it throws nothing or another type. */
inline fun <reified E : Throwable> assertThrows(block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionFailed("expected ${E::class.simpleName}, got ${e::class.qualifiedName}: ${e.message}")
    }
    throw AssertionFailed("expected ${E::class.simpleName}, nothing was thrown")
}

/** Runs every test in order and exits with 0 only if all passed. */
fun runTests(tests: List<TestCase>) {
    var passed = 0
    var failed = 0
    for (test in tests) {
        val started = System.nanoTime()
        try {
            test.body()
            passed++
            println("PASS ${test.name} (${(System.nanoTime() - started) / 1_000_000} ms)")
        } catch (e: Throwable) {
            failed++
            println("FAIL ${test.name}: ${e::class.simpleName}: ${e.message}")
            e.printStackTrace(System.out)
        }
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
