import Foundation
import Instances
import PhaseTracking
import StintTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LedgerGuestTests {
    /// A real Prometheus scrapes a live server and records the same running time as the API reports.
    @Suite struct PrometheusScrapeTests {
        @Test func scrapedRunningTimeMatchesAPI() throws {
            let workspace = try LedgerWorkspace()
            defer { workspace.cleanUp() }
            let server = try LedgerServer(workspace)
            defer { server.stop() }
            let client = server.client

            let id = try createRunningInstance(client, name: "scraped").id
            let prometheus = try PrometheusServer(
                scraping: server.port, tokenFile: workspace.dataDirectory + "/api-token", workspace: workspace)
            defer { prometheus.stop() }
            // Prometheus 2.42 passes new targets to its scrape manager at most every 5 s, so the first scrape
            // comes some seconds after start. The 12 s of scraping are counted from that first sample.
            let selector = #"stint_instance_phase_seconds_total{phase="running",instance_id="\#(id)"}"#
            let firstDeadline = ContinuousClock.now + .seconds(30)
            while try prometheus.query(selector).isEmpty, ContinuousClock.now < firstDeadline {
                usleep(200_000)
            }
            sleep(12)

            // The running phase began with the last journal entry and has not ended, so the API's running total at
            // any wall-clock time t is the closed running time plus t minus that entry's time.
            let entries = try client.decode(TransitionsReply.self, "GET", "/instances/\(id)/transitions").transitions
            let start = try #require(entries.last)
            #expect(start.to == "running")
            let closedNanoseconds = entries.filter { $0.from == "running" }.map(\.previousPhaseNanoseconds).reduce(0, +)
            func apiRunningMilliseconds(atWall nanoseconds: Int64) -> Double {
                Double(closedNanoseconds + nanoseconds - start.instant.wallNanoseconds) / 1e6
            }
            let viewReadFrom = wallNanosecondsNow()
            let view = try client.decode(InstanceView.self, "GET", "/instances/\(id)")
            let viewReadTo = wallNanosecondsNow()
            let viewRunning = Double(view.phaseDurationsMilliseconds?["running"] ?? -1)
            #expect(view.currentPhase == "running")
            #expect(viewRunning >= apiRunningMilliseconds(atWall: viewReadFrom).rounded(.down))
            #expect(viewRunning <= apiRunningMilliseconds(atWall: viewReadTo))

            let series = try prometheus.query(selector + "[30s]")
            let values = try #require(
                series.first?["values"] as? [[Any]], "no scraped samples; targets: \(prometheus.targetHealth())")
            let samples: [(wall: Int64, milliseconds: Double)] = values.compactMap { pair in
                guard pair.count == 2, let time = pair[0] as? Double, let text = pair[1] as? String,
                    let seconds = Double(text)
                else { return nil }
                return (Int64((time * 1000).rounded()) * 1_000_000, seconds * 1000)
            }
            let queriedAt = wallNanosecondsNow()
            let ages = samples.map { Double(queriedAt - $0.wall) / 1e9 }
            #expect(samples.count >= 10, "\(samples.count) samples in 12 s at a 1 s interval, ages \(ages) s")

            // Prometheus stamps a sample with the start of the scrape, in whole milliseconds, and stint computes
            // the value a little later while it renders the page. So a sample may exceed the API's figure for its
            // timestamp by the scrape's latency, measured at 1 to 3 ms on an idle 2-core machine. The 250 ms bound leaves
            // room for a machine busy booting other guests. It falls short only by the timestamp's rounding.
            for sample in samples {
                let difference = sample.milliseconds - apiRunningMilliseconds(atWall: sample.wall)
                #expect(difference >= -2, "sample at \(sample.wall) is \(-difference) ms below the API's figure")
                #expect(difference <= 250, "sample at \(sample.wall) is \(difference) ms above the API's figure")
            }
            if let first = samples.first, let last = samples.last {
                let scrapedIncrease = last.milliseconds - first.milliseconds
                let apiIncrease = apiRunningMilliseconds(atWall: last.wall) - apiRunningMilliseconds(atWall: first.wall)
                #expect(abs(scrapedIncrease - apiIncrease) <= 250, "increase \(scrapedIncrease) vs \(apiIncrease) ms")
            }

            // increase() extrapolates the first and last samples in the range to its edges, so for a counter that
            // grows one second per second it returns close to 10 s. One second either way covers one missing
            // sample.
            let increase = try prometheus.query("increase(\(selector)[10s])")
            let increaseText = (increase.first?["value"] as? [Any])?.last as? String
            let increaseSeconds = try #require(increaseText.flatMap(Double.init), "increase result \(increase)")
            #expect(increaseSeconds >= 9, "increase over 10 s: \(increaseSeconds) s")
            #expect(increaseSeconds <= 11, "increase over 10 s: \(increaseSeconds) s")

            prometheus.stop()
            #expect(prometheus.process.termination != nil)
        }
    }
}
