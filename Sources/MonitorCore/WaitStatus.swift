/// The text of a `waitpid` status, as the monitor logs it and the metadata stores it with the exit.
public enum WaitStatus {
    /// Returns `exit status N` for a normal exit, else `killed by signal N`.
    public static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 {
            return "exit status \((status >> 8) & 0xff)"
        }
        return "killed by signal \(signal)"
    }
}
