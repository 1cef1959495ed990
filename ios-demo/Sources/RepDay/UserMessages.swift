// Turns FieldKitError into the sentences the rep reads; the same texts as android-demo's
// UserMessages.kt, so both apps say the same thing for the same failure.
import FieldKitCore
import Foundation

/// What the user was doing when a call failed.
public enum Action { case login, sync, edit }

/// Texts the screens show.
public enum Texts {
    public static let wrongPassword = "Wrong username or password."
    public static let sessionEnded = "Your session has ended. Please log in again."
    public static let offlineLogin = "You're offline. Logging in needs a connection."
    public static let offlineSaved = "You're offline. Your work is saved on this phone and will be sent when you're back online."
    public static let notFound = "This item is not on your phone yet. Sync and try again."
    public static let storage = "This app's data cannot be read. Update the app, or reinstall it."
    public static let `internal` = "Something went wrong. Please report it to your administrator."
    public static let noCustomer = "This task has no customer to check in at."
    public static let noVisit = "You are not checked in anywhere."
    public static func missing(_ field: String) -> String { "Enter your \(field)." }
}

/// The message shown for `error`, thrown by a FieldKit call made for `action`.
public func userMessage(_ error: Error, _ action: Action) -> UserMessage {
    guard let error = error as? FieldKitError else { return UserMessage(kind: .error, text: Texts.internal) }
    switch error {
    case .Offline:
        return action == .login
            ? UserMessage(kind: .error, text: Texts.offlineLogin)
            : UserMessage(kind: .warning, text: Texts.offlineSaved)
    case .Unauthorized:
        return UserMessage(kind: .error, text: action == .login ? Texts.wrongPassword : Texts.sessionEnded)
    case let .InvalidInput(field, detail):
        if field == "username" || field == "password" { return UserMessage(kind: .error, text: Texts.missing(field)) }
        return UserMessage(kind: .error, text: "Check the \(field.replacingOccurrences(of: "_", with: " ")): \(detail).")
    case let .Refused(reason, _):
        return UserMessage(kind: .error, text: sentence(reason))
    case .NotFound:
        return UserMessage(kind: .error, text: Texts.notFound)
    case .Storage, .WrongDatabaseKey:
        return UserMessage(kind: .error, text: Texts.storage)
    case .Internal:
        return UserMessage(kind: .error, text: Texts.internal)
    }
}

private func sentence(_ reason: String) -> String {
    let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
    guard let first = trimmed.first else { return Texts.internal }
    let capital = first.uppercased() + trimmed.dropFirst()
    return capital.hasSuffix(".") ? capital : capital + "."
}
