import Testing

/// The ledger's tests that boot real QEMU guests (TCG), run one test at a time. Guests on two shared cores boot
/// slowly enough already, and the timing checks of the scrape and feed tests need a machine that is not busy
/// booting other guests of this suite.
@Suite(.serialized) struct LedgerGuestTests {}
