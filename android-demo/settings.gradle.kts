// The FieldKit Android demo: the Compose app (:app), its plain-Kotlin logic (:app-logic), and
// the generated bindings (:fieldkit, the Android library module in ../bindings/kotlin).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "fieldkit-android-demo"

include(":app", ":app-logic", ":fieldkit")
project(":fieldkit").projectDir = file("../bindings/kotlin")
