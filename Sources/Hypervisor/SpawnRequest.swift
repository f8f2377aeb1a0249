/// The program, arguments, environment and inherited descriptors of a process for `ProcessSpawner.spawn(_:)`.
public struct SpawnRequest: Sendable {
    /// A path, or a bare name that is looked up in the parent's `PATH`.
    public var executable: String
    /// The arguments without argv[0]. The child's argv[0] is `executable` as given.
    public var arguments: [String]
    /// The child's complete environment, or `nil` to pass the parent's environment.
    public var environment: [String: String]?
    /// Descriptor map from the child's descriptor number to the parent's descriptor that is duplicated there.
    ///
    /// The child inherits these descriptors and no others. Each of 0, 1 and 2 that is not in the map is
    /// opened on `/dev/null`, so a later `open` in the child never lands on a standard stream number.
    public var descriptors: [Int32: Int32]
    /// Whether the child starts a new session (`setsid`), which detaches it from the parent's terminal and process group.
    public var newSession: Bool

    public init(
        executable: String,
        arguments: [String],
        environment: [String: String]? = nil,
        descriptors: [Int32: Int32] = [:],
        newSession: Bool = false
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.descriptors = descriptors
        self.newSession = newSession
    }
}
