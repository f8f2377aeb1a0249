#if canImport(Glibc)
    import Glibc
#endif

/// A NULL-terminated array of C strings, as `argv` and `envp` require. The owner calls `deallocate()` once,
/// because the strings are `strdup` copies that nothing else frees.
public struct CStringArray {
    public let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    public init(_ strings: [String]) {
        count = strings.count
        pointers = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() {
            pointers[index] = strdup(string)
        }
        pointers[strings.count] = nil
    }

    public func deallocate() {
        for index in 0..<count {
            free(pointers[index])
        }
        pointers.deallocate()
    }
}
