// Turns FieldKit's typed exceptions into the sentences the rep reads. One place, so that the
// Android and iOS demos (which mirror it) say the same thing for the same failure.
package com.fieldkit.demo.logic

import com.fieldkit.core.FieldKitException

/** What the user was doing when a call failed: the same exception reads differently. */
enum class Action {
    /** Logging in. */
    LOGIN,

    /** Syncing. */
    SYNC,

    /** Changing something on this phone (a task, a check-in, a form). */
    EDIT,
}

/** Texts the screens show; kept together so tests and translators find them. */
object Texts {
    /** Login refused. */
    const val WRONG_PASSWORD = "Wrong username or password."

    /** A session that ended on the server. */
    const val SESSION_ENDED = "Your session has ended. Please log in again."

    /** Offline while logging in: nothing can be done without the server the first time. */
    const val OFFLINE_LOGIN = "You're offline. Logging in needs a connection."

    /** Offline while syncing or editing: the work is safe. */
    const val OFFLINE_SAVED = "You're offline. Your work is saved on this phone and will be sent when you're back online."

    /** A record not on the phone yet. */
    const val NOT_FOUND = "This item is not on your phone yet. Sync and try again."

    /** A database the app cannot use. */
    const val STORAGE = "This app's data cannot be read. Update the app, or reinstall it."

    /** A bug. */
    const val INTERNAL = "Something went wrong. Please report it to your administrator."

    /** Check-in on a task without a customer. */
    const val NO_CUSTOMER = "This task has no customer to check in at."

    /** Check-out with no visit open. */
    const val NO_VISIT = "You are not checked in anywhere."

    /** An empty field in the login form. */
    fun missing(field: String): String = "Enter your $field."
}

/**
 * The message shown for `error`, thrown by a FieldKit call made for `action`. Anything that
 * is not a [FieldKitException] is a bug in the app and reads as [Texts.INTERNAL].
 */
fun userMessage(error: Throwable, action: Action): UserMessage = when (error) {
    is FieldKitException.Offline -> UserMessage(
        if (action == Action.LOGIN) MessageKind.ERROR else MessageKind.WARNING,
        if (action == Action.LOGIN) Texts.OFFLINE_LOGIN else Texts.OFFLINE_SAVED,
    )
    is FieldKitException.Unauthorized -> UserMessage(
        MessageKind.ERROR,
        if (action == Action.LOGIN) Texts.WRONG_PASSWORD else Texts.SESSION_ENDED,
    )
    is FieldKitException.InvalidInput -> UserMessage(
        MessageKind.ERROR,
        when (error.field) {
            "username", "password" -> Texts.missing(error.field)
            else -> "Check the ${error.field.replace('_', ' ')}: ${error.detail}."
        },
    )
    is FieldKitException.Refused -> UserMessage(MessageKind.ERROR, sentence(error.reason))
    is FieldKitException.NotFound -> UserMessage(MessageKind.ERROR, Texts.NOT_FOUND)
    is FieldKitException.Storage -> UserMessage(MessageKind.ERROR, Texts.STORAGE)
    else -> UserMessage(MessageKind.ERROR, Texts.INTERNAL)
}

/** `reason` as a sentence: capital first letter, final full stop. */
private fun sentence(reason: String): String {
    val trimmed = reason.trim().ifEmpty { return Texts.INTERNAL }
    val capital = trimmed.replaceFirstChar { it.uppercaseChar() }
    return if (capital.endsWith('.')) capital else "$capital."
}
