/// Control of one running hypervisor process.
///
/// `QEMUMachine` implements it over QMP. Tests of higher layers can substitute a fake.
public protocol MachineControl: AnyObject {
    /// Returns the run state, for example `running`, `paused`, `inmigrate`, `postmigrate` or `shutdown`.
    func status() throws -> String

    /// Stops the virtual CPUs. Pausing a machine that is already paused succeeds.
    func pause() throws

    /// Starts the virtual CPUs again.
    func resume() throws

    /// Writes the machine's complete state into a new file at `imagePath` and leaves the machine paused and alive.
    ///
    /// A running machine is paused first. The file is created with `O_EXCL` and mode 0600, so an existing file is an
    /// error. On failure or timeout the partial file is removed.
    func saveState(to imagePath: String, timeout: Duration) throws

    /// Waits until an incoming migration (launched with `incomingFileDescriptor`) has completed and the machine is
    /// paused, ready for `resume()`.
    func waitForIncomingMigration(timeout: Duration) throws

    /// Presses the ACPI power button. The guest decides whether and when to power off.
    func requestPowerDown() throws

    /// Asks the hypervisor to exit at once, without telling the guest.
    func quit() throws

    /// Waits for the hypervisor to exit. Returns `false` when it is still running after `timeout`.
    func waitForExit(timeout: Duration) -> Bool
}
