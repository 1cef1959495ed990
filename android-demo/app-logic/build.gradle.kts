// The demo's view models: plain Kotlin/JVM, no Android. The generated bindings are an Android
// library (:fieldkit), which a JVM module cannot depend on, so this module compiles against
// the same generated code as a jar (built by ../../scripts/test-kotlin into
// bindings/kotlin/build/fieldkit-core.jar) and the app supplies the real classes at run time.
// Its tests need a running server and are run by scripts/test-kotlin, not by Gradle.
plugins {
    id("org.jetbrains.kotlin.jvm")
}

kotlin {
    jvmToolchain(17)
}

sourceSets {
    // src/test holds the JVM tests that scripts/test-kotlin runs against a real server.
    test {
        kotlin.setSrcDirs(emptyList<String>())
    }
}

val bindingsJar = rootProject.file("../bindings/kotlin/build/fieldkit-core.jar")

dependencies {
    compileOnly(files(bindingsJar))
    compileOnly("net.java.dev.jna:jna:5.15.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
}

tasks.named("compileKotlin") {
    doFirst {
        check(bindingsJar.isFile) { "$bindingsJar is missing: run ../scripts/test-kotlin once to generate and compile the bindings" }
    }
}
