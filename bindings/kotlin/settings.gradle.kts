// Settings for building this module on its own (`gradle assembleRelease` in bindings/kotlin).
// An app that includes the module in its own build (see bindings/README.md) ignores this
// file: the app's settings and plugin versions apply.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
    // Default versions for the plugins build.gradle.kts requests without one.
    plugins {
        id("com.android.library") version "8.7.3"
        id("org.jetbrains.kotlin.android") version "2.1.0"
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "fieldkit-core"
