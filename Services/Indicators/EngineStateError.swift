/// What dx-indicators found in the `engine` schema that it cannot have written: a batch that
/// meets one fails and is retried, and the message says which row and column.
struct EngineStateError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
